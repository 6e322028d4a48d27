"""The agent engine against what real servers do: plain strings, a fake clock.

Real servers hold frames in a reorder buffer until something else passes, restart seq with every
reply, replay PINGs after a RESUME and may send frames no reply owns. Each test is one thing a user
would notice: a reply cut off, a prompt stuck, a doubled PONG, a reply under the wrong prompt.
"""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.session import Message


def frame(**fields: object) -> str:
    return json.dumps(fields)


def token(seq: int, text: str, sid: str = "s1") -> str:
    return frame(type="TOKEN", seq=seq, text=text, stream_id=sid)


def end(seq: int, sid: str = "s1") -> str:
    return frame(type="STREAM_END", seq=seq, stream_id=sid)


def ping(seq: int, challenge: str) -> str:
    return frame(type="PING", seq=seq, challenge=challenge)


def sent(engine: AgentEngine) -> list[dict[str, object]]:
    return [json.loads(f) for f in engine.data_to_send()]


def kinds(engine: AgentEngine) -> list[str]:
    return [e.kind for e in engine.conversation.trace]


def live_engine(config: EngineConfig | None = None) -> AgentEngine:
    engine = AgentEngine(config=config)
    engine.connected(0.0)
    return engine


def status_of(message: Message) -> str:
    return message.status


def replies(engine: AgentEngine) -> list[tuple[str, str]]:
    return [(m.text, m.status) for m in engine.conversation.messages if m.role == "assistant"]


def test_a_gap_is_left_to_the_server_while_frames_of_the_reply_keep_coming() -> None:
    engine = live_engine(EngineConfig(gap_timeout=16.0))
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "a"), 0.1)
    # seq 2 sits in the server's reorder buffer; the reply goes on (with a pause of 8 s in it).
    for i, at in enumerate((0.2, 3.0, 11.0, 20.0, 27.0)):
        engine.receive(token(3 + i, "."), at)
        engine.tick(at + 0.5)
    assert not engine.wants_reconnect
    engine.receive(token(2, "b"), 28.0)  # released when the next frame passed
    assert replies(engine) == [("ab.....", "streaming")]


def test_a_reply_whose_end_sits_in_the_server_buffer_is_finished_by_a_resume() -> None:
    engine = live_engine(EngineConfig(gap_timeout=16.0))
    engine.send_user_message("x", 0.0)
    sent(engine)
    engine.receive(token(1, "all"), 0.5)
    # The STREAM_END (seq 2) is held by the server and nothing else passes; a PING (outside the
    # server's chaos layer) shows the gap.
    engine.receive(ping(3, "p1"), 12.0)
    engine.tick(16.0)
    assert not engine.wants_reconnect
    engine.tick(16.6)  # 16 s with no frame of the reply: it is over on the server
    assert engine.wants_reconnect
    engine.disconnected(16.7, "reconnecting to replay missing frames", 0.0)
    engine.connected(16.8)
    assert sent(engine)[0] == {"type": "RESUME", "last_seq": 1}
    engine.receive(end(2), 16.9)
    assert replies(engine) == [("all", "done")]


def test_the_quiet_of_a_new_reply_counts_from_its_prompt() -> None:
    # A tool-first reply whose TOOL_CALL is held until the ack timeout: the last frame of the
    # previous reply is long ago, but the new reply has only just been asked for.
    engine = live_engine(EngineConfig(gap_timeout=16.0))
    engine.send_user_message("one", 0.0)
    engine.receive(token(1, "a"), 0.1)
    engine.receive(end(2), 0.2)
    engine.send_user_message("two", 30.0)
    engine.receive(ping(2, "p"), 31.0)  # the new numbering's PING overtakes its held seq 1
    engine.tick(40.0)
    assert not engine.wants_reconnect


def test_a_prompt_queued_while_the_link_was_down_goes_out_right_after_resume() -> None:
    engine = live_engine()
    engine.disconnected(1.0, "connection lost", 0.5)
    message = engine.send_user_message("while offline", 1.2)
    assert status_of(message) == "queued"
    assert not engine.conversation.replying  # nothing is in flight: the composer must not say so
    engine.connected(1.7)
    assert sent(engine) == [
        {"type": "RESUME", "last_seq": 0},
        {"type": "USER_MESSAGE", "content": "while offline"},
    ]
    assert status_of(message) == "sent"
    assert engine.conversation.replying


def test_a_replayed_ping_gets_no_second_pong() -> None:
    engine = live_engine()
    engine.send_user_message("x", 0.0)
    sent(engine)
    engine.receive(ping(1, "c1"), 0.1)
    engine.receive(ping(2, ""), 0.2)
    assert sent(engine) == [{"type": "PONG", "echo": "c1"}, {"type": "PONG", "echo": ""}]
    engine.disconnected(0.3, "dropped", 0.1)
    engine.connected(0.4)
    sent(engine)
    engine.receive(ping(1, "c1"), 0.5)  # replayed after RESUME
    engine.receive(ping(2, ""), 0.5)
    engine.receive(ping(3, "c3"), 0.6)  # a new one
    assert sent(engine) == [{"type": "PONG", "echo": "c3"}]
    assert kinds(engine).count("PING_REPEAT") == 2


def test_retry_is_idempotent() -> None:
    engine = live_engine(EngineConfig(stall_timeout=1.0, idle_timeout=1.0))
    engine.send_user_message("ask", 0.0)
    engine.receive(token(1, "part"), 0.1)
    engine.tick(1.5)
    interrupted = engine.conversation.messages[-1]
    assert interrupted.status == "interrupted"
    sent(engine)
    assert engine.retry(interrupted.id, 2.0) is not None
    assert engine.retry(interrupted.id, 2.05) is None  # a double click
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "ask"}]
    assert interrupted.retried  # the button goes away


def test_each_reply_sits_right_under_its_prompt_when_prompts_were_queued() -> None:
    engine = live_engine()
    engine.send_user_message("first", 0.0)
    engine.send_user_message("second", 0.1)
    engine.send_user_message("third", 0.2)
    engine.receive(token(1, "one"), 0.3)
    engine.receive(end(2), 0.4)
    engine.receive(token(1, "two", "s2"), 0.5)
    engine.receive(end(2, "s2"), 0.6)
    engine.receive(token(1, "three", "s3"), 0.7)
    engine.receive(end(2, "s3"), 0.8)
    assert [m.text for m in engine.conversation.messages] == [
        "first",
        "one",
        "second",
        "two",
        "third",
        "three",
    ]
    assert [m.status for m in engine.conversation.messages if m.role == "user"] == ["sent"] * 3


def test_a_repeated_prompts_first_snapshot_is_never_labelled_a_dropped_duplicate() -> None:
    engine = live_engine()
    snapshot = frame(type="CONTEXT_SNAPSHOT", seq=1, context_id="ctx", data={"a": 1})
    engine.send_user_message("same", 0.0)
    engine.receive(snapshot, 0.1)
    engine.receive(token(2, "one"), 0.2)
    engine.receive(end(3), 0.3)
    engine.send_user_message("same", 1.0)
    engine.receive(snapshot, 1.1)  # byte for byte the first frame of the last reply
    engine.receive(token(2, "two", "s2"), 1.2)
    engine.receive(end(3, "s2"), 1.3)
    assert replies(engine) == [("one", "done"), ("two", "done")]
    assert len(engine.conversation.contexts["ctx"]) == 2
    assert "DUPLICATE" not in kinds(engine)


def test_a_stray_seq_one_mid_reply_is_an_error_and_no_text_is_applied_twice() -> None:
    engine = live_engine()
    engine.send_user_message("x", 0.0)
    for seq, text in enumerate(("a", "b", "c"), start=1):
        engine.receive(token(seq, text), 0.1 * seq)
    engine.receive(token(1, "HIJACK"), 0.5)
    for seq, text in enumerate(("a", "b", "c"), start=1):
        engine.receive(token(seq, text), 0.6)  # a replay after it: still duplicates
    engine.receive(token(4, "d"), 0.7)
    engine.receive(end(5), 0.8)
    assert replies(engine) == [("abcd", "done")]
    assert engine.conversation.protocol_errors == 1


def test_an_absurd_seq_is_an_error_not_a_gap_to_reconnect_for() -> None:
    engine = live_engine(EngineConfig(gap_timeout=1.0))
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "a"), 0.1)
    engine.receive(token(2**62, "zzz"), 0.2)
    engine.tick(5.0)
    assert not engine.wants_reconnect
    engine.receive(token(2, "b"), 5.1)
    engine.receive(end(3), 5.2)
    assert replies(engine) == [("ab", "done")]
    assert engine.conversation.protocol_errors == 1


def test_a_token_for_an_unknown_stream_touches_neither_the_reply_nor_the_queue() -> None:
    engine = live_engine()
    engine.send_user_message("first", 0.0)
    engine.send_user_message("second", 0.05)
    sent(engine)
    engine.receive(token(1, "real "), 0.1)
    engine.receive(token(2, "phantom", "s_other"), 0.2)
    engine.receive(token(3, "reply"), 0.3)
    engine.receive(end(4), 0.4)
    assert replies(engine) == [("real reply", "done")]
    assert engine.conversation.protocol_errors == 1
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "second"}]  # not blocked


def test_a_replayed_ping_of_the_previous_numbering_after_a_new_reply_began_gets_no_pong() -> None:
    # A RESUME replays the old reply's end and its PINGs through the server's reorder buffer; the
    # next reply (numbered from 1 again) overtakes some of them.
    engine = live_engine()
    engine.send_user_message("one", 0.0)
    engine.receive(token(1, "a"), 0.1)
    engine.receive(ping(3, ""), 0.2)
    engine.receive(end(2), 0.3)
    engine.send_user_message("two", 0.4)
    sent(engine)
    engine.receive(token(1, "b", "s2"), 0.5)
    engine.receive(ping(3, ""), 0.6)  # the old numbering's PING, replayed late
    engine.receive(ping(2, ""), 0.7)  # the new numbering's own PING
    assert sent(engine) == [{"type": "PONG", "echo": ""}]


def test_after_a_drop_a_reply_whose_frames_are_still_missing_is_resumed_not_interrupted() -> None:
    engine = live_engine(EngineConfig(stall_timeout=10.0, gap_timeout=16.0))
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "a"), 0.1)
    engine.disconnected(1.0, "connection lost", 0.1)
    engine.connected(1.1)
    sent(engine)
    # The reply had ended on the server; its end is held in the new connection's buffer and only a
    # PING (outside the buffer) comes.
    engine.receive(ping(4, "p"), 2.0)
    engine.tick(12.0)
    assert engine.conversation.messages[-1].status == "streaming"  # not given up: frames exist
    engine.tick(17.2)
    assert engine.wants_reconnect
    engine.disconnected(17.3, "reconnecting to replay missing frames", 0.0)
    engine.connected(17.4)
    engine.receive(token(2, "b"), 17.5)
    engine.receive(end(3), 17.6)
    assert replies(engine) == [("ab", "done")]
