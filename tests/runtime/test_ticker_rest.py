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


@contextlib.asynccontextmanager
async def slow_reply_then_a_held_call(acked: asyncio.Future[float]) -> AsyncIterator[tuple[str, list[float]]]:
    """Tokens every 50 ms for a second and a half, then a TOOL_CALL at seq 42 with seq 41 missing, so
    the console must ack the call held behind the gap within the server's 2 s."""
    sent_call: list[float] = []

    async def handler(ws: websockets.ServerConnection) -> None:
        async def reply() -> None:
            for seq in range(1, 31):
                await ws.send(json.dumps({"type": "TOKEN", "seq": seq, "text": "tok ", "stream_id": "s1"}))
                await asyncio.sleep(0.05)
            call = {
                "type": "TOOL_CALL",
                "seq": 42,
                "stream_id": "s1",
                "call_id": "c1",
                "tool_name": "t",
                "args": {},
            }
            sent_call.append(time.monotonic())
            await ws.send(json.dumps(call))

        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                frame = json.loads(message)
                if frame.get("type") == "USER_MESSAGE":
                    asyncio.get_running_loop().create_task(reply())
                elif frame.get("type") == "TOOL_ACK" and not acked.done():
                    acked.set_result(time.monotonic())

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws", sent_call


async def test_a_streaming_reply_is_ticked_at_its_stall_slack_and_a_call_held_behind_a_gap_at_once() -> None:
    # A stall of 60 s is watched every 6 s: far longer than the ack deadline, so only the gap's own
    # hurry gets the held call acked in time.
    engine = CountingEngine(config=EngineConfig(stall_timeout=60.0, idle_timeout=60.0))
    acked: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    async with slow_reply_then_a_held_call(acked) as (url, sent_call):
        client = AgentClient(url, engine, tick_interval=TICK)
        client.start()
        try:
            await eventually(lambda: client.conversation.link.live)
            client.send_user_message("hello")
            await eventually(lambda: client.conversation.counts.text_deltas >= 5)
            before = engine.ticks
            await asyncio.sleep(1.0)
            assert client.conversation.streaming is not None
            assert engine.ticks - before <= 1, "a stall of 60 s is watched a tick in 6 s, not twenty a second"

            await asyncio.wait_for(asyncio.shield(acked), 5)
            waited = acked.result() - sent_call[0]
            # Acked early at 1.5 s (the ack deadline) plus at most a tick: inside the server's 2 s.
            assert 1.4 <= waited < 1.5 + 0.3, waited
        finally:
            await client.close()
