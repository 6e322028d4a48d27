"""The agent dialect against a hostile WebSocket server on loopback: whatever it sends, the session
goes on, shows the valid text exactly, answers every PING in time and keeps its memory bounded."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from console import jsonvalue
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.record import RecordError, record
from console.runtime import wslink
from tests.helpers import quick_backoff, starting
from tests.hostile.servers import Peer, RawWebSocketServer, eventually, frame, nested_text, resident_bytes

TEXTS = ["Hello", ", ", "wor", "ld", " — ", "שלום", "!"]
DEPTHS = (254, 255, 1024, 5000)
MB = 1024 * 1024


async def user_message(peer: Peer) -> None:
    await eventually(lambda: peer.sent("USER_MESSAGE"))


def token(seq: int, text: str) -> bytes:
    return frame(json.dumps({"type": "TOKEN", "seq": seq, "stream_id": "s1", "text": text}))


def stream_end(seq: int) -> bytes:
    return frame(json.dumps({"type": "STREAM_END", "seq": seq, "stream_id": "s1"}))


def ping(seq: int, challenge: str) -> bytes:
    return frame(json.dumps({"type": "PING", "seq": seq, "challenge": challenge}))


def garbage(seq: int) -> tuple[list[bytes], int]:
    """Every kind of bad frame, numbered from `seq` where they carry one; and the next seq."""
    numbered = [
        json.dumps({"type": "WHAT", "seq": 0}),
        json.dumps({"type": "TOOL_RESULT", "seq": 0, "call_id": "orphan", "stream_id": "s1"}),
        json.dumps({"type": "ERROR", "seq": 0, "code": "E", "message": {"not": "a string"}}),
    ]
    for depth in DEPTHS:
        deep = nested_text(depth)
        for fields in (
            f'"type": "TOOL_CALL", "stream_id": "s1", "call_id": "c{depth}", "tool_name": "t", "args": {{"a": {deep}}}',
            f'"type": "TOOL_RESULT", "stream_id": "s1", "call_id": "c{depth}", "result": {{"r": {deep}}}',
            f'"type": "CONTEXT_SNAPSHOT", "context_id": "ctx", "data": {deep}',
            f'"type": "ERROR", "code": "E", "message": {deep}',
            f'"type": "TOKEN", "stream_id": "s1", "text": "x", "extra": {deep}',
        ):
            numbered.append('{"seq": 0, ' + fields + "}")
    out = [
        frame(b"\x00\x01 not json", opcode=0x2),  # binary garbage
        frame(b'{"type": "TOKEN", "seq": 1', opcode=0x2),  # binary, truncated JSON
        frame("not json {"),
        frame("[1, 2, 3]"),
    ]
    for text in numbered:
        try:
            jsonvalue.loads(text)
        except jsonvalue.JsonDecodeError:
            # Past orjson's 1,024 levels a frame is malformed JSON: its seq cannot be known, so it
            # goes without one (one that had a seq would be a gap, replayed and then skipped).
            out.append(frame(text.replace('"seq": 0, ', "")))
            continue
        out.append(frame(text.replace('"seq": 0', f'"seq": {seq}', 1)))
        seq += 1
    return out, seq


@pytest.fixture(autouse=True)
def quick_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """These servers never answer a closing handshake: give up on it sooner than the product does."""
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.5)


@pytest.fixture
async def servers() -> AsyncIterator[
    Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]]
]:
    async with starting(RawWebSocketServer) as start:
        yield start


def agent(url: str, made: list[AgentClient]) -> AgentClient:
    client = AgentClient(
        url, AgentEngine(config=EngineConfig(gap_timeout=1.0)), backoff_factory=quick_backoff
    )
    made.append(client)
    client.start()
    return client


async def test_valid_text_interleaved_with_every_kind_of_garbage_is_shown_exactly(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
) -> None:
    bad_count = 0

    async def script(peer: Peer) -> None:
        nonlocal bad_count
        await user_message(peer)
        seq = 1
        for text in TEXTS:
            peer.send(token(seq, text))
            seq += 1
            bad, seq = garbage(seq)
            for data in bad:
                peer.send(data)
                bad_count += 1
        # A tool call nested as deep as the console accepts is shown and acked.
        args = json.loads(nested_text(100))
        call = {
            "type": "TOOL_CALL",
            "seq": seq,
            "stream_id": "s1",
            "call_id": "ok",
            "tool_name": "deep",
            "args": {"a": args},
        }
        peer.send(frame(json.dumps(call)))
        peer.send(stream_end(seq + 1))

    server = await servers(script)
    client = agent(server.url, clients)
    await eventually(lambda: client.connected_once)
    client.send_user_message("go")
    conversation = client.conversation
    await eventually(lambda: conversation.messages[-1].status == "done")
    reply = conversation.messages[-1]
    assert reply.text == "".join(TEXTS)
    assert conversation.counts.protocol_errors >= bad_count
    assert not client.start().done()  # the session is alive
    peer = server.peers[0]
    await eventually(lambda: peer.sent("TOOL_ACK"))
    assert [ack["call_id"] for _, ack in peer.sent("TOOL_ACK")] == ["ok"]
    # The export takes everything that was accepted.
    assert jsonvalue.dumps(conversation.transcript())
    reasons = {row.summary for row in conversation.trace if row.kind == "PROTOCOL_ERROR"}
    assert "JSON nested deeper than 128 levels" in reasons
    assert any("ERROR frame: field 'message' must be a string" in r for r in reasons)
    assert len(server.peers) == 1  # none of it was a reason to reconnect


async def test_a_server_that_ignores_the_closing_handshake_is_cut_off_and_the_reply_resumes(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
) -> None:
    async def script(peer: Peer) -> None:
        if len(server.peers) == 1:
            await user_message(peer)
            peer.send(token(1, "Hello"))
            peer.send(frame(b'{"type": "TOKEN", "text": "\xff\xfe"}'))  # invalid UTF-8 in a text frame
            return  # and then ignore the client's close frame
        await eventually(lambda: peer.sent("RESUME"))
        peer.send(token(2, ", world"))
        peer.send(stream_end(3))

    server = await servers(script)
    client = agent(server.url, clients)
    await eventually(lambda: client.connected_once)
    client.send_user_message("go")
    conversation = client.conversation
    await eventually(lambda: conversation.messages[-1].status == "done", seconds=10)
    assert conversation.messages[-1].text == "Hello, world"
    assert server.peers[0].closes == 1
    [resume] = [frame for _, frame in server.peers[1].sent("RESUME")]
    assert resume["last_seq"] == 1
    dropped = [row.summary for row in conversation.trace if row.kind == "DISCONNECTED"]
    assert dropped and "1007" in dropped[0]


async def flood(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
    frames: Callable[[int], bytes],
    count: int,
) -> tuple[AgentClient, list[float], int]:
    """`count` frames, a PING every 500 of them; returns the client, each PONG's delay, RSS growth."""
    pings: dict[str, float] = {}

    async def script(peer: Peer) -> None:
        await user_message(peer)
        seq = 1
        for index in range(count):
            if index % 500 == 0:
                challenge = f"p{index}"
                peer.send(ping(seq, challenge))
                pings[challenge] = asyncio.get_running_loop().time()
                seq += 1
                await peer.drain()
            peer.send(frames(seq))
            seq += 1
        peer.send(token(seq, "done"))
        peer.send(stream_end(seq + 1))

    before = resident_bytes()
    server = await servers(script)
    client = agent(server.url, clients)
    await eventually(lambda: client.connected_once)
    client.send_user_message("go")
    await eventually(lambda: client.conversation.messages[-1].status == "done", seconds=60)
    growth = resident_bytes() - before
    peer = server.peers[0]
    await eventually(lambda: len(peer.sent("PONG")) == len(pings))
    delays = [at - pings[str(pong["echo"])] for at, pong in peer.sent("PONG")]
    return client, delays, growth


async def test_a_flood_of_error_frames_keeps_memory_notices_and_heartbeats_bounded(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
) -> None:
    def error(seq: int) -> bytes:
        return frame(json.dumps({"type": "ERROR", "seq": seq, "code": "E", "message": f"failure {seq % 7}"}))

    client, delays, growth = await flood(servers, clients, error, 20_000)
    assert max(delays) < 3.0
    assert growth < 100 * MB
    notices = client.conversation.notices
    assert len(notices) == 7  # one per text, with its count
    assert sum(n.repeats for n in notices) == 20_000
    assert client.conversation.messages[-1].text == "done"


async def test_ten_thousand_context_ids_are_folded_without_holding_heartbeats(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
) -> None:
    def snapshot(seq: int) -> bytes:
        data = {"type": "CONTEXT_SNAPSHOT", "seq": seq, "context_id": f"ctx-{seq}", "data": {"n": seq}}
        return frame(json.dumps(data))

    client, delays, growth = await flood(servers, clients, snapshot, 10_000)
    assert max(delays) < 3.0
    assert growth < 100 * MB
    conversation = client.conversation
    assert len(conversation.contexts) == conversation.limits.contexts
    assert conversation.folded.counts["contexts"] == 10_000 - conversation.limits.contexts
    assert any("contexts" in notice.text for notice in conversation.notices)


async def test_record_writes_what_it_received_when_the_reply_never_ends(
    servers: Callable[[Callable[[Peer], Awaitable[None]]], Awaitable[RawWebSocketServer]],
    clients: list[AgentClient],
    tmp_path: Path,
) -> None:
    async def script(peer: Peer) -> None:
        await user_message(peer)
        peer.send(token(1, "half a "))
        peer.send(token(2, "reply"))

    server = await servers(script)
    with pytest.raises(RecordError, match="timed out") as failed:
        await record(AgentClient(server.url), ["go"], within=1.5)
    assert failed.value.result is not None
    messages = failed.value.result.json()["messages"]
    assert isinstance(messages, list)
    assert [(m["role"], m["text"], m["status"]) for m in messages if isinstance(m, dict)] == [
        ("user", "go", "sent"),
        ("assistant", "half a reply", "streaming"),
    ]
    # The command writes it too, and still says why it failed.
    out = tmp_path / "transcript.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "main.py",
        "record",
        f"agent={server.url}",
        "--prompt",
        "go",
        "--timeout",
        "1.5",
        "--out",
        str(out),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 1
    assert b"timed out" in stderr
    written = jsonvalue.loads(out.read_text())
    assert isinstance(written, dict) and isinstance(written["stats"], dict)
    assert "timed out" in str(written["stats"]["error"])
