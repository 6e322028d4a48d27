"""What a new user meets first, through NiceGUI's simulated user: example prompts, a way back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import Supervisor
from console.ui import page
from tests.helpers import OPENED, running

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=5, time_scale=0.1, ping_interval=0.5))) as simulator:
        yield simulator


async def test_an_empty_session_offers_example_prompts_that_the_agent_answers(
    user: User, sim: AgentSimulator
) -> None:
    hub = Supervisor()
    OPENED.append(hub)
    client = AgentClient(f"{sim.url}?session=examples")
    hub.add(Target("agent", client.url), name="agent", client=client)
    page.register(hub)
    await user.open("/")
    await user.should_see("Try asking:")
    user.find("Analyze and compare the trends").click()
    await user.should_see("compare_segments", retries=200)  # the agent's multi-tool reply
    assert [m.text for m in client.conversation.messages if m.role == "user"] == [
        "Analyze and compare the trends"
    ]
    await user.should_not_see(marker="example-prompt")  # the conversation has begun


async def test_a_missing_session_says_so_and_offers_the_way_back(user: User) -> None:
    hub = Supervisor()
    OPENED.append(hub)
    page.register(hub)
    await user.open("/session/gone")
    await user.should_see("There is no session 'gone' here.")
    user.find("← All sessions").click()
    await user.should_see("Add session")  # the overview


async def test_spans_sent_over_otlp_are_a_live_read_only_session_not_a_replay(user: User) -> None:
    from console.otel.receive import ReceivedTraces

    hub = Supervisor()
    OPENED.append(hub)
    received = ReceivedTraces("shop-agent", 1_767_225_600_000_000_000)
    hub.add(Target("agent", received.url), name="otlp shop-agent", client=received)
    hub.add(Target("agent", "ws://127.0.0.1:9/ws"), name="other")
    page.register(hub)
    await user.open("/session/otlp-shop-agent")
    await user.should_see("Spans otlp shop-agent sends to this console (OTLP)")
    await user.should_not_see("Replay")
    await user.should_not_see("Try asking:")
    await user.should_not_see(marker="chat-input")
