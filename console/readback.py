"""Older history for the views: what memory still holds, then what the session's store holds.

A session keeps a window of its history in memory (console/window.py). When a view asks for more
than the window (a timeline scrolled to its top, a scrubber moved to an old context version, earlier
messages of a chat), it asks here: rows still in memory come from memory, older ones from the store
the session is journaled to, read and rebuilt in a worker thread (console/store/history.py), so the
event loop only waits. A session without a store (`--no-store`, a replayed trace) has no
`StoredHistory`: what memory let go is gone, and the views say so.

The store attaches a `StoredHistory` to each conversation it journals (`attach`); views find it with
`stored_history`. Weak keys: a conversation that goes takes its entry with it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager

from console.session import Conversation
from console.store import history
from console.store.history import MessagesPage, Reader, StoredVersions, TracePage

OpenReader = Callable[[], AbstractContextManager[Reader]]


class StoredHistory:
    """A journaled session's history in its store; every read runs in a worker thread."""

    def __init__(self, open_reader: OpenReader, session_id: str) -> None:
        self._open = open_reader
        self.session_id = session_id

    async def trace_before(self, before: int, limit: int) -> TracePage:
        def read() -> TracePage:
            with self._open() as reader:
                return history.trace_before(reader, self.session_id, before, limit)

        return await asyncio.to_thread(read)

    async def context_versions(self, context_id: str, wanted: frozenset[int]) -> StoredVersions:
        def read() -> StoredVersions:
            with self._open() as reader:
                return history.context_versions(reader, self.session_id, context_id, wanted)

        return await asyncio.to_thread(read)

    async def messages_before(self, before: int | None, limit: int) -> MessagesPage:
        def read() -> MessagesPage:
            with self._open() as reader:
                return history.messages_before(reader, self.session_id, before, limit)

        return await asyncio.to_thread(read)


_stored: weakref.WeakKeyDictionary[Conversation, StoredHistory] = weakref.WeakKeyDictionary()


def attach(conversation: Conversation, history: StoredHistory) -> None:
    _stored[conversation] = history


def stored_history(conversation: Conversation) -> StoredHistory | None:
    """Where the conversation's older history is kept, or None (memory only: let go means gone)."""
    return _stored.get(conversation)


async def trace_page(conversation: Conversation, before: int, limit: int) -> TracePage:
    """Up to `limit` trace rows numbered below `before`, the newest of them: from memory while it has
    them, then from the store."""
    trace = conversation.trace
    dropped = trace.dropped
    end = max(0, min(before - dropped, len(trace)))
    start = max(0, end - limit)
    memory = tuple(trace[start:end])
    if start > 0:
        return TracePage(memory, True)
    stored = stored_history(conversation)
    if stored is None or dropped == 0 or len(memory) == limit:
        return TracePage(memory, dropped > 0 and stored is not None)
    older = await stored.trace_before(min(before, dropped), limit - len(memory))
    return TracePage(older.entries + memory, older.more, older.damage)


async def messages_page(conversation: Conversation, before: int | None, limit: int) -> MessagesPage:
    """Up to `limit` messages numbered below `before` (None: the newest), the newest of them: from
    memory while it has them (`messages[0]` is number `messages_let_go`), then from the store."""
    messages = conversation.messages
    let_go = conversation.messages_let_go
    end = let_go + len(messages) if before is None else min(before, let_go + len(messages))
    start = max(0, end - limit)
    memory = tuple(messages[max(0, start - let_go) : max(0, end - let_go)])
    if start >= let_go:
        return MessagesPage(memory, start, start > 0)
    stored = stored_history(conversation)
    if stored is None:  # what left memory is gone
        return MessagesPage(memory, max(start, let_go), False)
    older = await stored.messages_before(min(end, let_go), limit - len(memory))
    return MessagesPage(older.messages + memory, older.first, older.more, older.damage)
