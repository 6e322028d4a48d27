"""What a streamed idea costs the page, counted rather than timed: a chunk costs its idea card its own
characters, never the idea so far, and an idea that completes costs the saved list that idea alone.

A real chat engine takes the frames; the real card and saved list are in a NiceGUI page (User fixture).
The counts are of whole values read: a card that joined, validated or compared the text so far on each
tick would read the square of the idea's length, which no timing on a shared machine shows reliably."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import pytest
from nicegui import ui
from nicegui.testing import User

from components.idea import IdeaView
from console.dialects.chat import engine as engine_module
from console.dialects.chat.client import ChatClient
from console.dialects.chat.engine import ChatEngine, SavedIdea, saved_ideas
from console.jsonvalue import JsonValue
from console.limits import Limits
from console.session import Block, ComponentBlock, Message, TextBlock
from console.ui import chat_session
from console.ui.cards import ComponentCard
from console.ui.chat_session import SavedIdeas
from console.ui.stream_text import FieldStream
from console.window import Window

pytestmark = pytest.mark.nicegui_main_file("")

CHAT = "chat1"
CHUNKS = 2_000


def engine() -> ChatEngine:
    ids: Iterator[str] = iter([CHAT, "chat2"])
    e = ChatEngine(new_id=lambda: next(ids))
    e.connected(0.0)
    e.send_user_message("ideas please", 0.0)
    e.data_to_send()
    return e


def idea(chunk: str, done: bool = False) -> str:
    return json.dumps({"tag": "idea", "chunk": chunk, "chatId": CHAT, "done": done})


def end_of_reply(e: ChatEngine) -> None:
    e.receive(json.dumps({"tag": "message", "chunk": "ok", "chatId": CHAT, "done": True}), 1.0)
    e.receive(json.dumps({"tag": "done", "chatId": CHAT}), 1.0)


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the characters of streamed text joined into one string and of every field value an idea
    view is given (what it validates and compares)."""
    read = [0]
    join = TextBlock.join

    def joined(block: TextBlock) -> None:
        if len(block.parts) > 1:
            read[0] += block.length
        join(block)

    shown = IdeaView.update

    def update(view: IdeaView, fields: Mapping[str, JsonValue], complete: bool) -> None:
        read[0] += sum(len(v) for v in fields.values() if isinstance(v, str))
        shown(view, fields, complete)

    monkeypatch.setattr(TextBlock, "join", joined)
    monkeypatch.setattr(IdeaView, "update", update)
    return read


def the_idea(e: ChatEngine) -> ComponentBlock:
    (block,) = [b for b in e.conversation.messages[-1].blocks if isinstance(b, ComponentBlock)]
    return block


async def test_each_chunk_of_a_long_idea_costs_its_card_the_new_characters_alone(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = engine()
    e.receive(idea("word0 "), 1.0)
    cards: list[ComponentCard] = []

    @ui.page("/")
    def page() -> None:
        cards.append(ComponentCard(the_idea(e)))

    await user.open("/")
    (card,) = cards
    (field,) = [x for x in card.root.descendants() if isinstance(x, FieldStream)]
    chunks = [f"word{n} " for n in range(CHUNKS)]
    read = count_reads(monkeypatch)
    appended: list[str] = []
    for chunk in chunks[1:]:
        e.receive(idea(chunk), 1.0)
        appended += [text for _, text in card.update()]  # a flush tick per chunk: the worst case
    # While it streams, the text so far is read once: when its second chunk made it a stream.
    assert read[0] <= len("word0 word1 ") * 2
    e.receive(idea("end", done=True), 1.0)
    appended += [text for _, text in card.update()]
    end_of_reply(e)
    card.update()
    text = "".join(chunks) + "end"
    # Read whole once it is complete (validated, saved), a few times over: not once per chunk.
    assert read[0] <= 3 * len(text)
    # What the user sees is unchanged: the text as it streamed, each character sent once; the field
    # shown, the card complete.
    assert field.props["text"] + "".join(appended) == text
    view = card.view
    assert isinstance(view, IdeaView)
    assert view.text.state == "shown"
    assert view.root.props["data-complete"] == "true"


async def test_a_streamed_field_the_view_draws_itself_is_redrawn_as_it_grows(user: User) -> None:
    # A type nobody registered streams through the generic card, which shows values whole.
    block = ComponentBlock("c1", "weather")
    block.set("summary", "Sun", append=True)
    cards: list[ComponentCard] = []

    @ui.page("/")
    def page() -> None:
        cards.append(ComponentCard(block))

    await user.open("/")
    (card,) = cards
    block.set("summary", "ny and warm", append=True)
    card.update()
    await user.should_see("Sunny and warm")
    block.complete = True
    card.update()
    assert [x.props["data-complete"] for x in card.root.descendants() if "data-complete" in x.props] == [
        "true"
    ]


async def test_an_idea_that_completes_costs_the_saved_list_that_idea_alone(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = engine()
    client = ChatClient("ws://127.0.0.1:9/ws", engine=e)
    lists: list[SavedIdeas] = []

    @ui.page("/")
    def page() -> None:
        lists.append(SavedIdeas(client, CHAT))

    await user.open("/")
    (saved,) = lists
    reads = [0]
    saved_idea = engine_module.saved_idea

    def counted(message: Message, block: Block) -> SavedIdea | None:
        reads[0] += 1
        return saved_idea(message, block)

    monkeypatch.setattr(chat_session, "saved_idea", counted)
    ideas = 300
    for n in range(ideas):
        e.receive(idea(f" idea {n} ", done=True), 1.0)
    end_of_reply(e)
    assert reads[0] <= ideas  # read again for each one saved after it, it would be ~45,000
    assert [i.text for i in saved.shown] == [f"idea {n}" for n in range(ideas)]
    await user.should_see(f"Saved ideas ({ideas})")
    assert saved.shown == saved_ideas(e.conversation)


async def test_ideas_whose_messages_leave_memory_leave_the_saved_list_as_they_leave_the_export(
    user: User,
) -> None:
    e = engine()
    e.conversation.limits = Limits(window=Window(messages=4))  # two prompts and their replies
    client = ChatClient("ws://127.0.0.1:9/ws", engine=e)
    lists: list[SavedIdeas] = []

    @ui.page("/")
    def page() -> None:
        lists.append(SavedIdeas(client, CHAT))

    await user.open("/")
    (saved,) = lists
    for n in range(3):
        if n:
            e.send_user_message(f"more ideas {n}", 2.0 + n)
        e.receive(idea(f"idea {n}", done=True), 2.0 + n)
        end_of_reply(e)
    assert (
        [i.text for i in saved.shown] == ["idea 1", "idea 2"] == [i.text for i in saved_ideas(e.conversation)]
    )
    await user.should_see("Saved ideas (2)")
    await user.should_not_see("idea 0")
