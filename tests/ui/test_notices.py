"""Notices are the session's state: a page opened after a flood of server errors shows them, folded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from console.clients import Target
from console.sessions import SessionHub
from console.transport import wslink
from console.transport.websocket import AgentClient
from console.ui import page
from tests.hostile.servers import Peer, RawWebSocketServer, frame

ERRORS = 300


@pytest.fixture
async def flooded(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AgentClient]:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.2)  # this server never answers a closing handshake

    async def script(peer: Peer) -> None:
        for seq in range(1, ERRORS + 1):
            text = "overloaded" if seq <= ERRORS - 1 else "giving up"
            peer.send(frame(json.dumps({"type": "ERROR", "seq": seq, "code": "E", "message": text})))

    server = RawWebSocketServer(script)
    await server.start()
    client = AgentClient(server.url)
    yield client
    await client.close()
    await server.stop()


async def test_a_page_opened_after_a_flood_of_errors_shows_its_notices_folded(
    user: User, flooded: AgentClient
) -> None:
    hub = SessionHub()
    hub.add(Target("agent", flooded.url), name="agent", client=flooded)
    flooded.start()
    for _ in range(500):
        if flooded.conversation.received >= ERRORS:
            break
        await asyncio.sleep(0.02)
    assert [(n.text, n.repeats) for n in flooded.conversation.notices] == [
        ("E: overloaded", ERRORS - 1),
        ("E: giving up", 1),
    ]
    page.register(hub)
    await user.open("/session/agent")
    await user.should_see(f"E: overloaded (×{ERRORS - 1})")
    await user.should_see("E: giving up")
    await hub.close()
