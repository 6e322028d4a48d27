"""The agent simulator's account of where its sessions' time goes (`/health` cycles): the client's turn,
the replies, their scripts' time and the TOOL_ACK waits, as a client that is slow to answer sees them."""

from __future__ import annotations

import asyncio

import httpx
from websockets.asyncio.client import ClientConnection, connect

from console.jsonvalue import JsonObject
from console.sim.agent import SimConfig
from tests.sim.test_agent_sim import FAST, dumps, obj, running, ws_url

ACK_AFTER = 0.2  # the client answers each TOOL_CALL this late
THINK = 0.3  # and sends its next prompt this long after a reply's end


async def reply(ws: ClientConnection, prompt: str) -> list[JsonObject]:
    await ws.send(dumps({"type": "USER_MESSAGE", "content": prompt}))
    frames: list[JsonObject] = []
    async for raw in ws:
        frame = obj(raw)
        frames.append(frame)
        if frame["type"] == "TOOL_CALL":
            await asyncio.sleep(ACK_AFTER)
            await ws.send(dumps({"type": "TOOL_ACK", "call_id": frame["call_id"]}))
        elif frame["type"] == "STREAM_END":
            return frames
    raise AssertionError("the connection closed mid-reply")


async def test_the_health_says_where_the_sessions_time_went() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "slow")) as ws, asyncio.timeout(30):
            frames = await reply(ws, "analyze and compare the regions for churn")
            await asyncio.sleep(THINK)
            frames += await reply(ws, "summarize the churn report")
        async with httpx.AsyncClient(base_url=sim.http_url) as http:
            cycles = (await http.get("/health")).json()["cycles"]
    calls = sum(1 for f in frames if f["type"] == "TOOL_CALL")
    assert calls >= 2  # both replies use tools
    assert cycles["replies"] == 2
    assert cycles["tokens"] == sum(1 for f in frames if f["type"] == "TOKEN")
    assert cycles["idle_s"] >= THINK  # the client's turn between the two replies
    # A reply's time is its script's, the ACK waits (each call acked late, the calls of a step together),
    # and next to nothing else.
    assert cycles["acks_s"] >= ACK_AFTER
    assert cycles["planned_s"] > 0
    rest = cycles["reply_s"] - cycles["planned_s"] - cycles["acks_s"]
    assert -0.05 < rest < 0.25
