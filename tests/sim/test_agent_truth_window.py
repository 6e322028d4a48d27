"""The agent simulator's ground truth stays within a memory window, the same one a console keeps: a
demo can run for days, and a console with that window still equals the truth."""

from __future__ import annotations

from console import jsonvalue
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.limits import Limits
from console.record import record
from console.session import Conversation
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.sim.agent_context import Recorder
from console.sim.agent_state import Session
from console.sim.agent_truth import TruthWindow
from console.window import Window
from tests.helpers import assert_same_transcript

PROMPTS = [
    "hello",
    "summarize the q3 report",
    "lookup churn definition",
    "show the database schema",
    "analyze and compare the regions",
    "what can you do for me",
]
MESSAGES, VERSIONS, BYTES = 4, 3, 1_200_000  # the last two prompts and replies; a 500 KB+ snapshot each


async def test_a_console_with_the_same_window_equals_the_truth_and_both_stay_within_it() -> None:
    rates = ChaosRates.only(oversized=1.0)  # every reply carries a 500 KB+ snapshot
    truth = TruthWindow(MESSAGES, VERSIONS, BYTES)
    sim = AgentSimulator(SimConfig(mode="chaos", seed=5, time_scale=0.05, chaos=rates, truth=truth))
    await sim.start()
    try:
        window = Window(context_versions=VERSIONS, snapshot_bytes=BYTES, messages=MESSAGES)
        conversation = Conversation(limits=Limits(window=window))
        client = AgentClient(f"{sim.url}?session=w", AgentEngine(conversation, EngineConfig(gap_timeout=1.0)))
        result = await record(client, PROMPTS, within=120)
        kept = sim.truth("w")
    finally:
        await sim.stop()
    assert_same_transcript(result.transcript, kept)
    # Twelve messages and six half-megabyte snapshots were generated; the truth keeps its window.
    assert len(kept.messages) == MESSAGES
    assert kept.messages[-1].text and kept.messages[-2].text == PROMPTS[-1]
    snapshots = [jsonvalue.dumps_bytes(s) for history in kept.contexts.values() for s in history]
    assert all(len(h) <= VERSIONS for h in kept.contexts.values())
    assert sum(len(s) for s in snapshots) <= BYTES
    assert max(len(s) for s in snapshots) > 500_000  # the newest big one is there


def test_the_servers_log_keeps_its_newest_entries() -> None:
    recorder = Recorder(limit=100)
    session = Session("s", seed=0)
    for n in range(250):
        recorder.record(session, None, "pong", "ok", n=n)
    assert [e["n"] for e in recorder.of("s") if isinstance(e, dict)] == list(range(150, 250))
