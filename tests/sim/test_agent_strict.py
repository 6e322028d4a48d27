"""The console against the strict profile: a server that behaves like the published agent-server.

The server aborts a reply for good when a new connection comes, restarts seq at every prompt, holds
frames in a reorder buffer until something else passes, and logs a PONG with no PING pending as
"unexpected". The console must end every reply either done and exact, or interrupted only where the
server itself dropped the connection during it.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from console import jsonvalue
from console.jsonvalue import JsonObject
from console.sim.agent_strict import StrictAgentServer, StrictConfig
from tests.sim.strict_runs import run

SERVER_SCALE = 0.1  # pauses 0.2-0.8 s, ack timeout 0.5 s, PING every 1.2 s
ENGINE_SCALE = 0.2  # the client's bounds stay above the server's under a loaded machine


def obj(raw: str | bytes) -> JsonObject:
    value = jsonvalue.loads(raw)
    assert isinstance(value, dict)
    return value


async def test_every_reply_is_exact_or_interrupted_only_by_a_server_drop_on_several_chaos_seeds() -> None:
    prompts = ("summarize the q3 report", "lookup churn definition", "analyze and compare the regions")
    results = await asyncio.gather(
        *(run(seed, prompts, time_scale=SERVER_SCALE, engine_scale=ENGINE_SCALE) for seed in (10, 15, 21, 3))
    )
    for r in results:
        assert r.timeouts == 0, r
        assert r.done + r.interrupted == len(prompts), r
        assert r.text_errors == [], r
        assert r.unexplained == [], r  # no reply lost to a reconnect the console started itself
        assert r.interrupted <= r.server_drops_during_reply, r
        # No second PONG to a replayed PING. (A PING whose only copy that arrived is a replay, its first
        # lost with a dropped connection, is answered: the client cannot tell it from a new one.)
        assert r.repeat_pongs == 0, r
        assert r.unexpected_pongs <= r.server_drops + r.client_reconnects, r
    # The seeds include chaos enough to show it: drops, and replies that needed nothing of the client.
    assert sum(r.server_drops for r in results) > 0
    assert sum(r.done for r in results) >= len(results)


async def test_a_new_connection_aborts_the_reply_and_resume_replays_only_its_frames() -> None:
    server = StrictAgentServer(StrictConfig(mode="normal", time_scale=0.2, ping_interval=4.0))
    await server.start()
    try:
        async with connect(server.url) as ws:
            await ws.send(jsonvalue.dumps({"type": "USER_MESSAGE", "content": "hello"}))
            first = [obj(await ws.recv()) for _ in range(3)]
        assert [f["seq"] for f in first] == [1, 2, 3]  # seq starts at 1 with the prompt
        async with connect(server.url) as ws:
            await ws.send(jsonvalue.dumps({"type": "RESUME", "last_seq": 2}))
            frames: list[JsonObject] = []
            loop = asyncio.get_running_loop()
            until = loop.time() + 2.0
            with pytest.raises(TimeoutError):
                while True:
                    frames.append(obj(await asyncio.wait_for(ws.recv(), until - loop.time())))
            pings = [f for f in frames if f["type"] == "PING"]
            assert pings  # replayed or new: PINGs take seqs of the same numbering
            await ws.send(jsonvalue.dumps({"type": "PONG", "echo": "not a pending challenge"}))
            await asyncio.sleep(0.1)
        assert frames[0]["seq"] == 3  # the replay starts right after last_seq
        assert all(f["type"] != "STREAM_END" for f in frames)  # the reply was aborted for good
        assert server.replies[0].status == "aborted"
        assert server.replies[0].aborted_by == "client reconnect"
        prompt, reply = server.truth().messages
        assert (prompt.role, prompt.text, reply.prompt) == ("user", "hello", "hello")
        assert (reply.status, reply.note) == ("interrupted", "client reconnect")
        tokens = {f["seq"]: f["text"] for f in [*first, *frames] if f["type"] == "TOKEN"}  # replayed once
        assert reply.text == "".join(
            str(tokens[seq]) for seq in sorted(tokens, key=lambda seq: int(str(seq)))
        )
        assert server.count("pong", verdict="unexpected") == 1
    finally:
        await server.stop()
