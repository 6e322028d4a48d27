"""The engines' shared ticker rests while no session has a deadline, and still catches a stall in time.

A real websockets server on loopback speaks the agent protocol: it answers a prompt with one token and
then falls silent, so the reply can only end by the console's own stall rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import websockets

from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from tests.helpers import eventually

TICK = 0.05


class CountingEngine(AgentEngine):
    """An agent engine that counts its ticks (how often the process woke for it)."""

    ticks = 0

    def tick(self, now: float) -> None:
        self.ticks += 1
        super().tick(now)


@contextlib.asynccontextmanager
async def silent_after_one_token() -> AsyncIterator[str]:
    async def handler(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                if json.loads(message).get("type") == "USER_MESSAGE":
                    await ws.send(json.dumps({"type": "TOKEN", "seq": 1, "text": "Hel", "stream_id": "s1"}))

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


async def test_an_idle_session_rests_and_a_silent_reply_is_still_interrupted_on_time() -> None:
    engine = CountingEngine(config=EngineConfig(idle_timeout=0.6))
    async with silent_after_one_token() as url:
        client = AgentClient(url, engine, tick_interval=TICK)
        client.start()
        try:
            await eventually(lambda: client.connected_once)
            await asyncio.sleep(0.3)  # the first ticks find nothing due
            before = engine.ticks
            await asyncio.sleep(0.8)
            assert engine.ticks - before <= 1, "idle: about one tick a second, not sixteen"

            sent = time.monotonic()
            client.send_user_message("hello")
            await eventually(lambda: any(m.status == "interrupted" for m in engine.conversation.messages))
            took = time.monotonic() - sent
            assert 0.6 <= took < 0.6 + 0.5, took  # the stall rule ran at the tick rate, not the rest rate
            reply = engine.conversation.messages[-1]
            assert reply.text == "Hel"

            await asyncio.sleep(0.3)
            before = engine.ticks
            await asyncio.sleep(0.8)
            assert engine.ticks - before <= 1, "the reply is over: the ticker rests again"
        finally:
            await client.close()
