"""What a journal backend stores, whatever engine keeps it: sessions and their records, in order.

A backend is synchronous and used from one thread at a time (the journal's writer thread while the
console runs; the restore before it). Every write arrives as one `Batch`, which the backend commits
as a unit: a crash leaves the journal at a batch boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from console.frozen import frozen

# Chunk kinds as stored, so that compaction finds what it may let go without decoding anything:
# trace rows (kept by count) and context snapshots (kept by bytes). Every other input stays.
KIND_OTHER: Final = 0
KIND_TRACE: Final = 1
KIND_SNAPSHOT: Final = 2
# A point where the conversation was at rest (`records.Marked`), in a chunk of its own so readers find
# it by kind: messages are read back by a replay from the nearest one, not from the journal's start.
KIND_MARK: Final = 3
ALONE: Final = frozenset({KIND_SNAPSHOT, KIND_MARK})  # kinds never joined with a neighbour chunk


@frozen
class SessionInfo:
    """A journaled session: enough to open it again."""

    id: str
    name: str
    dialect: str
    url: str
    embedded: bool  # its upstream was a simulator of the console's own process
    created: float  # wall-clock seconds


@frozen
class StoredRecord:
    """One stored chunk of a session's inputs (`console.store.records`)."""

    n: int  # its place in the session's journal
    kind: int
    crc: int
    data: bytes
    count: int  # inputs in the chunk
    bookmark: str = ""  # where it stands, in the backend's words (set by `page`; see `Page`)


@frozen
class Page:
    """Some of a session's chunks, newest first, and where the chunks older than them begin.

    `older` is the backend's own bookmark (a chunk number, a stream entry id): handed back as
    `before`, it gives the next page without reading again what this one passed over."""

    records: tuple[StoredRecord, ...]
    older: str | None  # None: nothing older of these kinds


@dataclass(slots=True)
class Batch:
    """What one commit writes: new sessions, chunks (session, n, kind, crc, bytes, count), removals."""

    sessions: list[SessionInfo] = field(default_factory=list)
    records: list[tuple[str, int, int, int, bytes, int]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # What each session lets go: (session, kind, keep): the chunks of that kind older than the newest
    # `keep` rows (trace) or bytes (snapshots).
    compact: list[tuple[str, int, int]] = field(default_factory=list)
    at: float = 0.0  # wall-clock time of the batch

    def __bool__(self) -> bool:
        return bool(self.sessions or self.records or self.removed or self.compact)


def oldest_to_drop(chunks: list[tuple[int, int]], keep: int) -> int | None:
    """Of chunks (n, amount), newest first: the n of the newest chunk no longer needed to keep
    `keep` of the amount (rows, bytes; it and all older go), or None."""
    kept = 0
    for n, amount in chunks:
        if kept >= keep:
            return n
        kept += amount
    return None


class StoreError(RuntimeError):
    """The store cannot be used (unreachable, or written by a newer console)."""


class Backend(Protocol):
    @property
    def where(self) -> str:
        """The store, in words (a path, a URL)."""

    def write(self, batch: Batch) -> None: ...

    def renew(self) -> None:
        """Called every round, written or not: a backend with an owner's lease keeps it."""

    def sessions(self) -> list[SessionInfo]:
        """Every journaled session, oldest first."""

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]:
        """A session's records in order, from the one after `after`; raises on damage it meets."""

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page:
        """Up to `limit` chunks of these kinds, newest first, older than the bookmark `before` (None:
        from the newest). Safe beside the writer: reads only what was committed."""

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page:
        """Up to `limit` chunks of these kinds, oldest first, newer than the bookmark `after` (a
        record's `bookmark`; None: from the first); the page's `older` is then the bookmark of the
        next page (None: no more)."""

    def expire(self, before: float) -> list[str]:
        """Remove sessions not written since `before` (wall clock); returns their ids."""

    def close(self) -> None: ...
