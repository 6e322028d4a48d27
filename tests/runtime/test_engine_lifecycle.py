"""The shared engine lifecycle, the same for every dialect: driven sans-I/O with a fake clock.

Each test runs against the agent, chat, SSE and AG-UI engines (the prompt tests against the three
that take prompts): what a user sees of a drop, a failed attempt, a close, a give-up, a retry and a
prompt typed while the link is down must not depend on the dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from console.connection import ConnectionState
from console.dialects.agent.engine import AgentEngine
from console.dialects.agui.engine import AguiEngine
from console.dialects.chat.engine import ChatEngine
from console.dialects.sse.engine import SSEEngine
from console.runtime.engine import Lifecycle
from console.runtime.reconnect import Policy
from console.session import Conversation, Message

S = ConnectionState


def _agui() -> AguiEngine:
    counter = iter(range(1, 1_000_000))
    return AguiEngine(thread_id="t1", ids=lambda: f"r{next(counter)}")


def _chat() -> ChatEngine:
    counter = iter(range(1, 1_000_000))
    return ChatEngine(new_id=lambda: f"chat{next(counter)}")


ENGINES: dict[str, Callable[[], Lifecycle]] = {
    "agent": AgentEngine,
    "chat": _chat,
    "sse": SSEEngine,
    "agui": _agui,
}


def conversation(engine: Lifecycle) -> Conversation:
    assert isinstance(engine, AgentEngine | ChatEngine | SSEEngine | AguiEngine)
    return engine.conversation


def lifecycle_rows(engine: Lifecycle) -> list[str]:
    return [row.kind for row in conversation(engine).trace if row.direction == "client"]


def status(message: Message) -> str:
    return message.status  # read afresh: the engine changes it


def state(engine: Lifecycle) -> ConnectionState:
    return engine.state  # a function, so that one check's narrowing does not leak into the next


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> Lifecycle:
    name: str = request.param
    return ENGINES[name]()


def test_a_drop_and_a_failed_attempt_are_told_apart(engine: Lifecycle) -> None:
    engine.disconnected(0.0, "refused", 0.5)  # never connected yet: "connecting (attempt 1)"
    assert state(engine) is S.CONNECTING and conversation(engine).link.attempt == 1
    engine.connected(1.0)
    assert state(engine) is S.OPEN
    engine.disconnected(2.0, "connection lost", 0.5)
    engine.disconnected(2.5, "refused", 1.0)
    assert state(engine) is S.RECONNECTING and conversation(engine).link.attempt == 2
    assert lifecycle_rows(engine) == ["CONNECT_FAILED", "CONNECTED", "DISCONNECTED", "CONNECT_FAILED"]
    engine.connected(3.5)
    assert state(engine) in (S.RESUMING, S.OPEN) and conversation(engine).link.attempt == 0
    engine.disconnected(4.0, "connection lost", 0.5)  # a connection still resuming was made: a drop
    assert lifecycle_rows(engine)[-1] == "DISCONNECTED"


def test_a_drop_while_closed_changes_nothing(engine: Lifecycle) -> None:
    engine.connected(0.0)
    engine.close(1.0)
    rows = lifecycle_rows(engine)
    assert rows[-1] == "CLOSED"
    engine.disconnected(1.1, "connection lost", 0.5)  # the reader noticed after the close
    engine.connected(1.2)  # a connection that raced the close
    engine.close(1.3)  # closed twice
    assert state(engine) is S.CLOSED
    assert lifecycle_rows(engine) == rows


def test_close_during_connect_is_one_closed_row_and_no_connection(engine: Lifecycle) -> None:
    engine.disconnected(0.0, "refused", 0.5)
    engine.close(0.2)  # the user closes while the next attempt is under way
    engine.connected(0.3)  # that attempt succeeds after all
    assert state(engine) is S.CLOSED
    assert lifecycle_rows(engine) == ["CONNECT_FAILED", "CLOSED"]
    assert engine.connections == 0


@pytest.mark.parametrize("policy", [Policy.AUTH, Policy.GIVE_UP])
def test_a_failure_retrying_cannot_mend_closes_the_session_saying_why(
    engine: Lifecycle, policy: Policy
) -> None:
    engine.connected(0.0)
    engine.disconnected(1.0, "connection lost", 0.5)
    engine.give_up(1.5, "cannot connect: HTTP 401", policy)
    conv = conversation(engine)
    assert state(engine) is S.CLOSED
    assert conv.link.detail == "cannot connect: HTTP 401: not retried"
    assert conv.trace[-1].kind == "CONNECT_FAILED" and "not retried" in conv.trace[-1].summary
    (notice,) = conv.notices
    assert notice.level == "error" and "stopped trying" in notice.text
    if policy is Policy.AUTH:
        assert "credentials" in notice.text
    engine.disconnected(2.0, "connection lost", 0.5)
    assert state(engine) is S.CLOSED


# -- prompts: the dialects that take them ---------------------------------------------------------


@dataclass(frozen=True)
class Prompting:
    make: Callable[[], Lifecycle]
    send: Callable[[Lifecycle, str, float], Message]
    sent: Callable[[Lifecycle, float], list[str]]  # the prompts that went on the wire since last asked
    retry: Callable[[Lifecycle, str, float], Message | None]
    interrupt: Callable[[Lifecycle], Message]  # a reply that broke off, with the link up again


def _agent_sent(engine: Lifecycle, now: float) -> list[str]:
    assert isinstance(engine, AgentEngine)
    frames = [json.loads(f) for f in engine.data_to_send()]
    return [f["content"] for f in frames if f["type"] == "USER_MESSAGE"]


def _chat_sent(engine: Lifecycle, now: float) -> list[str]:
    assert isinstance(engine, ChatEngine)
    return [json.loads(f)["message"] for f in engine.data_to_send()]


def _agui_sent(engine: Lifecycle, now: float) -> list[str]:
    assert isinstance(engine, AguiEngine)
    request = engine.next_request(now)
    if request is None:
        return []
    messages = json.loads(request.body)["messages"]
    return [messages[-1]["content"]]


def _agent_interrupt(engine: Lifecycle) -> Message:
    assert isinstance(engine, AgentEngine)
    token = {"type": "TOKEN", "seq": 1, "text": "Here are", "stream_id": "s1"}
    engine.receive(json.dumps(token), 1.1)
    engine.disconnected(1.2, "connection lost", 0.5)
    engine.connected(1.7)
    engine.tick(1.7 + engine.config.stall_timeout)  # nothing more came: the reply broke off
    return engine.conversation.messages[-1]


def _chat_interrupt(engine: Lifecycle) -> Message:
    assert isinstance(engine, ChatEngine)
    frame = {"tag": "message", "chunk": "Here are", "chatId": engine.active_id}
    engine.receive(json.dumps(frame), 1.1)
    engine.disconnected(1.2, "connection lost", 0.5)  # this dialect cannot resume: interrupted at once
    engine.connected(1.7)
    return engine.conversation.messages[-1]


def _agui_interrupt(engine: Lifecycle) -> Message:
    assert isinstance(engine, AguiEngine)
    for event in (
        {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Here are"},
    ):
        engine.receive(json.dumps(event), None, 1.1)
    engine.ended(1.2, "the stream ended")  # no RUN_FINISHED and no ids to resume after
    return engine.conversation.messages[-1]


def _send(engine: Lifecycle, text: str, now: float) -> Message:
    assert isinstance(engine, AgentEngine | ChatEngine | AguiEngine)
    return engine.send_user_message(text, now)


def _retry(engine: Lifecycle, message_id: str, now: float) -> Message | None:
    assert isinstance(engine, AgentEngine | ChatEngine | AguiEngine)
    return engine.retry(message_id, now)


PROMPTING = {
    "agent": Prompting(AgentEngine, _send, _agent_sent, _retry, _agent_interrupt),
    "chat": Prompting(_chat, _send, _chat_sent, _retry, _chat_interrupt),
    "agui": Prompting(_agui, _send, _agui_sent, _retry, _agui_interrupt),
}


@pytest.fixture(params=list(PROMPTING))
def dialect(request: pytest.FixtureRequest) -> Prompting:
    name: str = request.param
    return PROMPTING[name]


def test_a_prompt_typed_while_the_link_is_down_goes_once_after_the_reconnection(dialect: Prompting) -> None:
    engine = dialect.make()
    engine.connected(0.0)
    engine.disconnected(0.5, "connection lost", 0.5)
    message = dialect.send(engine, "are you there?", 0.6)
    assert status(message) == "queued"
    assert dialect.sent(engine, 0.7) == []
    engine.disconnected(1.0, "refused", 1.0)  # a failed attempt: still waiting
    assert dialect.sent(engine, 1.1) == []
    engine.connected(2.0)
    assert dialect.sent(engine, 2.0) == ["are you there?"]
    assert status(message) == "sent"
    assert dialect.sent(engine, 2.1) == []  # once


def test_a_prompt_typed_while_a_reply_is_in_flight_waits_for_it(dialect: Prompting) -> None:
    engine = dialect.make()
    engine.connected(0.0)
    dialect.send(engine, "first", 1.0)
    assert dialect.sent(engine, 1.0) == ["first"]
    second = dialect.send(engine, "second", 1.05)
    assert second.status == "queued" and dialect.sent(engine, 1.05) == []


def test_retry_asks_an_interrupted_reply_again_once(dialect: Prompting) -> None:
    engine = dialect.make()
    engine.connected(0.0)
    dialect.send(engine, "suggest trip ideas", 1.0)
    assert dialect.sent(engine, 1.0) == ["suggest trip ideas"]
    reply = dialect.interrupt(engine)
    assert (reply.role, reply.status, reply.text) == ("assistant", "interrupted", "Here are")
    dialect.sent(engine, 20.0)
    asked = dialect.retry(engine, reply.id, 20.0)
    assert asked is not None and asked.text == "suggest trip ideas"
    assert dialect.sent(engine, 20.0) == ["suggest trip ideas"]
    assert dialect.retry(engine, reply.id, 20.1) is None  # the button does not ask twice
    assert reply.retried
