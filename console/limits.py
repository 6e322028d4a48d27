"""What one session keeps live, whatever an upstream sends: the caps and the notice board.

An upstream that sends ten thousand context ids, components that never end, tool calls that are
never answered or an ERROR frame per millisecond must not make a session's memory, or the work of
one event, grow with the flood. Past each cap the oldest live item is folded: a context is let go
(its snapshots with it), a component is closed as it stands, a tool call stops being waited for (its
card stays, and a late result still lands on it). Each fold is counted and said once in a notice.

Notices are part of the session's state, so that a page opened later shows them too. The board keeps
the newest `notices` of them; a notice identical to one on the board raises that one's count and
makes it the newest instead of adding another (a flood of ERROR frames cycling through a few texts
costs a line per text, and a post costs the same however long the flood), and older ones are let go
and counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import field
from typing import Literal, overload

from console.frozen import frozen
from console.window import Window
from console.window_config import configured

Level = Literal["info", "warning", "error"]


@frozen
class Limits:
    contexts: int = 200  # context ids with their snapshot history
    open_components: int = 100  # components started and not yet ended
    waiting_tool_calls: int = 100  # tool calls waiting for their result
    orphan_results: int = 1_000  # results held for a call that has not arrived (yet)
    notices: int = 50
    # The history kept in memory (console/window.py), as this console is configured (`--window`).
    window: Window = field(default_factory=configured)


@frozen
class Notice:
    """Something the user should know about a session; `repeats` counts identical ones in a row."""

    level: Level
    text: str
    repeats: int = 1


class NoticeBoard(Sequence[Notice]):
    """The newest notices of a session, oldest first; `folded` counts the ones let go."""

    __slots__ = ("_items", "folded", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        # By (level, text), in the order last posted: a repeat is found and moved in O(1).
        self._items: OrderedDict[tuple[Level, str], Notice] = OrderedDict()
        self.folded = 0

    def post(self, level: Level, text: str) -> Notice:
        """Add a notice (or count it again when it is on the board); returns what is shown."""
        items = self._items
        key = (level, text)
        seen = items.get(key)
        if seen is not None:
            notice = items[key] = Notice(level, text, seen.repeats + 1)
            items.move_to_end(key)
            return notice
        if len(items) == self.limit:
            items.popitem(last=False)
            self.folded += 1
        notice = items[key] = Notice(level, text)
        return notice

    def clear(self) -> None:
        self._items.clear()
        self.folded = 0

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Notice: ...

    @overload
    def __getitem__(self, index: slice) -> list[Notice]: ...

    def __getitem__(self, index: int | slice) -> Notice | list[Notice]:
        if isinstance(index, slice):
            return list(self._items.values())[index]
        if index == -1 and self._items:  # the newest, without a list of them all
            return next(reversed(self._items.values()))
        return list(self._items.values())[index]

    def __iter__(self) -> Iterator[Notice]:
        return iter(self._items.values())


class FoldCounter:
    """How many items of each kind were folded; the first fold of a kind is worth a notice."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def fold(self, kind: str) -> bool:
        """Count one fold of `kind`; True the first time (when the user should be told)."""
        count = self.counts.get(kind, 0) + 1
        self.counts[kind] = count
        return count == 1
