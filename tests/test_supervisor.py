"""The supervisor, the autopilot and /metrics against the real agent simulator over loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from console import metrics
from console.autopilot import Autopilot, AutopilotConfig, client_of, open_streams
from console.clients import SessionClient, Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.monitor import CRASHED
from console.readonly_client import ReadOnlyClient
from console.session import Conversation
from console.sessions import ClientReplaced, SessionEvent, SessionOpened, SessionRemoved
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.supervisor import RestartPolicy, Supervisor
from tests.helpers import eventually, running

FAST = RestartPolicy(initial=0.4, factor=2.0, cap=1.0, stable_after=30.0)
LONG = "write a long detailed document"


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=3, time_scale=0.1, ping_interval=0.5))) as simulator:
        yield simulator


@pytest.fixture
async def supervisor() -> AsyncIterator[Supervisor]:
    sup = Supervisor(policy=FAST, sample_interval=0.2, close_timeout=0.5)
    sup.start()
    yield sup
    await sup.close()


def quick_client(target: Target) -> SessionClient:
    return AgentClient(target.url, AgentEngine(config=EngineConfig(gap_timeout=0.5)))


class CrashingClient(AgentClient):
    """A client with a bug: its task dies shortly after it starts."""

    async def run(self) -> None:
        await asyncio.sleep(0.3)
        raise RuntimeError("boom")


class StubbornClient(AgentClient):
    """A client that never finishes closing."""

    async def close(self) -> None:
        await asyncio.Event().wait()


def tokens(sup: Supervisor, session_id: str) -> int:
    health = sup.health(session_id)
    assert health is not None
    return health.tokens


def target(sim: AgentSimulator, session: str) -> Target:
    return Target("agent", f"{sim.url}?session={session}")


async def test_a_crashed_session_is_shown_restarted_and_the_others_keep_streaming(
    sim: AgentSimulator, supervisor: Supervisor
) -> None:
    steady = [supervisor.add(target(sim, f"steady-{n}"), name=f"steady-{n}") for n in (1, 2)]
    await eventually(lambda: all(e.client.connected_once for e in steady))
    for entry in steady:
        entry.client.send_user_message(LONG)
    flaky = supervisor.add(
        target(sim, "flaky"),
        name="flaky",
        client=CrashingClient(target(sim, "flaky").url),
        factory=quick_client,
    )
    crashed_client = flaky.client

    await eventually(lambda: (h := supervisor.health("flaky")) is not None and h.state == CRASHED)
    health = supervisor.health("flaky")
    assert health is not None
    assert health.crashes == 1 and "RuntimeError: boom" in health.detail
    assert health.restart_in is not None and health.restart_in > 0
    assert health.failing
    notices = [n.text for n in crashed_client.conversation.notices if n.level == "error"]
    assert any("crashed" in text and "boom" in text for text in notices)

    # While it is down and waiting to restart, the others stream on.
    before = [tokens(supervisor, e.id) for e in steady]
    await asyncio.sleep(0.3)
    assert all(tokens(supervisor, e.id) > b for e, b in zip(steady, before, strict=True))

    await eventually(lambda: (h := supervisor.health("flaky")) is not None and h.state == "open", 5)
    assert flaky.client is not crashed_client
    assert any("restarted after a crash" in n.text for n in flaky.client.conversation.notices)
    health = supervisor.health("flaky")
    assert health is not None and health.crashes == 1 and health.last_crash.endswith("boom")

    # The new client is a working session.
    flaky.client.send_user_message("hello")
    await eventually(lambda: flaky.client.idle and len(flaky.client.conversation.messages) == 2)
    assert flaky.client.conversation.messages[-1].status == "done"


async def test_a_restart_on_request_goes_on_with_the_conversation_and_tells_subscribers(
    sim: AgentSimulator, supervisor: Supervisor
) -> None:
    events: list[SessionEvent] = []
    unsubscribe = supervisor.subscribe(events.append)
    entry = supervisor.add(target(sim, "asked"), name="asked", factory=quick_client)
    first = entry.client
    await eventually(lambda: first.connected_once)
    first.send_user_message("hello")
    await eventually(lambda: first.idle and len(first.conversation.messages) == 2)

    assert await supervisor.restart("asked")
    assert entry.client is not first and supervisor.get("asked") is entry
    await eventually(lambda: entry.client.connected_once)
    assert [m.text for m in entry.client.conversation.messages] == [
        m.text for m in first.conversation.messages
    ]
    assert any(n.text == "restarted on request" for n in entry.client.conversation.notices)
    entry.client.send_user_message("summarize the q3 report")
    await eventually(lambda: entry.client.idle and len(entry.client.conversation.messages) == 4)
    health = supervisor.health("asked")
    assert health is not None and health.state == "open" and health.crashes == 0

    assert not await supervisor.restart("nobody")
    # A session fed from elsewhere has no connection of its own to make again.
    shown = ReadOnlyClient("trace:t", "replay t", Conversation(), "a trace")
    looked_at = supervisor.add(Target("agent", shown.url), name="looked-at", client=shown)
    assert not await supervisor.restart("looked-at") and looked_at.client is shown
    await supervisor.remove("asked")
    await supervisor.remove("looked-at")
    assert events == [
        SessionOpened(entry),
        ClientReplaced(entry),
        SessionOpened(looked_at),
        SessionRemoved("asked"),
        SessionRemoved("looked-at"),
    ]
    unsubscribe()
    supervisor.add(target(sim, "later"), name="later")
    assert len(events) == 5  # unsubscribed: told nothing more


async def test_sessions_a_closing_console_stops_are_not_told_as_removed(sim: AgentSimulator) -> None:
    sup = Supervisor(policy=FAST, close_timeout=0.5)
    events: list[SessionEvent] = []
    sup.subscribe(events.append)
    entry = sup.add(target(sim, "kept"), name="kept")
    await sup.close()
    assert events == [SessionOpened(entry)]  # the journal keeps it, to restore it on the next start


async def test_a_session_that_hangs_never_delays_another(sim: AgentSimulator, supervisor: Supervisor) -> None:
    # An upstream that accepts TCP and then says nothing, and a client that never finishes closing.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        stuck = supervisor.add(Target("agent", f"ws://127.0.0.1:{port}/ws"), name="stuck")
        stubborn = supervisor.add(
            target(sim, "stubborn"), name="stubborn", client=StubbornClient(target(sim, "stubborn").url)
        )
        live = supervisor.add(target(sim, "live"), name="live")
        await eventually(lambda: live.client.connected_once and stubborn.client.connected_once)
        live.client.send_user_message("summarize the q3 report")
        started = asyncio.get_running_loop().time()
        await eventually(lambda: live.client.idle and len(live.client.conversation.messages) == 2)
        assert asyncio.get_running_loop().time() - started < 5
        health = supervisor.health("stuck")
        assert health is not None and health.state == "connecting" and health.events == 0

        # Removing the session whose close hangs takes no longer than the bound, and the card goes at once.
        removal = asyncio.ensure_future(supervisor.remove(stubborn.id))
        await asyncio.sleep(0)
        assert "stubborn" not in supervisor.ids
        await asyncio.wait_for(removal, 2.0)
        live.client.send_user_message("hello")
        await eventually(lambda: live.client.idle and len(live.client.conversation.messages) == 4)
        assert stuck.id in supervisor.ids
    finally:
        silent.close()


async def test_health_reports_rates_reconnects_tools_and_the_reply_tail() -> None:
    chaos = AgentSimulator(
        SimConfig(mode="chaos", seed=11, time_scale=0.1, ping_interval=0.5, chaos=ChaosRates.only(drop=1.0))
    )
    await chaos.start()
    sup = Supervisor(policy=FAST, sample_interval=0.2, close_timeout=0.5)
    sup.start()
    try:
        entry = sup.add(target(chaos, "h"), name="h", factory=quick_client)
        await eventually(lambda: entry.client.connected_once)
        entry.client.send_user_message("summarize the q3 report")
        seen_tool = False
        for _ in range(1000):
            health = sup.health("h")
            assert health is not None
            seen_tool = seen_tool or health.pending_tools > 0
            if entry.client.idle and health.reconnects >= 1:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.45)  # two sampling rounds
        health = sup.health("h")
        assert health is not None
        reply = entry.client.conversation.messages[-1]
        assert reply.status == "done"
        assert seen_tool
        assert health.reconnects >= 1  # the chaos drop
        assert health.tokens > 10 and health.events > health.tokens
        assert health.tail and reply.text.endswith(health.tail.rstrip()[-20:])
        assert health.seq is not None
        assert health.seq.received >= health.seq.applied > 0 and health.seq.held == 0
        assert health.since_last_event is not None and health.since_last_event < 5
        assert len(health.history) >= 2 and max(health.history) > 0
        summary = sup.summary()
        assert summary.sessions == 1 and summary.reconnects == health.reconnects
    finally:
        await sup.close()
        await chaos.stop()


async def test_the_autopilot_prompts_after_each_reply_and_stops_when_paused(
    sim: AgentSimulator, supervisor: Supervisor
) -> None:
    entry = supervisor.add(target(sim, "pilot"), name="pilot")
    pilot = Autopilot(
        client_of(supervisor, entry.id),
        seed=1,
        # A poll far longer than the test: the pilot types again because the reply's end woke it.
        config=AutopilotConfig(think=(0.05, 0.1), first=(0.0, 0.0), poll=60.0),
    )
    supervisor.attach(entry.id, pilot)
    pilot.start()
    conversation = entry.client.conversation
    await eventually(lambda: pilot.sent >= 3, 30)
    # It looks whether the session is ready once it shows it open again, not at every change of what
    # it shows within a reply (streaming, a tool call pending, streaming again): two looks a prompt.
    assert pilot.looks <= 2 * pilot.sent + 1, (pilot.looks, pilot.sent)
    pilot.pause()
    health = supervisor.health(entry.id)
    assert health is not None and health.driver == "paused"
    await eventually(lambda: entry.client.idle, 15)
    sent = pilot.sent
    await asyncio.sleep(0.5)
    assert pilot.sent == sent

    # One reply at a time: every prompt came after the previous reply had ended.
    roles = [m.role for m in conversation.messages]
    assert roles[:6] == ["user", "assistant"] * 3
    prompts = [m.text for m in conversation.messages if m.role == "user"]
    assert len(set(prompts)) > 1  # varied
    assert all(m.status == "done" for m in conversation.messages if m.role == "assistant")

    # Removing the session stops its autopilot.
    await supervisor.remove(entry.id)
    await asyncio.sleep(0.1)
    assert pilot.sent == sent


async def test_a_pilot_types_into_the_new_client_of_a_session_restarted_while_it_waited(
    sim: AgentSimulator, supervisor: Supervisor
) -> None:
    # A poll far longer than the test: the pilot looks at the new client because it is told of it.
    pacing = AutopilotConfig(think=(0.05, 0.1), first=(0.0, 0.0), poll=60.0)
    [session_id] = open_streams(supervisor, sim.url, 1, config=pacing)
    entry = supervisor.get(session_id)
    pilot = supervisor.driver(session_id)
    assert entry is not None and isinstance(pilot, Autopilot)
    first = entry.client
    await eventually(lambda: pilot.sent >= 1 and not first.idle, 15)  # it waits for the reply's end
    sent = pilot.sent
    assert await supervisor.restart(session_id)
    assert entry.client is not first
    await eventually(lambda: pilot.sent > sent, 10)
    prompts = [m for m in entry.client.conversation.messages if m.role == "user"]
    assert len(prompts) == pilot.sent  # every prompt, the new client's included, is in the session


METRIC_LINE = re.compile(r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eInfNa]+$')


async def test_metrics_are_valid_prometheus_text_with_every_session(
    sim: AgentSimulator, supervisor: Supervisor
) -> None:
    lag = metrics.LoopLag(interval=0.01)
    lag.start()
    try:
        for n, name in enumerate(("one", 'tricky "two" \\ x')):
            supervisor.add(target(sim, f"m{n}"), name=name)
        await eventually(lambda: all(supervisor.sessions[s].client.connected_once for s in supervisor.ids))
        await asyncio.sleep(0.1)
        text = metrics.render(supervisor, lag)
    finally:
        await lag.stop()
    lines = text.splitlines()
    samples = [line for line in lines if not line.startswith("#")]
    assert [line for line in samples if not METRIC_LINE.match(line)] == []
    families = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(families) == len(set(families))  # each family once
    assert 'name="tricky \\"two\\" \\\\ x"' in text
    by_state = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^agent_console_sessions\{state="(\w+)"\} (\S+)$', text, re.MULTILINE)
    }
    assert sum(by_state.values()) == 2 and by_state["open"] == 2
    for sid in supervisor.ids:
        assert f'agent_console_session_up{{session="{sid}",dialect="agent"}} 1' in text
    assert re.search(r'^agent_console_event_loop_lag_seconds_bucket\{le="\+Inf"\} [1-9]', text, re.MULTILINE)
    assert re.search(r"^process_cpu_seconds_total \d", text, re.MULTILINE)


async def test_a_scrape_is_built_a_slice_at_a_time_and_says_what_render_says(
    sim: AgentSimulator, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        supervisor.add(target(sim, f"s{n}"), name=f"agent {n}")
    await eventually(lambda: all(supervisor.sessions[s].client.connected_once for s in supervisor.ids))
    monkeypatch.setattr(metrics, "SLICE_SECONDS", 0.0)  # a slice at every step
    turns = 0

    async def other_work() -> None:  # what else the loop runs: pages, PONGs, timers
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    worker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    try:
        before = turns
        scraped = await metrics.scrape(supervisor)
        during = turns - before
    finally:
        worker.cancel()
    assert during >= 3  # the loop went round between the sessions' slices

    def series(text: str) -> list[str]:  # values move between two scrapes a moment apart
        return [line if line.startswith("#") else line.rsplit(" ", 1)[0] for line in text.splitlines()]

    assert series(scraped) == series(metrics.render(supervisor))
