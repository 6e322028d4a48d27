"""A chat page open for hours holds what the session's memory holds: the messages that left memory
leave the page too, the newest stay and go on streaming, and the page says where the rest is."""

from __future__ import annotations

import asyncio

from nicegui.testing import User

from console import events as ev
from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine
from console.limits import Limits
from console.session import Conversation
from console.supervisor import Supervisor
from console.ui import page
from console.window import HISTORY_DROPPED, Window
from tests.helpers import free_port


def _messages_on_page(user: User) -> list[str]:
    return [
        str(e.props.get("data-message-id"))
        for e in user.current_layout.descendants()
        if e.props.get("data-testid") == "message"
    ]


async def test_messages_that_left_memory_leave_the_open_page_and_the_newest_stream_on(user: User) -> None:
    conversation = Conversation(limits=Limits(window=Window(messages=6)))
    url = f"ws://127.0.0.1:{free_port()}/ws"  # nobody listens: the session stays offline
    client = AgentClient(url, AgentEngine(conversation))
    hub = Supervisor()
    hub.add(Target("agent", url), name="agent", client=client)
    page.register(hub)
    await user.open("/session/agent")
    for n in range(12):
        conversation.add_user_message(f"question {n}", float(n))
        conversation.apply(ev.TextDelta(f"s{n}", f"answer {n}"), float(n))
        conversation.apply(ev.StreamEnd(f"s{n}"), float(n))
        await asyncio.sleep(0)
    conversation.add_user_message("question 12", 12.0)
    conversation.apply(ev.TextDelta("s12", "still "), 12.0)
    conversation.apply(ev.TextDelta("s12", "streaming"), 12.1)
    await user.should_see(HISTORY_DROPPED)
    await user.should_not_see("answer 8")
    shown = [m.id for m in conversation.messages]
    for _ in range(100):  # the page draws the reply in flight at its next tick
        if _messages_on_page(user) == shown:
            break
        await asyncio.sleep(0.05)
    assert _messages_on_page(user) == shown
    assert conversation.messages[-1].text == "still streaming"
    assert len(conversation.messages) == 6 and conversation.messages_let_go == 20
    await hub.close()


async def test_show_earlier_counts_only_what_memory_still_holds(user: User) -> None:
    conversation = Conversation(limits=Limits(window=Window(messages=30)))
    for n in range(15):
        conversation.add_user_message(f"question {n}", float(n))
        conversation.apply(ev.TextDelta(f"s{n}", f"answer {n}"), float(n))
        conversation.apply(ev.StreamEnd(f"s{n}"), float(n))
    url = f"ws://127.0.0.1:{free_port()}/ws"
    hub = Supervisor()
    hub.add(Target("agent", url), name="agent", client=AgentClient(url, AgentEngine(conversation)))
    page.register(hub)
    await user.open("/session/agent")
    await user.should_see("Show earlier messages (10 more)")
    for n in range(15, 17):  # four more messages: the four oldest leave memory
        conversation.add_user_message(f"question {n}", float(n))
        conversation.apply(ev.TextDelta(f"s{n}", f"answer {n}"), float(n))
        conversation.apply(ev.StreamEnd(f"s{n}"), float(n))
    await user.should_see("Show earlier messages (6 more)")
    user.find(marker="chat-earlier").click()
    for _ in range(100):  # drawn a few per tick
        if len(_messages_on_page(user)) == 30:
            break
        await asyncio.sleep(0.05)
    assert _messages_on_page(user) == [m.id for m in conversation.messages]
    assert conversation.messages[0].text == "question 2"
    await hub.close()
