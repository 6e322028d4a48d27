"""The session page shows what its session can do, as the session's capabilities declare it."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from console.capabilities import STREAM, WATCHED
from console.clients import Target
from console.connection import ConnectionState, LinkStatus
from console.dialects.sse.client import SSEClient
from console.sim import sse as sse_sim
from console.store.follow import FollowedClient
from console.supervisor import Supervisor
from console.ui import page
from tests.helpers import OPENED, eventually, running

pytestmark = pytest.mark.usefixtures("close_sessions")


def open_sessions() -> Supervisor:
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    page.register(sup)
    return sup


async def test_a_session_fed_from_elsewhere_offers_no_input_and_no_connection_to_drop(user: User) -> None:
    sup = open_sessions()
    followed = FollowedClient("theirs", "agent=ws://127.0.0.1:9/ws")
    followed.conversation.set_link(LinkStatus(ConnectionState.OPEN, detail="following redis://"))
    assert followed.capabilities == WATCHED
    sup.add(Target("agent", "ws://127.0.0.1:9/ws"), name="theirs", client=followed)
    await user.open("/session/theirs")
    await user.should_see("theirs: shown as it comes; nothing is sent from here.")
    await user.should_not_see(marker="chat-input")
    await user.should_not_see(marker="example-prompt")
    assert not [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "session-menu"]


async def test_a_read_only_stream_offers_to_be_shown_again_from_its_start(user: User) -> None:
    async with running(sse_sim.SSESimulator(sse_sim.SimConfig(speed=50.0))) as sim:
        sup = open_sessions()
        entry = sup.add(Target("sse", sim.url), name="stream")
        assert entry.client.capabilities == STREAM and isinstance(entry.client, SSEClient)
        client = entry.client
        await user.open("/session/stream")
        await eventually(lambda: client.idle)
        await user.should_not_see(marker="chat-input")
        menus = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "session-menu"]
        assert len(menus) == 1  # a connection of its own, which can be dropped
        replays = [
            e for e in user.current_layout.descendants() if e.props.get("data-testid") == "replay-button"
        ]
        assert len(replays) == 1
        before = client.engine.connections
        user.find(content="Replay from the start").click()
        await eventually(lambda: client.engine.connections > before)
