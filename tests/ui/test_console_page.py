"""The console page through NiceGUI's simulated user, against the real simulator over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.supervisor import Supervisor
from console.ui import page
from console.ui.stream_text import StreamText
from tests.helpers import OPENED, eventually, running, steady_backoff

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=5, time_scale=0.2, ping_interval=0.5))) as simulator:
        yield simulator


async def open_console(user: User, sim: AgentSimulator, session: str = "ui") -> AgentClient:
    hub = Supervisor()
    OPENED.append(hub)
    engine = AgentEngine(config=EngineConfig(gap_timeout=1.0))
    client = AgentClient(f"{sim.url}?session={session}", engine, backoff_factory=steady_backoff)
    hub.add(Target("agent", client.url), name="agent", client=client)
    page.register(hub)
    await user.open("/")
    for _ in range(200):
        if client.connected_once:
            break
        await asyncio.sleep(0.01)
    return client


async def send(user: User, text: str) -> None:
    # What the browser's composer emits when Enter takes the text from the box.
    user.find(marker="chat-input").trigger("send", {"text": text})


async def test_a_reply_streams_with_its_tool_card_between_two_text_runs(
    user: User, sim: AgentSimulator
) -> None:
    client = await open_console(user, sim)
    await send(user, "summarize the q3 report")
    await user.should_see("summarize the q3 report")
    await user.should_see("lookup_metric")
    card_roots = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "tool-card"]
    assert len(card_roots) == 1
    assert card_roots[0].props["data-status"] in ("waiting", "done")
    await eventually(lambda: client.idle and card_roots[0].props["data-status"] == "done")
    reply = [e for e in user.current_layout.descendants() if e.props.get("data-role") == "assistant"]
    assert len(reply) == 1
    await eventually(lambda: reply[0].props["data-status"] == "done")
    runs = [e for e in reply[0].descendants() if isinstance(e, StreamText)]
    assert len(runs) == 2  # the text before the card stays frozen; the rest continues after it


async def test_only_the_chat_and_the_timeline_hear_each_token(user: User, sim: AgentSimulator) -> None:
    """The status chip, banner, composer and inspector follow the link and the messages, not each
    token: on a streaming reply every listener told of each delta costs the server a call per token."""
    client = await open_console(user, sim)
    await user.should_see(content="Connected", marker="connection-status")
    assert len(client.conversation.row_listeners) == 2
    await send(user, "summarize the q3 report")
    await user.should_see("lookup_metric")
    client.drop()  # the coarse listeners still hear the link
    await user.should_see(content="Reconnecting", marker="connection-status")
    await user.should_see(content="attempt 1", marker="connection-banner")


async def test_the_connection_indicator_shows_a_drop_and_the_recovery(
    user: User, sim: AgentSimulator
) -> None:
    client = await open_console(user, sim)
    await user.should_see(content="Connected", marker="connection-status")
    client.drop()
    await user.should_see(content="Reconnecting", marker="connection-status")
    await user.should_see(content="attempt 1", marker="connection-banner")
    await eventually(lambda: client.conversation.link.live)
    await user.should_see(content="Connected", marker="connection-status")
    await user.should_not_see(marker="connection-banner")


async def test_reopening_the_page_mid_stream_shows_everything_so_far(user: User, sim: AgentSimulator) -> None:
    client = await open_console(user, sim)
    await send(user, "write a long detailed document")
    await eventually(
        lambda: len(client.conversation.messages) == 2 and len(client.conversation.messages[1].text) > 80
    )
    await user.open("/")  # a reload: the page is rebuilt from the session model
    reply = client.conversation.messages[1]
    reply_view = next(
        e for e in user.current_layout.descendants() if e.props.get("data-message-id") == reply.id
    )
    shown = "".join(str(e.props["text"]) for e in reply_view.descendants() if isinstance(e, StreamText))
    assert shown and reply.text.startswith(shown)
    assert reply.status == "streaming"


async def test_server_errors_show_inline_and_the_conversation_goes_on(user: User) -> None:
    sim = AgentSimulator(SimConfig(mode="chaos", seed=2, time_scale=0.1, chaos=ChaosRates.only(error=1.0)))
    await sim.start()
    try:
        client = await open_console(user, sim)
        await send(user, "hello")
        await eventually(lambda: bool(client.conversation.notices) and client.idle)
        notice = client.conversation.notices[0].text
        await user.should_see(notice)
        assert client.conversation.messages[-1].status == "done"
    finally:
        await sim.stop()


async def test_the_index_lists_every_session_with_its_state(user: User, sim: AgentSimulator) -> None:
    hub = Supervisor()
    for name in ("alpha", "beta"):
        hub.add(Target("agent", f"{sim.url}?session={name}"), name=name)
    OPENED.append(hub)
    page.register(hub)
    await user.open("/")
    await user.should_see("alpha")
    await user.should_see("beta")
    cards = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "session-card"]
    assert sorted(str(c.props["data-session-id"]) for c in cards) == ["alpha", "beta"]
