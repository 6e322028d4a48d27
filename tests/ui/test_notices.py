"""A page against a hostile upstream: notices are the session's state (a page opened after a flood of
server errors shows them, folded), and the text between garbage frames is drawn exactly, isolated."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.runtime import wslink
from console.supervisor import Supervisor
from console.ui import page
from console.ui.stream_text import StreamText
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
    hub = Supervisor()
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


async def test_text_interleaved_with_garbage_is_rendered_exactly(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.2)
    texts = ["Hello", " — ", "שלום", " \u202egnp.exe", "!"]

    async def script(peer: Peer) -> None:
        while not peer.sent("USER_MESSAGE"):
            await asyncio.sleep(0.02)
        seq = 1
        for text in texts:
            peer.send(frame(json.dumps({"type": "TOKEN", "seq": seq, "stream_id": "s1", "text": text})))
            peer.send(frame(b"\x00garbage", opcode=0x2))
            peer.send(
                frame(
                    '{"seq": ' + str(seq + 1) + ', "type": "ERROR", "message": ' + "[" * 300 + "]" * 300 + "}"
                )
            )
            seq += 2
        peer.send(frame(json.dumps({"type": "STREAM_END", "seq": seq, "stream_id": "s1"})))

    server = RawWebSocketServer(script)
    await server.start()
    hub = Supervisor()
    client = AgentClient(server.url)
    hub.add(Target("agent", server.url), name="agent", client=client)
    client.start()
    page.register(hub)
    await user.open("/session/agent")
    user.find(marker="chat-input").trigger("send", {"text": "go"})
    for _ in range(500):
        if client.conversation.messages[-1].status == "done":
            break
        await asyncio.sleep(0.02)
    reply = client.conversation.messages[-1]
    assert reply.text == "".join(texts)
    await user.open("/session/agent")  # the page as a new tab draws it, from the session
    view = next(e for e in user.current_layout.descendants() if e.props.get("data-message-id") == reply.id)
    runs = [e for e in view.descendants() if isinstance(e, StreamText)]
    assert "".join(str(e.props["text"]) for e in runs) == "".join(texts)
    assert all(e.props.get("dir") == "auto" for e in runs)
    await hub.close()
    await server.stop()
