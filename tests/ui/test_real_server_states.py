"""What the chat says when the agent is unreachable or a reply broke off, through NiceGUI's simulated user.

Offline, a prompt is marked queued and the composer does not claim the agent is replying; the banner
does not promise to keep what never came. A broken-off reply is retried once however often Retry is
clicked, and its button goes away once the retry is sent.
"""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from websockets.asyncio.server import serve

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.supervisor import Supervisor
from console.ui import page
from tests.dialects.agent.test_stray_frames import ScriptedServer, end, tok
from tests.helpers import OPENED, eventually, free_port

pytestmark = pytest.mark.usefixtures("close_sessions")


async def open_console(user: User, client: AgentClient) -> None:
    hub = Supervisor()
    OPENED.append(hub)
    hub.add(Target("agent", client.url), name="agent", client=client)
    page.register(hub)
    await user.open("/")


async def send(user: User, text: str) -> None:
    # What the browser's composer emits when Enter takes the text from the box.
    user.find(marker="chat-input").trigger("send", {"text": text})


def with_testid(user: User, value: str) -> list[ui.element]:
    return [e for e in user.current_layout.descendants() if e.props.get("data-testid") == value]


def by_role(user: User, role: str) -> list[dict[str, object]]:
    return [dict(e.props) for e in user.current_layout.descendants() if e.props.get("data-role") == role]


async def test_offline_a_prompt_is_queued_and_nothing_claims_a_reply(user: User) -> None:
    client = AgentClient(f"ws://127.0.0.1:{free_port()}/ws", AgentEngine())
    await open_console(user, client)
    await user.should_see(content="nothing received yet", marker="connection-banner")
    await user.should_not_see(content="everything received is kept", marker="connection-banner")
    await send(user, "are you there?")
    await user.should_see("are you there?")
    assert [p["data-status"] for p in by_role(user, "user")] == ["queued"]
    await user.should_see("queued messages are sent when the connection is back")
    await user.should_not_see("The agent is replying")


async def test_retry_is_sent_once_and_its_button_goes_away(user: User) -> None:
    # The server answers the first prompt with one token and then nothing; the retry in full.
    server = ScriptedServer([[tok(1, "Part")], [tok(1, "Whole", "s2"), tok(2, "", "s2")]])
    async with serve(server.handle, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        client = AgentClient(f"ws://127.0.0.1:{port}/ws", AgentEngine(config=EngineConfig(idle_timeout=0.5)))
        await open_console(user, client)
        await eventually(lambda: client.connected_once, 5.0)
        await send(user, "tell me")
        await eventually(lambda: client.conversation.messages[-1].status == "interrupted", 5.0)
        await eventually(lambda: with_testid(user, "retry-button") != [], 5.0)
        retry = UserInteraction(user, set(with_testid(user, "retry-button")), None)
        retry.click()
        retry.click()  # a double click: the button is still there for the second one
        await eventually(lambda: with_testid(user, "retried") != [], 5.0)
        assert with_testid(user, "retry-button") == []
        for _ in range(100):
            if len(server.prompts) == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert server.prompts == ["tell me", "tell me"]
        assert [p["data-status"] for p in by_role(user, "user")] == ["sent", "sent"]


async def test_each_reply_is_shown_right_under_its_prompt_when_prompts_were_queued(user: User) -> None:
    server = ScriptedServer([[tok(1, "one"), end(2)], [tok(1, "two", "s2"), end(2, "s2")]])
    async with serve(server.handle, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        client = AgentClient(f"ws://127.0.0.1:{port}/ws", AgentEngine())
        await open_console(user, client)
        await eventually(lambda: client.connected_once, 5.0)
        await send(user, "first")
        await send(user, "second")  # queued: the first reply has not begun yet
        await eventually(lambda: client.idle and len(client.conversation.messages) == 4, 5.0)
        await asyncio.sleep(0.2)
        (chat,) = with_testid(user, "chat")
        shown = [
            (str(e.props["data-role"]), str(e.props["data-status"]))
            for e in chat.default_slot.children
            if e.props.get("data-testid") == "message"
        ]
        assert shown == [("user", "sent"), ("assistant", "done"), ("user", "sent"), ("assistant", "done")]
        texts = [m.text for m in client.conversation.messages]
        assert texts == ["first", "one", "second", "two"]
