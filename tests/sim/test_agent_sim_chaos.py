"""The agent simulator's chaos mode over the wire: each forced behaviour performed and survivable."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from console import jsonvalue
from console.jsonvalue import JsonObject
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.sim.agent_chaos import CHAOS_BEHAVIOURS
from console.sim.agent_kinds import EXAMPLE_PROMPTS, Kind
from console.transcript import Transcript
from tests.helpers import assert_same_transcript
from tests.sim.test_agent_sim import (
    FAST,
    answer,
    assemble,
    chaos_done,
    dumps,
    entries,
    obj,
    running,
    ws_url,
)

# -- chaos ---------------------------------------------------------------------------------------------------


@dataclass
class RobustRun:
    applied: list[JsonObject] = field(default_factory=list)
    connections: int = 0
    duplicates: int = 0
    malformed: int = 0
    out_of_order: int = 0
    raw_pings: list[str] = field(default_factory=list)


async def robust_run(sim: AgentSimulator, session: str, prompt: str, *, limit: float = 60) -> RobustRun:
    """A spec-abiding client: reorder buffer, dedup, PONG at once, ACK on apply, RESUME on reconnect."""
    run = RobustRun()
    pending: dict[int, JsonObject] = {}
    next_seq = 1
    done = False
    async with asyncio.timeout(limit):
        while not done:
            async with connect(ws_url(sim, session), max_size=None) as ws:
                run.connections += 1
                if run.connections > 1:
                    await ws.send(dumps({"type": "RESUME", "last_seq": next_seq - 1}))
                else:
                    await ws.send(dumps({"type": "USER_MESSAGE", "content": prompt}))
                try:
                    async for raw in ws:
                        try:
                            frame = obj(raw)
                        except (jsonvalue.JsonDecodeError, AssertionError):
                            run.malformed += 1
                            continue
                        seq = frame.get("seq")
                        if not isinstance(seq, int) or frame.get("type") not in scripts_frame_types:
                            run.malformed += 1
                            continue
                        if frame["type"] == "PING":  # heartbeats never wait behind the buffer
                            run.raw_pings.append(str(frame["challenge"]))
                            await answer(ws, frame)
                        if seq < next_seq or seq in pending:
                            run.duplicates += 1
                            continue
                        if seq > next_seq:
                            run.out_of_order += 1
                        pending[seq] = frame
                        while next_seq in pending:
                            ready = pending.pop(next_seq)
                            next_seq += 1
                            run.applied.append(ready)
                            if ready["type"] == "TOOL_CALL":
                                await answer(ws, ready)
                            if ready["type"] == "STREAM_END":
                                done = True
                        if done:
                            break
                except ConnectionClosed:
                    continue
    return run


scripts_frame_types = frozenset(
    {"TOKEN", "TOOL_CALL", "TOOL_RESULT", "CONTEXT_SNAPSHOT", "PING", "STREAM_END", "ERROR"}
)

_CHAOS_PROMPTS: dict[str, str] = {
    "rapid_tools": EXAMPLE_PROMPTS["single_tool"],
    "oversized": EXAMPLE_PROMPTS["greeting"],
    "empty_ping": EXAMPLE_PROMPTS["multi_tool"],
}


@pytest.mark.parametrize("behaviour", CHAOS_BEHAVIOURS)
async def test_chaos_forced_behaviour_is_performed_and_survivable(behaviour: str) -> None:
    prompt = _CHAOS_PROMPTS.get(behaviour, EXAMPLE_PROMPTS["multi_tool"])
    rates = ChaosRates.only(**{behaviour: 1.0})
    interval = 0.05 if behaviour == "empty_ping" else 60.0
    async with running(SimConfig(mode="chaos", time_scale=FAST, ping_interval=interval, chaos=rates)) as sim:
        run = await robust_run(sim, "c", prompt)
        assert chaos_done(sim, "c") == {behaviour}
        assert_same_transcript(
            assemble([f for f in run.applied if f["type"] != "PING"], prompt), sim.truth("c")
        )
        assert sim.violations("c") == []
        if behaviour == "drop":
            assert run.connections == 2
            assert [e["verdict"] for e in entries(sim, "c", "resume")] == ["ok"]
        if behaviour == "duplicate":
            assert run.duplicates > 0
        if behaviour == "reorder":
            assert run.out_of_order > 0
        if behaviour in ("malformed",):
            assert run.malformed == 1
        if behaviour == "error":
            errors = [f for f in run.applied if f["type"] == "ERROR"]
            assert len(errors) == 1 and isinstance(errors[0]["code"], str)
        if behaviour == "empty_ping":
            assert run.raw_pings and set(run.raw_pings) == {""}
        if behaviour == "rapid_tools":
            types = [f["type"] for f in run.applied]
            first = types.index("TOOL_CALL")
            assert types[first + 1] == "TOOL_CALL"
        if behaviour == "oversized":
            assert any(len(dumps(f)) > 500_000 for f in run.applied if f["type"] == "CONTEXT_SNAPSHOT")


async def test_spike_pauses_delivery_then_bursts() -> None:
    rates = ChaosRates.only(spike=1.0)
    async with running(SimConfig(mode="chaos", time_scale=0.1, ping_interval=60, chaos=rates)) as sim:
        async with connect(ws_url(sim, "spike")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            loop = asyncio.get_running_loop()
            stamps: list[float] = []
            async with asyncio.timeout(20):
                async for raw in ws:
                    stamps.append(loop.time())
                    if obj(raw)["type"] == "STREAM_END":
                        break
        spike = entries(sim, "spike", "chaos")[0]
        seconds = float(str(spike["seconds"]))
        assert 2.0 <= seconds <= 8.0
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert max(gaps) >= seconds * 0.1 * 0.8  # the pause (scaled)
        assert sorted(gaps)[len(gaps) // 2] < 0.01  # ...and the rest came in a burst


async def test_default_chaos_is_survivable_over_several_prompts() -> None:
    async with running(SimConfig(mode="chaos", seed=3, time_scale=FAST, ping_interval=0.2)) as sim:
        kinds: tuple[Kind, ...] = ("single_tool", "multi_tool", "tool_first", "greeting")
        for i, kind in enumerate(kinds):
            run = await robust_run(sim, f"all{i}", EXAMPLE_PROMPTS[kind])
            assert_same_transcript(assemble(run.applied, EXAMPLE_PROMPTS[kind]), sim.truth(f"all{i}"))
        assert sim.violations() == []


async def test_same_seed_same_responses_and_chaos_decisions() -> None:
    async def once(seed: int) -> tuple[dict[str, Transcript], list[tuple[str, str]]]:
        rates = ChaosRates(reorder=0.2, duplicate=0.2, drop=0.05, spike=0.0)
        async with running(
            SimConfig(mode="chaos", seed=seed, time_scale=FAST, ping_interval=60, chaos=rates)
        ) as sim:
            await robust_run(sim, "d", "analyze and compare the regions")
            await robust_run(sim, "d2", "tell me something")
            chaos = sorted(
                (str(e["behaviour"]), str(e.get("seq")))
                for e in sim.log("d")
                if isinstance(e, dict) and e["kind"] == "chaos"
            )
            return {"d": sim.truth("d"), "d2": sim.truth("d2")}, chaos

    first, second, other = await once(11), await once(11), await once(12)
    assert first == second
    assert first[0] != other[0]
