"""Trace export and offline replay: what a user opens later is the conversation they watched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import trace_io
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.jsonvalue import JsonValue
from console.readonly_client import TakesNoPrompts
from console.session import Conversation
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.trace_io import (
    FORMAT,
    JsonlReplay,
    ReplayClient,
    TraceFormatError,
    export_jsonl,
    load_jsonl,
    open_trace,
)
from tests.helpers import converse

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "agent_server_normal_session.jsonl"


def frame(**fields: object) -> str:
    return json.dumps(fields)


def token(seq: int, text: str, sid: str = "s1") -> str:
    return frame(type="TOKEN", seq=seq, text=text, stream_id=sid)


async def live_session(sim: AgentSimulator, prompts: list[str]) -> Conversation:
    client = AgentClient(
        f"{sim.url}?session=trace", AgentEngine(config=EngineConfig(gap_timeout=0.5, stall_timeout=20))
    )
    client.start()
    try:
        await converse(client, prompts)
    finally:
        await client.close()
    return client.conversation


def lines(text: str) -> list[dict[str, JsonValue]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_an_exported_normal_session_reopens_as_the_same_conversation() -> None:
    sim = AgentSimulator(SimConfig(seed=4, time_scale=0.05, ping_interval=0.3))
    await sim.start()
    try:
        live = await live_session(sim, ["summarize the q3 report", "show the database schema"])
    finally:
        await sim.stop()
    text = export_jsonl(live)
    header, *entries = lines(text)
    assert header["format"] == FORMAT and header["dropped"] == 0
    assert [e["kind"] for e in entries] == [e.kind for e in live.trace]
    assert all(isinstance(e["t"], float | int) for e in entries)
    inbound = [e for e in entries if e["dir"] == "in"]
    assert inbound and all(isinstance(e["raw"], str) for e in inbound)

    loaded = load_jsonl(text)
    assert loaded.problems == ()
    assert loaded.frames == len(inbound)
    assert loaded.conversation.transcript() == live.transcript()
    assert any(e.kind == "PONG" for e in loaded.conversation.trace)  # derived again by the engine


async def test_a_chaos_session_with_drops_and_duplicates_reopens_as_the_same_conversation() -> None:
    chaos = ChaosRates.only(drop=0.5, duplicate=0.4, reorder=0.4, rapid_tools=0.5)
    sim = AgentSimulator(SimConfig(mode="chaos", seed=11, time_scale=0.05, ping_interval=0.3, chaos=chaos))
    await sim.start()
    try:
        live = await live_session(sim, ["summarize the q3 report", "analyze and compare the regions"])
    finally:
        await sim.stop()
    kinds = {e.kind for e in live.trace}
    assert {"DISCONNECTED", "RESUME", "DUPLICATE"} <= kinds  # the chaos really happened
    loaded = load_jsonl(export_jsonl(live))
    assert loaded.problems == ()
    assert loaded.conversation.transcript() == live.transcript()
    replayed = {e.kind for e in loaded.conversation.trace}
    assert {"DISCONNECTED", "RESUME", "DUPLICATE"} <= replayed


def test_a_recording_of_the_published_agent_server_opens() -> None:
    loaded = load_jsonl(FIXTURE.read_text())
    replies = [m for m in loaded.conversation.messages if m.role == "assistant"]
    assert len(replies) == 7 and all(m.status == "done" for m in replies)
    assert replies[0].text.startswith("Hello! I'm the Alchemyst Agent.")
    assert loaded.started_at is None and loaded.problems == ()


def test_a_reply_cut_off_by_the_end_of_the_trace_shows_as_interrupted() -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("hi", 0.1)
    engine.receive(token(1, "Hel"), 0.2)
    engine.receive(token(2, "lo"), 0.3)
    loaded = load_jsonl(export_jsonl(engine.conversation))
    reply = loaded.conversation.messages[-1]
    assert reply.text == "Hello"
    assert reply.status == "interrupted" and "trace ends" in reply.note
    assert loaded.conversation.link.state.value == "closed"


def test_malformed_frames_replay_as_protocol_errors_and_bad_lines_are_reported() -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("hi", 0.1)
    engine.receive("{not json", 0.2)
    engine.receive(token(1, "ok"), 0.3)
    text = export_jsonl(engine.conversation) + "garbage line\n[1, 2]\n"
    loaded = load_jsonl(text)
    kinds = [e.kind for e in loaded.conversation.trace]
    assert "PROTOCOL_ERROR" in kinds
    assert loaded.conversation.messages[-1].text == "ok"
    assert len(loaded.problems) == 2
    assert loaded.problems[0].startswith("line ") and "not JSON" in loaded.problems[0]


def test_blank_lines_are_skipped_and_each_problem_names_its_line() -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("hi", 0.1)
    engine.receive(token(1, "ok"), 0.3)
    lines = export_jsonl(engine.conversation).splitlines()
    bad_time = '{"t": true, "dir": "in", "kind": "TOKEN", "raw": "{}"}'  # a bool is no time
    bad_kind = '{"t": 5, "dir": "in", "kind": "", "raw": "{}"}'
    text = "\n".join([lines[0], "", "   ", bad_time, *lines[1:], bad_kind]) + "\n"
    loaded = load_jsonl(text)
    assert loaded.problems == (
        "line 4: no numeric 't'",
        f"line {len(lines) + 4}: no 'kind' and no frame type",
    )
    assert loaded.conversation.messages[-1].text == "ok"
    assert loaded.frames == 1


def test_text_that_is_not_a_trace_is_refused_with_a_reason() -> None:
    with pytest.raises(TraceFormatError, match="no trace entries"):
        load_jsonl("")
    with pytest.raises(TraceFormatError, match="not JSON"):
        load_jsonl("hello world\n")
    with pytest.raises(TraceFormatError, match="'dir'"):
        load_jsonl('{"t": 1, "dir": "sideways", "raw": "{}"}\n')


async def test_a_replayed_trace_is_a_session_that_cannot_send() -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("hi", 0.1)
    engine.receive(token(1, "yo"), 0.2)
    engine.receive(frame(type="STREAM_END", seq=2, stream_id="s1"), 0.3)
    client = open_trace(export_jsonl(engine.conversation, wall_offset=1_000.0), "demo.jsonl")
    assert isinstance(client, ReplayClient)
    assert client.idle and client.connected_once and not client.capabilities.prompts
    assert client.wall_offset == pytest.approx(1_000.0)
    await client.start()
    client.drop()
    assert client.retry("m2") is None
    with pytest.raises(TakesNoPrompts, match="offline"):
        client.send_user_message("more?")
    assert [m.text for m in client.conversation.messages] == ["hi", "yo"]
    await client.close()


@pytest.mark.parametrize("chunk", [1, 64, 2048])
def test_a_trace_replayed_in_slices_ends_as_the_file_opened_whole(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However the file is cut into slices (CRLF line ends too), the session,
    its trace rows and the problems found, with their line numbers, are those of the whole file."""
    recorded = FIXTURE.read_text().splitlines()
    text = "\r\n".join([*recorded[:20], "", "garbage line", *recorded[20:], "[1, 2]"]) + "\r\n"
    whole = load_jsonl(text)
    monkeypatch.setattr(trace_io, "_CHUNK", chunk)
    source = JsonlReplay(text)
    steps = 1
    while not source.step(0.0):  # one chunk per slice
        steps += 1
        assert source.lines_read < source.lines_total
    sliced = source.finish()
    assert steps > 10 and source.lines_read == source.lines_total == len(recorded) + 3
    assert sliced.conversation.transcript() == whole.conversation.transcript()
    assert [(e.kind, e.seq, e.raw) for e in sliced.conversation.trace] == [
        (e.kind, e.seq, e.raw) for e in whole.conversation.trace
    ]
    assert sliced.problems == whole.problems and len(whole.problems) == 2
    assert (sliced.frames, sliced.duration) == (whole.frames, whole.duration)
