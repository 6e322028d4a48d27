"""The agent simulator in a process of its own: it answers a session over loopback like the embedded
one, and it never outlives the console that started it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from console.autopilot import open_streams
from console.dashboard import Embedded
from console.dialects.agent.client import AgentClient
from console.sim.agent import AgentSimulator
from console.sim.agent_truth import TruthWindow
from console.sim.process import (
    PROCESS_FROM,
    ROOT,
    SESSIONS_PER_PROCESS,
    SimulatorFleet,
    SimulatorProcess,
    processes_for,
)
from console.supervisor import Supervisor
from tests.helpers import converse, eventually


async def test_a_session_talks_to_the_simulator_process_and_stop_ends_it() -> None:
    sim = SimulatorProcess()
    await sim.start("normal", seed=3, time_scale=0.02)
    client = AgentClient(sim.url)
    client.start()
    try:
        await converse(client, ["hello there"])
        reply = client.conversation.messages[-1]
        assert reply.role == "assistant" and reply.status == "done" and reply.text
        async with httpx.AsyncClient() as http:
            health = (await http.get(f"{sim.http_url}/health", timeout=5)).json()
        # What a benchmark reads: the frames it wrote, and that it kept its script's pace.
        assert health["status"] == "ok" and health["frames"] >= 3 and health["waits"] > 0
        assert health["let_go_s"] == 0
    finally:
        await client.close()
        pid = sim.pid
        await sim.stop()
    assert pid is not None and sim.pid is None
    with pytest.raises(ProcessLookupError):  # ended and reaped
        os.kill(pid, 0)


async def test_the_child_stops_when_its_parent_goes_away(tmp_path: Path) -> None:
    # A console killed with SIGKILL says nothing to its child: the child ends when its stdin closes.
    script = tmp_path / "parent.py"
    script.write_text(
        "import asyncio, os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from console.sim.process import SimulatorProcess\n"
        "async def main():\n"
        "    sim = SimulatorProcess()\n"
        "    await sim.start('normal', 0, 1.0)\n"
        "    print(sim.pid, flush=True)\n"
        "    os.kill(os.getpid(), 9)\n"
        "asyncio.run(main())\n"
    )
    parent = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(parent.communicate(), 30)
    child = int(out)
    await eventually(lambda: not _alive(child), seconds=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_many_autopiloted_sessions_get_the_simulator_in_a_process_and_few_the_embedded_one() -> None:
    many, few, asked = Embedded(), Embedded(), Embedded()
    await many.start("normal", 0, 1.0, streams=PROCESS_FROM)
    await few.start("normal", 0, 1.0, streams=PROCESS_FROM - 1)
    await asked.start("normal", 0, 1.0, streams=PROCESS_FROM, processes=0)  # --sim-processes 0
    try:
        assert isinstance(asked.agent, AgentSimulator)
        assert isinstance(many.agent, SimulatorFleet) and len(many.agent.processes) == 1
        assert all(many.agent.pids)
        assert isinstance(few.agent, AgentSimulator)
        async with httpx.AsyncClient() as http:
            health = await http.get(f"{many.describe()['agent']['http']}/health", timeout=5)
        assert health.status_code == 200
    finally:
        await many.stop()
        await few.stop()
        await asked.stop()
    assert isinstance(many.agent, SimulatorFleet) and many.agent.pids == [None]


def test_the_sessions_are_spread_over_the_cores_the_console_leaves() -> None:
    assert processes_for(PROCESS_FROM - 1, cores=4) == 0
    assert processes_for(PROCESS_FROM, cores=4) == 1
    assert processes_for(SESSIONS_PER_PROCESS, cores=4) == 1
    assert processes_for(SESSIONS_PER_PROCESS + 1, cores=4) == 2
    assert processes_for(10 * SESSIONS_PER_PROCESS, cores=4) == 3  # one core is the console's
    assert processes_for(10 * SESSIONS_PER_PROCESS, cores=2) == 1
    assert processes_for(10 * SESSIONS_PER_PROCESS, cores=1) == 1


async def test_a_fleet_serves_each_session_from_one_process_and_every_process_stops_with_it() -> None:
    fleet = Embedded()
    await fleet.start("normal", 3, 0.02, streams=PROCESS_FROM, processes=2)  # as --sim-processes 2
    assert isinstance(fleet.agent, SimulatorFleet)
    processes = fleet.agent.processes
    assert len(processes) == 2 and len(set(fleet.agent.urls)) == 2
    assert set(fleet.describe()) >= {"agent", "agent.2"}
    assert [t.url for t in fleet.served() if t.dialect == "agent"] == fleet.agent.urls
    supervisor = Supervisor()
    supervisor.start()
    try:
        ids = open_streams(supervisor, fleet.agent_urls, 4, seed=3, time_scale=0.02)
        urls = [entry.target.url for entry in map(supervisor.get, ids) if entry is not None]
        # Dealt out in turn, each session always on the same process.
        assert [url.split("?")[0] for url in urls] == [processes[i % 2].url for i in range(4)]
        entries = [supervisor.get(i) for i in ids]

        def all_replied() -> bool:
            return all(
                e is not None
                and any(m.role == "assistant" and m.status == "done" for m in e.client.conversation.messages)
                for e in entries
            )

        await eventually(all_replied, seconds=30)
        async with httpx.AsyncClient() as http:
            for n in range(4):
                name, process, other = f"agent-{n + 1:02d}", processes[n % 2], processes[1 - n % 2]
                mine = (await http.get(f"{process.http_url}/truth", params={"session": name})).json()
                theirs = (await http.get(f"{other.http_url}/truth", params={"session": name})).json()
                assert mine["messages"] and not theirs["messages"]
    finally:
        await supervisor.close()
        pids = fleet.agent.pids
        await fleet.stop()
    assert all(pids) and fleet.agent.pids == [None, None]
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_the_simulator_process_keeps_its_truth_within_the_window_it_is_given() -> None:
    sim = SimulatorProcess()
    await sim.start("normal", seed=3, time_scale=0.02, truth=TruthWindow(messages=2))
    client = AgentClient(sim.url)
    client.start()
    try:
        await converse(client, ["hello there", "what can you do for me"])
        async with httpx.AsyncClient() as http:
            truth = (await http.get(f"{sim.http_url}/truth", timeout=5)).json()
    finally:
        await client.close()
        await sim.stop()
    # Two prompts and two replies were generated: the newest prompt and its reply are kept.
    assert [m["role"] for m in truth["messages"]] == ["user", "assistant"]
    assert truth["messages"][0]["text"] == "what can you do for me"
