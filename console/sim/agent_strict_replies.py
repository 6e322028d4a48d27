"""The strict profile's replies: each prompt's script played out through the wire's chaos layer, the
5 s wait for TOOL_ACK and the 0.8–2 s before each result, and the ground truth of what was said."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Final

from console.dialects.agent import protocol as proto
from console.sim import agent_chaos
from console.sim import agent_scripts as scripts
from console.sim import agent_steps as steps
from console.sim.agent_strict_state import END_DELAY, Reply, StrictConfig, StrictLog
from console.sim.agent_strict_wire import StrictWire

# What the scripts add at generation time; delivery chaos is the wire's own.
_GENERATION: Final = agent_chaos.ChaosRates.only(rapid_tools=0.3, oversized=0.1, error=0.1)


class StrictReplies:
    def __init__(self, config: StrictConfig, log: StrictLog, wire: StrictWire) -> None:
        self.config = config
        self.log = log
        self.wire = wire
        self.acks: dict[str, asyncio.Event] = {}

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds * self.config.time_scale))

    async def respond(self, reply: Reply) -> None:
        cfg = self.config
        emit = self.wire.emit
        rng = random.Random(f"{cfg.seed}:reply:{reply.number}:{reply.prompt}")
        script = scripts.build_script(reply.prompt, rng, _GENERATION if cfg.mode == "chaos" else None)
        sid = reply.stream_id = script.stream_id
        for step in script.steps:
            if isinstance(step, steps.Token):
                await self._sleep(step.delay)
                emit(proto.token(sid, step.text))
                reply.texts.append(step.text)
            elif isinstance(step, steps.Snapshot):
                await self._sleep(step.delay)
                emit(proto.context_snapshot(step.context_id, step.data))
            elif isinstance(step, steps.ToolCalls):
                await self._tool_calls(sid, step, rng)
            elif isinstance(step, steps.ErrorFrame):
                await self._sleep(step.delay)
                emit(proto.error(step.code, step.message))
        await self._sleep(END_DELAY)
        emit(proto.stream_end(sid))
        reply.status = "done"

    async def _tool_calls(self, sid: str, step: steps.ToolCalls, rng: random.Random) -> None:
        await self._sleep(step.delay)
        for i, call in enumerate(step.calls):
            if i:
                await self._sleep(step.gap)
            self.acks[call.call_id] = asyncio.Event()
            self.wire.emit(proto.tool_call(sid, call.call_id, call.tool_name, call.args))
        await asyncio.gather(*(self._await_ack(call.call_id) for call in step.calls))
        for call in step.calls:
            await self._sleep(rng.uniform(*self.config.result_delay))
            self.wire.emit(proto.tool_result(sid, call.call_id, call.result))
        await self._sleep(step.pause_after)

    async def _await_ack(self, call_id: str) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.acks[call_id].wait(), self.config.ack_timeout * self.config.time_scale
            )
        if not self.acks[call_id].is_set():
            self.log.record(self.wire.conn, "tool_ack_missing", "violation", call_id=call_id)
