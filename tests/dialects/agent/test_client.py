"""The agent client over real loopback sockets against the simulator, in normal and chaos mode."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.record import RecordError, record
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from tests.helpers import assert_same_transcript

PROMPTS = [
    "hello",
    "summarize the q3 report",
    "analyze and compare the regions",
    "lookup churn definition",
    "show the database schema",
]
CHAOS_BEHAVIOURS = {
    "drop",
    "spike",
    "reorder",
    "duplicate",
    "rapid_tools",
    "empty_ping",
    "oversized",
    "error",
    "malformed",
}


def fast_engine() -> AgentEngine:
    return AgentEngine(config=EngineConfig(gap_timeout=1.0, stall_timeout=20.0))


async def test_normal_session_matches_ground_truth_and_the_server_log_has_no_violation() -> None:
    sim = AgentSimulator(SimConfig(mode="normal", seed=7, time_scale=0.05, ping_interval=0.3))
    await sim.start()
    try:
        client = AgentClient(f"{sim.url}?session=n1", fast_engine())
        result = await record(client, PROMPTS, within=60)
        assert_same_transcript(result.transcript, sim.truth("n1"))
        assert sim.violations("n1") == []
        pongs = [e for e in sim.log("n1") if isinstance(e, dict) and e.get("kind") == "pong"]
        assert pongs, "the simulator pinged and the console answered"
    finally:
        await sim.stop()


async def _chaos_session(sim: AgentSimulator, session: str) -> set[str]:
    client = AgentClient(f"{sim.url}?session={session}", fast_engine())
    result = await record(client, PROMPTS, within=150)
    assert_same_transcript(result.transcript, sim.truth(session))
    assert result.interrupted == 0
    assert sim.violations(session) == [], session
    return {str(e["behaviour"]) for e in sim.log(session) if isinstance(e, dict) and e.get("kind") == "chaos"}


async def test_chaos_sessions_match_ground_truth_and_every_chaos_behaviour_occurs() -> None:
    rates = ChaosRates(
        drop=0.02,
        spike=0.01,
        reorder=0.08,
        duplicate=0.08,
        rapid_tools=0.5,
        empty_ping=0.3,
        oversized=0.3,
        error=0.3,
        malformed=0.3,
    )
    sim = AgentSimulator(SimConfig(mode="chaos", seed=11, time_scale=0.05, ping_interval=0.3, chaos=rates))
    await sim.start()
    try:
        # Several independent sessions at once, each with its own seeded chaos.
        performed = await asyncio.gather(*(_chaos_session(sim, f"chaos{n}") for n in range(3)))
    finally:
        await sim.stop()
    assert set.union(*performed) >= CHAOS_BEHAVIOURS


async def test_forced_drop_reconnects_with_resume_first_and_loses_nothing() -> None:
    sim = AgentSimulator(SimConfig(mode="normal", seed=3, time_scale=0.2, ping_interval=5))
    await sim.start()
    try:
        client = AgentClient(f"{sim.url}?session=d1", fast_engine())
        client.start()
        while not client.connected_once:
            await asyncio.sleep(0.01)
        client.send_user_message("write a long detailed document")
        while len(client.conversation.messages) < 2 or len(client.conversation.messages[-1].text) < 200:
            await asyncio.sleep(0.01)
        assert sim.drop("d1")
        while not client.idle:
            await asyncio.sleep(0.02)
        await client.close()
        reply = client.conversation.messages[-1]
        assert reply.text == sim.truth("d1").messages[-1].text
        resumes = [e for e in sim.log("d1") if isinstance(e, dict) and e.get("kind") == "resume"]
        assert len(resumes) == 1 and resumes[0].get("first") is True
        kinds = [e.kind for e in client.conversation.trace]
        assert "DISCONNECTED" in kinds and "RESUME" in kinds
    finally:
        await sim.stop()


async def test_the_simulator_http_endpoints_answer() -> None:
    sim = AgentSimulator(SimConfig())
    await sim.start()
    try:
        async with httpx.AsyncClient() as http:
            health = await http.get(f"{sim.http_url}/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            log = await http.get(f"{sim.http_url}/log")
            assert log.status_code == 200 and isinstance(log.json(), list)
    finally:
        await sim.stop()


async def test_unreachable_server_fails_the_recording_with_a_one_line_reason() -> None:
    client = AgentClient("ws://127.0.0.1:9/ws")
    with pytest.raises(RecordError, match=r"cannot reach ws://127\.0\.0\.1:9/ws"):
        await record(client, ["hello"], within=1.5)


async def test_an_unreachable_address_fails_the_recording_long_before_its_timeout_saying_why() -> None:
    client = AgentClient("ws://127.0.0.1:9/ws")
    started = time.monotonic()
    with pytest.raises(RecordError) as failure:
        await record(client, ["hello"], within=120)
    assert time.monotonic() - started < 10
    message = str(failure.value)
    assert "4 connection attempts failed" in message
    assert "nothing is listening at that address" in message and "Errno 111" in message
