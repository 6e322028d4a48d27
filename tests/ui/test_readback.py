"""History that left memory, read back from the store into the views (inspector scrubber, timeline)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User

from console import events as ev
from console import jsonvalue, readback
from console.jsonvalue import JsonValue
from console.limits import Limits
from console.readonly_client import ReadOnlyClient
from console.session import Conversation
from console.store.backend import SessionInfo, StoreError
from console.store.history import Reader
from console.store.journal import Journal
from console.store.sqlite import SQLiteBackend, SQLiteReader
from console.ui.chat import ChatView
from console.ui.inspector import ContextInspector
from console.ui.timeline_older import PAGE_ROWS, older_rows, reachable
from console.window import Window
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("close_sessions")


def _client(conversation: Conversation) -> ReadOnlyClient:
    return ReadOnlyClient("ws://127.0.0.1:9/ws", "readback", conversation, "a test session")


def _journaled(path: Path, conversation: Conversation) -> Journal:
    """The conversation journaled to a SQLite file, its history readable back from there."""
    journal = Journal(SQLiteBackend(path))
    journal.attach(SessionInfo("s", "s", "agent", "ws://127.0.0.1:9/ws", False, time.time()), conversation)
    journal.start()

    @contextlib.contextmanager
    def reading() -> Iterator[Reader]:
        reader = SQLiteReader(path)
        try:
            yield reader
        finally:
            reader.close()

    readback.attach(conversation, readback.StoredHistory(reading, "s"))
    return journal


def _versions(conversation: Conversation, count: int) -> None:
    for n in range(count):
        data: JsonValue = {"plan": "ship", "step": n, "done": list(range(n))}
        size = len(jsonvalue.dumps_bytes(data))
        conversation.apply(ev.ContextSnapshot("plan", data, size), time.monotonic(), n + 1)


async def _open(user: User, conversation: Conversation) -> None:
    client = _client(conversation)

    @ui.page("/inspector")
    def page() -> None:
        ContextInspector(client)

    await user.open("/inspector")


async def test_the_scrubber_spans_versions_that_left_memory_and_reads_them_back(
    user: User, tmp_path: Path
) -> None:
    conversation = Conversation(limits=Limits(window=Window(context_versions=3)))
    journal = _journaled(tmp_path / "journal.db", conversation)
    _versions(conversation, 8)
    await asyncio.to_thread(journal.flush)
    assert len(conversation.contexts["plan"]) == 3  # memory holds the newest three

    await _open(user, conversation)
    await user.should_see("Snapshot 8 of 8 · seq 8")
    await user.should_see("5 older versions left memory: they are read back from the store")

    slider = user.find(marker="history-slider").elements.pop()
    assert isinstance(slider, ui.slider)
    slider.set_value(1)
    await user.should_see("Snapshot 1 of 8 · seq 1")
    await user.should_see("read back from the store")
    await user.should_see("First snapshot of this context")

    slider.set_value(4)  # a version read back, with its diff to the one before it
    await user.should_see("Snapshot 4 of 8 · seq 4")
    await user.should_see("+1 added · −0 removed · ~1 changed")

    slider.set_value(6)  # memory's first version: its neighbour before it is read back
    await user.should_see("Snapshot 6 of 8 · seq 6")
    await user.should_see("+1 added · −0 removed · ~1 changed")
    journal.close()


async def test_without_a_store_the_scrubber_says_older_versions_were_dropped(user: User) -> None:
    conversation = Conversation(limits=Limits(window=Window(context_versions=3)))
    _versions(conversation, 8)
    await _open(user, conversation)
    await user.should_see("Snapshot 3 of 3 · seq 8")
    await user.should_see("Older versions left memory and were dropped (no store keeps them)")


def _rows(conversation: Conversation, count: int) -> None:
    """Frames of a long session: a PING/PONG pair and a reply of five tokens, over and over."""
    at = 0.0
    for n in range(count // 7):
        at += 0.01
        conversation.record(at, "in", "PING", f"ping {n}", seq=7 * n + 1)
        conversation.record(at, "out", "PONG", f"pong {n}")
        for k in range(5):
            conversation.record(at, "in", "TOKEN", f"t{n}.{k} ", seq=7 * n + 2 + k, stream_id=f"r{n}")


async def test_older_timeline_rows_come_from_memory_then_from_the_store_a_page_at_a_time(
    tmp_path: Path,
) -> None:
    conversation = Conversation(trace_limit=300)
    journal = _journaled(tmp_path / "journal.db", conversation)
    _rows(conversation, 1400)
    await asyncio.to_thread(journal.flush)
    first = conversation.trace[0].index
    assert first > 900  # most rows left memory

    near = conversation.trace[-1].index
    page = await older_rows(conversation, near, 0.0)
    assert len(page.rows) == PAGE_ROWS and page.more  # grouped rows: 3 per 7 frames
    ids = [row["i"] for row in page.rows if isinstance(row, dict) and isinstance(row["i"], int)]
    assert ids == sorted(ids) and ids[-1] < near

    before = first
    pages = 0
    while True:
        page = await older_rows(conversation, before, 0.0)
        if not page.rows:
            break
        pages += 1
        oldest = page.rows[0]
        assert isinstance(oldest, dict) and isinstance(oldest["i"], int)
        before = oldest["i"]
        if not page.more:
            break
    assert before == 0 and pages >= 2  # every row of the session, back to the first
    kinds = {row["k"] for row in page.rows if isinstance(row, dict)}
    assert kinds == {"PING", "PONG", "TOKEN"}
    journal.close()


def test_without_a_store_only_what_memory_holds_is_reachable() -> None:
    conversation = Conversation(trace_limit=300)
    _rows(conversation, 1400)
    first = conversation.trace[0].index
    assert reachable(conversation, first + 10)
    assert not reachable(conversation, first)


def _turns(conversation: Conversation, count: int) -> None:
    for n in range(count):
        conversation.add_user_message(f"question {n}", float(n))
        conversation.apply(ev.TextDelta(f"r{n}", f"answer {n}"), float(n), 1)
        conversation.apply(ev.StreamEnd(f"r{n}"), float(n), 2)


def _drawn(user: User) -> list[str]:
    return [
        str(e.props["data-message-id"])
        for e in user.current_layout.descendants()
        if e.props.get("data-testid") == "message"
    ]


async def test_earlier_messages_that_left_memory_are_read_back_from_the_store(
    user: User, tmp_path: Path
) -> None:
    conversation = Conversation(limits=Limits(window=Window(messages=10)))
    journal = _journaled(tmp_path / "journal.db", conversation)
    _turns(conversation, 30)  # 60 messages, 10 in memory
    await asyncio.to_thread(journal.flush)
    assert conversation.messages_let_go == 50
    ids = [f"m{n}" for n in range(1, 61)]
    assert [m.id for m in conversation.messages] == ids[-10:]

    @ui.page("/chat")
    def chat() -> None:
        ChatView(conversation, on_retry=lambda _message_id: None)

    await user.open("/chat")
    await eventually(lambda: _drawn(user) == ids[-10:])
    await user.should_see("Show earlier messages (50 more)")
    user.find("Show earlier messages (50 more)").click()
    await eventually(lambda: _drawn(user) == ids[-30:])  # a page of 20 above, in order
    await user.should_see("question 20")
    await user.should_see("Show earlier messages (30 more)")
    for more in (30, 10):
        user.find(f"Show earlier messages ({more} more)").click()
        await eventually(lambda: len(_drawn(user)) == 60 - max(0, more - 20))  # noqa: B023
    assert _drawn(user) == ids
    await user.should_see("question 0")
    await user.should_not_see("Show earlier messages")

    _turns(conversation, 1)  # two more messages: two leave memory, and stay on the page as history
    await eventually(lambda: len(_drawn(user)) == 62)
    journal.close()


async def test_without_a_store_the_chat_says_earlier_messages_were_dropped(user: User) -> None:
    conversation = Conversation(limits=Limits(window=Window(messages=10)))
    _turns(conversation, 30)

    @ui.page("/chat")
    def chat() -> None:
        ChatView(conversation, on_retry=lambda _message_id: None)

    await user.open("/chat")
    await user.should_see("50 earlier messages left memory and were dropped (no store keeps them)")


async def test_a_store_that_cannot_be_read_is_said_and_asked_again(user: User) -> None:
    conversation = Conversation(limits=Limits(window=Window(messages=10)))
    _turns(conversation, 30)

    @contextlib.contextmanager
    def unreachable() -> Iterator[Reader]:
        raise StoreError("cannot reach Redis at redis://127.0.0.1:9/0")
        yield  # a generator, as a reader's context is

    readback.attach(conversation, readback.StoredHistory(unreachable, "s"))

    @ui.page("/chat")
    def chat() -> None:
        ChatView(conversation, on_retry=lambda _message_id: None)

    await user.open("/chat")
    user.find("Show earlier messages (50 more)").click()
    said = "Earlier messages could not all be read back: cannot reach Redis at redis://127.0.0.1:9/0"
    await eventually(lambda: _earlier(user) == said)
    assert len(_drawn(user)) == 10
    user.find(marker="chat-earlier").click()  # asked again: said again
    await eventually(lambda: _earlier(user) == said)


def _earlier(user: User) -> str:
    return " ".join(
        str(e.text) for e in user.find(marker="chat-earlier").elements if isinstance(e, ui.button)
    )
