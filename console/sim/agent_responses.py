"""Turning prompts into responses: each session's worker plays a script out into the session log,
keeps the ground truth of what it meant, and waits for the TOOL_ACKs the spec asks for."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from console.dialects.agent import protocol as proto
from console.jsonvalue import JsonObject, JsonValue
from console.sim import agent_chaos
from console.sim import agent_scripts as scripts
from console.sim import agent_steps as steps
from console.sim.agent_chaos import CLEAN, Delivery
from console.sim.agent_context import Shared
from console.sim.agent_delivery import Wire
from console.sim.agent_state import END_DELAY, Frame, ReplyTruth, Session
from console.sim.agent_tokens import TokenRun
from console.sim.pacing import Timeline

logger = logging.getLogger(__name__)

Planner = Callable[[str], Delivery]  # frame type -> its chaos delivery plan


@dataclass(slots=True)
class ResponseState:
    dropped: bool = False
    spiked: bool = False
    held_previous: bool = False  # frames are never held back to back: something must overtake them


class Responder:
    """The generating side of the simulator: responses appended to the session log as they are made."""

    def __init__(self, shared: Shared, wire: Wire) -> None:
        self.shared = shared
        self.wire = wire

    def prompt(self, s: Session, content: str) -> None:
        """Queue a prompt; the session's worker (started if need be) answers prompts one at a time."""
        s.prompts.put_nowait(content)
        now = asyncio.get_running_loop().time()
        if not s.busy and s.prompts.qsize() == 1:  # the client's turn ends
            s.prompted_at = now
            if s.ended_at is not None:
                self.shared.cycles.idle += now - s.ended_at
        if s.worker is None or s.worker.done():
            s.worker = asyncio.create_task(self._work(s))

    # -- generating responses ----------------------------------------------------------------------------------

    async def _work(self, s: Session) -> None:
        while True:
            prompt = await s.prompts.get()
            s.busy = True
            try:
                await self._respond(s, prompt)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one response must not kill the session
                logger.exception("agent simulator: response to %r failed", prompt)
            finally:
                s.busy = False
                self.shared.cycles.ended(s, asyncio.get_running_loop().time())  # if it failed

    async def _respond(self, s: Session, prompt: str) -> None:
        cfg = self.shared.config
        chaos = cfg.chaos if cfg.mode == "chaos" else None
        s.responses += 1
        n = s.responses
        script = scripts.build_script(prompt, random.Random(f"{cfg.seed}:{s.id}:{n}:{prompt}"), chaos)
        delivery_rng = random.Random(f"{cfg.seed}:{s.id}:{n}:delivery")
        state = ResponseState()

        def plan(kind: str) -> Delivery:
            if chaos is None:
                return CLEAN
            d = agent_chaos.plan_delivery(
                delivery_rng,
                chaos,
                kind,
                may_drop=not state.dropped,
                may_spike=not state.spiked,
                may_hold=not state.held_previous,
            )
            state.dropped = state.dropped or d.drop_after
            state.spiked = state.spiked or d.spike > 0
            state.held_previous = d.hold > 0
            return d

        sid = script.stream_id
        timeline = Timeline(self.shared.pacer, cfg.time_scale)  # the script's delays, as one timeline
        cycles = self.shared.cycles
        started = timeline.loop.time()
        s.started_at, s.timeline = started, timeline
        cycles.start += max(0.0, started - s.prompted_at)
        s.new_numbering()
        s.truth.message(
            {
                "role": "user",
                "stream_id": None,
                "text": prompt,
                "status": "sent",  # as the console marks a prompt that went out
                "blocks": [{"kind": "text", "text": prompt}],
            }
        )
        blocks: list[JsonValue] = []
        message: JsonObject = {
            "role": "assistant",
            "stream_id": sid,
            "text": "",
            "status": "streaming",
            "blocks": blocks,
            "prompt": prompt,
        }
        s.truth.message(message)
        if s.streaming is not None:
            s.streaming.sync()  # a reply that failed half way: its truth is what was sent of it
        truth = s.streaming = ReplyTruth(message, blocks)
        for behaviour in script.chaos:
            self.shared.recorder.chaos(s, s.conn, behaviour, stream_id=sid)

        def emit(token: steps.Token) -> None:
            self.wire.append(s, proto.token(sid, token.text), delivery=plan("TOKEN"))
            truth.token(token.text)
            cycles.tokens += 1

        for tokens, group in itertools.groupby(script.steps, key=lambda step: isinstance(step, steps.Token)):
            if tokens:  # a run of tokens: played by the pacer, a wake-up of this task per run
                run = [step for step in group if isinstance(step, steps.Token)]
                await TokenRun(self.shared.pacer, timeline, run, emit).play()
                continue
            for step in group:
                await self._step(s, sid, step, truth, plan, timeline)
        await timeline.wait(END_DELAY)
        self.wire.append(s, proto.stream_end(sid), delivery=plan("STREAM_END"))
        s.ended_at = timeline.loop.time()
        cycles.ended(s, s.ended_at)
        truth.sync()
        s.streaming = None
        message["status"] = "done"

    async def _step(
        self, s: Session, sid: str, step: steps.Step, truth: ReplyTruth, plan: Planner, timeline: Timeline
    ) -> None:
        """One step that is not a token."""
        if isinstance(step, steps.Snapshot):
            await timeline.wait(step.delay)
            snapshot = proto.context_snapshot(step.context_id, step.data)
            self.wire.append(s, snapshot, delivery=plan("CONTEXT_SNAPSHOT"))
            s.truth.snapshot(step.context_id, step.data)
        elif isinstance(step, steps.ToolCalls):
            await self._tool_calls(s, sid, step, truth, plan, timeline)
        elif isinstance(step, steps.ErrorFrame):
            await timeline.wait(step.delay)
            frame = self.wire.append(s, proto.error(step.code, step.message), delivery=plan("ERROR"))
            self.shared.recorder.chaos(s, s.conn, "error", seq=frame.seq, code=step.code)
        elif isinstance(step, steps.Malformed):
            await timeline.wait(step.delay)
            s.numbering().frames.append(Frame(None, "MALFORMED", step.text))
            s.wake()

    async def _tool_calls(
        self,
        s: Session,
        sid: str,
        step: steps.ToolCalls,
        truth: ReplyTruth,
        plan: Planner,
        timeline: Timeline,
    ) -> None:
        await timeline.wait(step.delay)
        cards: list[JsonObject] = []
        for i, call in enumerate(step.calls):
            if i:
                await timeline.wait(step.gap)
            s.call(call.call_id)
            frame = proto.tool_call(sid, call.call_id, call.tool_name, call.args)
            self.wire.append(s, frame, ref=call.call_id, delivery=plan("TOOL_CALL"))
            card = steps.tool_block(call, done=False)
            cards.append(card)
            truth.card(card)
        asked = timeline.loop.time()
        late = asked - timeline.due  # the calls went out this late (a busy simulator)
        await asyncio.gather(*(self._await_ack(s, call.call_id) for call in step.calls))
        self.shared.cycles.acks += timeline.loop.time() - asked
        timeline.restart(late)  # the ACKs took what the client took: the results are timed from now
        for i, (call, card) in enumerate(zip(step.calls, cards, strict=True)):
            await timeline.wait(call.latency if i == 0 else step.gap)
            self.wire.append(
                s, proto.tool_result(sid, call.call_id, call.result), delivery=plan("TOOL_RESULT")
            )
            card["result"] = call.result
            card["status"] = "done"
        await timeline.wait(step.pause_after)

    async def _await_ack(self, s: Session, call_id: str) -> None:
        """Wait for the TOOL_ACK: 5 s from the TOOL_CALL's (latest) send, counted while a client is
        connected; then log the violation and let the result go anyway (spec)."""
        event = s.acks[call_id]
        loop = asyncio.get_running_loop()
        while not event.is_set():
            sent = s.call_sent.get(call_id)
            if sent is None or s.conn is None:
                # Not on the wire yet, or nobody connected to ACK it: the 5 s have not started.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 0.05)
                continue
            remaining = sent + proto.ACK_WAIT - loop.time()
            if remaining <= 0:
                self.shared.recorder.record(
                    s,
                    s.conn,
                    "tool_ack_missing",
                    "violation",
                    call_id=call_id,
                    detail=f"TOOL_ACK missing after {proto.ACK_WAIT:g} s",
                )
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
