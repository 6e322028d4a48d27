"""The chat-dialect console page through NiceGUI's simulated user, against the chat simulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nicegui import ui
from nicegui.testing import User

from console.clients import Target
from console.dialects.chat.client import ChatClient
from console.dialects.chat.engine import saved_ideas
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.supervisor import Supervisor
from console.ui import page
from console.ui.chat_hub import ChatHub
from console.ui.stream_text import FieldStream
from tests.helpers import OPENED, eventually, running, steady_backoff

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[ChatSimulator]:
    async with running(ChatSimulator(ChatSimConfig(token_delay=0.005, think_delay=0))) as simulator:
        yield simulator


async def open_console(user: User, sim: ChatSimulator) -> ChatClient:
    hub = Supervisor()
    OPENED.append(hub)
    client = ChatClient(sim.url, backoff_factory=steady_backoff)
    hub.add(Target("chat", sim.url), name="chat", client=client)
    page.register(hub)
    await user.open("/")
    await eventually(lambda: client.connected_once)
    return client


async def send(user: User, text: str) -> None:
    # What the browser's composer emits when Enter takes the text from the box.
    user.find(marker="chat-input").trigger("send", {"text": text})


def with_testid(user: User, testid: str, **props: str) -> list[ui.element]:
    return [
        e
        for e in user.current_layout.descendants()
        if e.props.get("data-testid") == testid and all(e.props.get(k) == v for k, v in props.items())
    ]


def labels(element: ui.element) -> list[ui.label]:
    return [e for e in element.descendants() if isinstance(e, ui.label)]


async def test_ideas_stream_into_cards_and_the_saved_list_which_exports_as_markdown(
    user: User, sim: ChatSimulator
) -> None:
    client = await open_console(user, sim)
    await user.should_see("Ideas the agent suggests are saved here.")
    await send(user, "suggest dinner ideas")
    await eventually(lambda: client.idle)
    ideas = [i.text for i in saved_ideas(client.conversation)]
    assert len(ideas) >= 2
    cards = with_testid(user, "component", **{"data-type": "idea"})
    assert [c.props["data-complete"] for c in cards] == ["true"] * len(ideas)
    # Each card is reachable by keyboard and named for a screen reader.
    slots = [c.parent_slot.parent for c in cards if c.parent_slot is not None]
    assert [(s.props.get("tabindex"), s.props.get("aria-label")) for s in slots] == [
        ("0", "idea card")
    ] * len(ideas)
    await eventually(lambda: len(with_testid(user, "saved-idea")) == len(ideas))
    shown = [label.text for item in with_testid(user, "saved-idea") for label in labels(item)]
    assert shown == ideas
    await user.should_see(f"Saved ideas ({len(ideas)})")
    user.find(marker="ideas-export").click()
    download = await user.download.next()
    assert download.text.splitlines() == ["# Ideas: suggest dinner ideas", "", *(f"- {i}" for i in ideas)]
    copy_buttons = user.find(marker="copy-idea").elements
    assert len(copy_buttons) == len(ideas)


async def test_an_idea_card_grows_by_appends_and_a_page_opened_later_draws_it_whole(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended: list[tuple[int, str]] = []  # what crosses to the browser, tick by tick
    apply = ChatHub.apply

    def record(hub: ChatHub, batch: list[tuple[int, str]]) -> None:
        appended.extend(batch)
        apply(hub, batch)

    monkeypatch.setattr(ChatHub, "apply", record)
    slow = ChatSimConfig(token_delay=0.1, think_delay=0, min_chunk=4)  # an idea's chunks over several ticks
    async with running(ChatSimulator(slow)) as sim:
        client = await open_console(user, sim)
        await send(user, "suggest dinner ideas")
        await eventually(lambda: client.idle)
        ideas = [i.text for i in saved_ideas(client.conversation)]
        fields = [e for e in user.current_layout.descendants() if isinstance(e, FieldStream)]
        assert len(fields) == len(ideas) >= 2
        for field, idea in zip(fields, ideas, strict=True):
            # Each card's text is exactly what streamed, each character sent once: the first chunk
            # with the card, the rest by appends.
            appends = [text for element_id, text in appended if element_id == field.id]
            assert len(appends) >= 1 and field.props["text"] + "".join(appends) == idea
        await user.open("/")  # a page opened later draws each card with its text at once
        later = [e for e in user.current_layout.descendants() if isinstance(e, FieldStream)]
        assert [field.props["text"] for field in later] == ideas


async def test_new_chat_opens_its_own_conversation_and_the_list_switches_between_them(
    user: User, sim: ChatSimulator
) -> None:
    client = await open_console(user, sim)
    first = client.active_id
    await send(user, "Hi! Please cat names")
    await eventually(lambda: client.idle)
    cats = client.conversation.messages[-1].text
    await user.should_see(content="Hi! Please cat names", marker="conversation-title")

    user.find(marker="new-chat").click()
    await eventually(lambda: len(client.conversations) == 2)
    second = client.active_id
    await eventually(lambda: user.back_history[-1].endswith(f"?chat={second}"))
    await user.should_see(content="New chat", marker="conversation-title")
    await user.should_not_see(cats)
    assert [
        e.props["data-chat-id"] for e in with_testid(user, "conversation-item", **{"data-active": "true"})
    ] == [second]
    await send(user, "suggest trip ideas")
    await eventually(lambda: client.is_idle(second) and bool(saved_ideas(client.conversations[second])))
    trips = saved_ideas(client.conversations[second])
    await user.should_see(content=trips[0].text, marker="saved-idea-text")
    assert client.conversations[first].messages[0].text == "Hi! Please cat names"
    assert len(client.conversations[first].messages) == 2  # the prompt went where the user typed it

    user.find(marker=f"chat-{first}").click()
    await eventually(lambda: user.back_history[-1].endswith(f"?chat={first}"))
    await user.should_see(cats.splitlines()[0])
    await user.should_not_see(trips[0].text)
    assert client.active_id == first
    assert with_testid(user, "saved-idea") == []


async def test_a_drop_mid_response_shows_it_interrupted_and_retry_answers_it(user: User) -> None:
    sim = ChatSimulator(ChatSimConfig(token_delay=0.01, think_delay=0))
    await sim.start()
    try:
        client = await open_console(user, sim)
        client.new_chat()  # the status chip works whichever conversation is shown
        await user.open("/")
        await user.should_see(content="Connected", marker="connection-status")
        await send(user, "Tell me a long story about rivers")
        messages = client.conversation.messages
        await eventually(lambda: messages[-1].role == "assistant" and len(messages[-1].text) > 10)
        client.drop()
        await user.should_see(content="Reconnecting", marker="connection-status")
        await eventually(lambda: bool(with_testid(user, "message", **{"data-status": "interrupted"})))
        await user.should_see("Interrupted: connection lost")
        await eventually(lambda: client.conversation.link.live)
        user.find("Retry").click()
        await eventually(lambda: client.idle and messages[-1].status == "done")
        assert messages[-1].text.startswith(messages[1].text)
        assert [m.status for m in messages] == ["sent", "interrupted", "sent", "done"]
    finally:
        await sim.stop()
