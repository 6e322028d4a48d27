"""A megabyte context snapshot is decoded and encoded in a worker process: the session keeps its data
once, as JSON bytes, exactly as sent; the timeline row keeps only its start; frames around it keep
their order; and a frame the worker cannot take (a large tool call) is still decoded."""

from __future__ import annotations

import asyncio
import json

from console import jsonvalue, offload
from console.dialects.agent.client import AgentClient
from console.events import ContextSnapshot
from console.session import ToolBlock
from console.window import LEAN_RAW
from tests.helpers import eventually
from tests.hostile.servers import Peer, RawWebSocketServer, frame


def corpus(n: int) -> dict[str, object]:
    return {"documents": [{"id": i, "body": "lorem ipsum " * 40, "score": i / 7} for i in range(n)]}


async def test_a_large_snapshot_is_kept_once_as_sent_and_frames_around_it_keep_their_order() -> None:
    data = corpus(3_000)  # about 1.5 MB
    args = {"blob": "x" * 400_000}

    async def script(peer: Peer) -> None:
        while not peer.sent("USER_MESSAGE"):
            await asyncio.sleep(0.02)
        frames = [
            {"type": "TOKEN", "seq": 1, "stream_id": "s1", "text": "before "},
            {"type": "CONTEXT_SNAPSHOT", "seq": 2, "context_id": "ctx", "data": data},
            {"type": "TOKEN", "seq": 3, "stream_id": "s1", "text": "after"},
            {
                "type": "TOOL_CALL",
                "seq": 4,
                "stream_id": "s1",
                "call_id": "c1",
                "tool_name": "t",
                "args": args,
            },
            {"type": "STREAM_END", "seq": 5, "stream_id": "s1"},
        ]
        for each in frames:
            peer.send(frame(json.dumps(each)))
        await peer.drain()

    server = RawWebSocketServer(script)
    await server.start()
    client = AgentClient(server.url)
    client.start()
    try:
        await eventually(lambda: client.connected_once)
        client.send_user_message("go")
        conversation = client.conversation
        await eventually(lambda: conversation.messages[-1].status == "done", seconds=30)
        assert conversation.messages[-1].text == "before after"
        [entry] = conversation.contexts["ctx"]
        assert isinstance(entry.encoded, bytes)
        assert jsonvalue.loads(entry.encoded) == data
        [row] = [r for r in conversation.trace if r.kind == "CONTEXT_SNAPSHOT"]
        assert row.raw is not None and len(row.raw) < LEAN_RAW + 100  # the data is not kept twice
        [call] = [b for m in conversation.messages for b in m.blocks if isinstance(b, ToolBlock)]
        assert call.args == args  # not a snapshot: decoded all the same
        assert offload._pool is not None  # the snapshot went to the worker process
    finally:
        await client.close()
        await server.stop()


async def test_the_worker_decodes_only_valid_snapshots() -> None:
    snapshot = json.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 7, "context_id": "c", "data": [1, 2]})
    decoded = await offload.decode_snapshot(snapshot, 1 << 20)
    assert decoded is not None and decoded.seq == 7
    again = await offload.decode_snapshot(snapshot, 1 << 20)
    assert again is not None and again.fingerprint == decoded.fingerprint  # a copy is a duplicate
    changed = await offload.decode_snapshot(snapshot.replace("[1, 2]", "[1, 3]"), 1 << 20)
    assert changed is not None and changed.fingerprint != decoded.fingerprint
    assert isinstance(decoded.event, ContextSnapshot)
    assert jsonvalue.dumps_bytes(decoded.event.data) == b"[1,2]"
    for other in (
        json.dumps({"type": "TOKEN", "seq": 1, "stream_id": "s", "text": "x"}),
        "not json",
        "[" * 300 + "]" * 300,
        snapshot.replace('"seq": 7, ', ""),
    ):
        assert await offload.decode_snapshot(other, 1 << 20) is None
