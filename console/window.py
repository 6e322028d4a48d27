"""What a session keeps of its history in memory: a window, sized by `Limits`.

Context snapshots are the bulk of a long session (a reply can carry half a megabyte of context, and a
session keeps every version for the inspector's scrubber): each context keeps its newest
`context_versions`, and all of a session's snapshots together at most `snapshot_bytes`, the oldest
let go first. The trace keeps the raw text of its newest rows only, `TRACE_RAW_CHARS` in all, and of
oversized frames (over `OVERSIZED_RAW`) the newest `oversized_frames`; the rows stay, with what they
said (the raw text of a trace's rows was most of a long session's memory: about a kilobyte a frame). The journal keeps the
first `LEAN_RAW` characters of such a frame only: its event (a snapshot, a tool result) carries the
data, which would otherwise be stored twice.

A conversation keeps its newest `messages` messages (console/session_window.py): past the window the
oldest go, except a message still in flight (a reply streaming, a prompt waiting for its reply) and
everything after it. The trace keeps its newest `trace_rows` rows.

What is let go from memory stays in the session's journal when the console has a store (and is read
back from there: `GET /api/sessions/<id>/history`); with `--no-store` it is gone. Either way the
session says so once, in a notice (`HISTORY_KEPT` or `HISTORY_DROPPED`).

How much left memory, for a view that reads the rest back from the store:
* `Conversation.messages_let_go`: messages let go, oldest first. `messages[0]` is the conversation's
  message number `messages_let_go` (from 0) since its start or its last reset, and message ids are
  the same in a conversation rebuilt from the journal (`Store.history`), so the earlier ones are
  the rebuilt conversation's messages before the id of `messages[0]`.
* `Conversation.rows_let_go` (the trace's `dropped`): trace rows let go; a row's `index` counts from
  the session's first row, so `trace[0].index == rows_let_go`.
* `SnapshotWindow.let_go` and `Trace.raw_let_go`: context versions, and raw texts of rows kept.
Each such count only grows; a view listens for `HistoryLetGo` to learn that messages left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol, TypeVar

from console.frozen import frozen

OVERSIZED_RAW: Final = 64 * 1024  # characters of a frame's raw text that make it oversized
OVERSIZED_KEPT: Final = 4  # oversized raw frames a session's trace keeps
TRACE_RAW_CHARS: Final = 2_000_000  # raw text of other frames a session's trace keeps, newest first
LEAN_RAW: Final = 2_000  # characters of an oversized raw frame the journal keeps (its event has the data)


HISTORY_KEPT: Final = "older history left memory: it is kept in the store and read back from there"
HISTORY_DROPPED: Final = "older history left memory and is dropped (the console runs without a store)"


@frozen
class Window:
    context_versions: int = 50  # snapshots kept per context
    snapshot_bytes: int = 4 * 1024 * 1024  # snapshots kept per session, all contexts together
    messages: int = 200  # messages kept per conversation, newest first (in-flight ones always stay)
    trace_rows: int = 50_000  # trace rows kept per session, newest first (let go a tenth at a time)
    oversized_frames: int = OVERSIZED_KEPT  # raw text of oversized frames kept per session, newest first


# No window at all: what a conversation rebuilt from the store to be read back holds.
EVERYTHING: Final = Window(
    context_versions=1 << 30, snapshot_bytes=1 << 62, messages=1 << 62, trace_rows=1 << 30
)

_LEAN_END: Final = " characters; the rest is not kept)"


def lean_raw(raw: str | None) -> str | None:
    if raw is None or len(raw) <= LEAN_RAW:
        return raw
    return f"{raw[:LEAN_RAW]}… ({len(raw):,}{_LEAN_END}"


def is_lean(raw: str | None) -> bool:
    """Whether `raw` is the start of a frame that `lean_raw` cut (its event holds the data)."""
    return raw is not None and raw.endswith(_LEAN_END)


def raw_length(raw: str) -> int:
    """The length of the frame `raw` stands for: its own, or the whole frame's when `lean_raw` cut it."""
    if not raw.endswith(_LEAN_END):
        return len(raw)
    count = raw[raw.rfind("(") + 1 : -len(_LEAN_END)]
    return int(count.replace(",", "")) if count.replace(",", "").isdigit() else len(raw)


class Entry(Protocol):
    """What the window needs of a context entry (`console.session.ContextEntry`)."""

    @property
    def at(self) -> float: ...

    @property
    def encoded(self) -> bytes: ...


E = TypeVar("E", bound=Entry)


class SnapshotWindow:
    """Keeps a session's context histories inside the window; `let_go` counts what went."""

    __slots__ = ("_bytes", "let_go", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self._bytes = 0  # snapshots added minus those this window let go (over, never under, the truth)
        self.let_go = 0

    def added(self, contexts: Mapping[str, list[E]], history: list[E], entry: E) -> bool:
        """A snapshot was appended to `history`; True when older ones had to go."""
        self._bytes += len(entry.encoded)
        before = self.let_go
        while len(history) > self.window.context_versions:
            self._drop(history)
        if self._bytes > self.window.snapshot_bytes:
            # Exact again (a context let go as a whole is not counted out): rare, bounded by the caps.
            self._bytes = sum(len(e.encoded) for h in contexts.values() for e in h)
            while self._bytes > self.window.snapshot_bytes:
                # The oldest snapshot of any context goes; the one just added and the one before it
                # stay, whatever their size (the inspector shows the newest step as a diff).
                candidates = [h for h in contexts.values() if h and (h is not history or len(h) > 2)]
                if not candidates:
                    break
                self._drop(min(candidates, key=lambda h: h[0].at))
        return self.let_go != before

    def _drop(self, history: list[E]) -> None:
        self._bytes -= len(history.pop(0).encoded)
        self.let_go += 1
