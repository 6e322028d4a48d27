"""The session page shows what its session can do, as the session's capabilities declare it."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User

from console.capabilities import RECORDING, WATCHED
from console.clients import Target
from console.connection import ConnectionState, LinkStatus
from console.dialects import sse
from console.dialects.agent.engine import AgentEngine
from console.dialects.sse.client import SSEClient
from console.sim import sse as sse_sim
from console.store.follow import FollowedClient
from console.supervisor import Supervisor
from console.trace_io import export_jsonl, open_trace
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
        assert entry.client.capabilities == sse.DIALECT.capabilities and isinstance(entry.client, SSEClient)
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


async def test_a_recording_shows_an_interrupted_reply_without_offering_to_retry_it(user: User) -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("tell me more", 0.1)
    engine.receive(json.dumps({"type": "TOKEN", "seq": 1, "text": "Once upon", "stream_id": "s1"}), 0.2)
    replay = open_trace(export_jsonl(engine.conversation, wall_offset=1_000.0), "cut.jsonl")  # ends mid-reply
    assert replay.capabilities == RECORDING
    sup = open_sessions()
    sup.add(Target("agent", replay.url), name="cut", client=replay)
    await user.open("/session/cut")
    await user.should_see("Once upon")
    assert [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "interrupted"]
    assert not [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "retry-button"]
    await user.should_not_see(marker="chat-input")
    assert not [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "session-menu"]
