"""A JSON document as a lazily expanded tree, annotated with its diff against the previous version.

Theory of operation
-------------------
A tree view of a half-megabyte (or five-megabyte) snapshot cannot ship the document to the browser:
it ships *levels*. A `Level` is the rows directly below one container, in a window (`start`, up to
`PAGE` rows, out of `total`), each `Row` carrying just enough to draw one line: key, type, a short
text (a scalar's literal, truncated; a small container's inline preview), the member count of a
container, and its diff mark. Opening a node asks for its level; nothing below it is computed.

A `Step` is one snapshot seen against the one before it (`Step.between(old, new)`, which runs the
diff; `Step.first(new)` for the first snapshot). Marks come from the diff's changes (path semantics in
`console.diff`):

* ``added`` / ``changed``: an `add` or `replace` at the row's path; everything below an added or
  replaced value is ``added`` too;
* ``removed``: a row that exists only in the old document, drawn at its old place (an array as the
  merge of its old and new items, `diff.list_rows`; an object member right after the member that
  preceded it in the old document), and everything below it;
* `Row.inner`: a container with changes somewhere below (`diff.changed_paths`), which a view expands
  to lead the eye to the changes (`Step.initial_levels`, within a row budget).

Rows and their addresses are `console.json_rows`; search is `console.json_search`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import orjson

from console.diff import Change, ListRow, Path, changed_paths, diff, list_rows
from console.json_rows import PAGE, ROOT, Address, Level, Row, brief, format_path, make_row
from console.json_walk import MISSING, Either, Missing, Slot, index_in, member, merge_keys, slot_index, walk
from console.jsonvalue import JsonValue

Kind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Mark: TypeAlias = Literal["", "added", "removed", "changed"]

INITIAL_ROWS = 600  # rows a freshly shown step may send, auto-expanded levels included
OPENED_WINDOW = 40  # rows of a level opened with the step (around its first change): the rest on demand
CONTEXT_ROWS = 3  # rows kept above the first change when a level's window is placed on it


# --- steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """One change as the list of changed paths shows it."""

    op: Literal["added", "removed", "changed"]
    address: Address
    path: str
    old: str | None
    new: str | None


_OPS: dict[str, Literal["added", "removed", "changed"]] = {
    "add": "added",
    "remove": "removed",
    "replace": "changed",
}


class Step:
    """One snapshot against the one before it: levels, rows, values and changes of the tree."""

    __slots__ = (
        "_by_parent",
        "_counts",
        "_index_maps",
        "_inner_children",
        "_merged",
        "_old_paths",
        "_rows",
        "changes",
        "inner",
        "new",
        "old",
        "put",
    )

    def __init__(
        self, new: JsonValue, old: JsonValue | Missing = MISSING, changes: Sequence[Change] = ()
    ) -> None:
        self.new = new
        self.old = old
        self.changes = tuple(changes)
        self.put: dict[Path, Change] = {}
        self._by_parent: dict[Path, list[Change]] = {}
        self._counts = {"added": 0, "removed": 0, "changed": 0}
        for change in self.changes:
            self._counts[_OPS[change.op]] += 1
            if change.op != "remove":
                self.put[change.path] = change
            if change.path:
                self._by_parent.setdefault(change.path[:-1], []).append(change)
        self.inner = changed_paths(self.changes)
        self._inner_children: dict[Path, list[Path]] = {}
        for path in self.inner:
            if path:
                self._inner_children.setdefault(path[:-1], []).append(path)
        self._merged: dict[Path, list[Slot] | None] = {}
        self._old_paths: dict[Path, Path | None] = {}
        self._rows: dict[Path, list[ListRow] | None] = {}
        self._index_maps: dict[Path, dict[int, int | None] | None] = {}

    @classmethod
    def first(cls, new: JsonValue) -> Step:
        return cls(new)

    @classmethod
    def between(cls, old: JsonValue, new: JsonValue) -> Step:
        """Runs the diff: call it off the event loop for large documents."""
        return cls(new, old, diff(old, new))

    # -- what changed ---------------------------------------------------------------------------

    @property
    def has_previous(self) -> bool:
        return not isinstance(self.old, Missing)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def summaries(self, limit: int | None = None) -> list[ChangeSummary]:
        changes = self.changes if limit is None else self.changes[:limit]
        return [self.summarize(change) for change in changes]

    def summarize(self, change: Change) -> ChangeSummary:
        if change.op == "remove":
            address = Address(change.path[:-1], change.path[-1:])
            return ChangeSummary("removed", address, format_path(change.path), brief(change.old), None)
        old = brief(change.old) if change.op == "replace" else None
        return ChangeSummary(
            _OPS[change.op], Address(change.path), format_path(change.path), old, brief(change.new)
        )

    # -- values ---------------------------------------------------------------------------------

    def value_at(self, address: Address) -> JsonValue | Missing:
        if not address.rel:
            return walk(self.new, address.base)
        old_base = self.old_path(address.base)
        if old_base is None or isinstance(self.old, Missing):
            return MISSING
        return walk(self.old, old_base + address.rel)

    def old_path(self, path: Path) -> Path | None:
        """Where the value at new `path` was in the old document, or None if it was not there."""
        if path in self._old_paths:
            return self._old_paths[path]
        found = self._find_old_path(path)
        self._old_paths[path] = found
        return found

    def _find_old_path(self, path: Path) -> Path | None:
        if isinstance(self.old, Missing):
            return None
        if not path:
            return ()
        parent = self.old_path(path[:-1])
        change = self.put.get(path)
        if parent is None or (change is not None and change.op == "add") or path[:-1] in self.put:
            # Added, or below an added or replaced container: nothing there was there before.
            return None
        step = path[-1]
        if isinstance(step, str):
            return (*parent, step)
        old_of = self._old_indices(path[:-1])
        if old_of is None:
            return (*parent, step)
        old_index = old_of.get(step)
        return None if old_index is None else (*parent, old_index)

    def _old_indices(self, base: Path) -> dict[int, int | None] | None:
        """New index -> old index in the array at `base`, when items were added or removed in it."""
        if base not in self._index_maps:
            rows = self._array_rows(base)
            self._index_maps[base] = (
                None
                if rows is None
                else {row.new_index: row.old_index for row in rows if row.new_index is not None}
            )
        return self._index_maps[base]

    def _array_rows(self, base: Path) -> list[ListRow] | None:
        """The array at new `base` as the merge of its old and new items, when items were added or
        removed directly in it (otherwise item i is item i on both sides)."""
        if base in self._rows:
            return self._rows[base]
        rows: list[ListRow] | None = None
        if any(change.op != "replace" for change in self._by_parent.get(base, [])):
            old_base = self.old_path(base)
            old = MISSING if old_base is None or isinstance(self.old, Missing) else walk(self.old, old_base)
            new = walk(self.new, base)
            if isinstance(old, list) and isinstance(new, list):
                rows = list_rows(self._array_changes(base), base, len(old), len(new))
        self._rows[base] = rows
        return rows

    def _mark_of(self, path: Path) -> Mark:
        """The mark of the new-document node at `path`."""
        change = self.put.get(path)
        if change is not None:
            return _OPS[change.op] if change.op == "replace" else "added"
        for n in range(len(path) - 1, -1, -1):
            above = self.put.get(path[:n])
            if above is not None:
                return "added"
        return ""

    # -- levels ---------------------------------------------------------------------------------

    def level(self, address: Address, start: int = 0, count: int = PAGE) -> Level | None:
        """Rows `start` .. `start + count` below the container at `address`, or None when there is
        no container there (any more)."""
        value = self.value_at(address)
        if not isinstance(value, dict | list):
            return None
        if address.rel:
            return self._old_level(address, value, start, count)
        slots = self._merged_slots(address.base)
        if slots is None:
            return self._plain_level(address, value, start, count)
        return self._merged_level(address, value, slots, start, count)

    def _plain_level(
        self, address: Address, value: dict[str, JsonValue] | list[JsonValue], start: int, count: int
    ) -> Level:
        """A container without removals below it: its own members, marked as the diff says."""
        total = len(value)
        start = max(0, min(start, total))
        end = min(total, start + max(0, count))
        inherited: Mark = "added" if self._mark_of(address.base) in ("added", "changed") else ""
        keys: Iterable[str | int] = list(value)[start:end] if isinstance(value, dict) else range(start, end)
        rows = [self._new_row(address.base, key, member(value, key), inherited) for key in keys]
        return Level(address, start, total, tuple(rows))

    def _new_row(self, base: Path, key: str | int, value: JsonValue, inherited: Mark) -> Row:
        path = (*base, key)
        mark: Mark = inherited
        old: str | None = None
        if not inherited:
            change = self.put.get(path)
            if change is not None:
                mark = _OPS[change.op]
                old = brief(change.old) if change.op == "replace" else None
        row = make_row(Address(path), key, value, mark, inner=not inherited and path in self.inner)
        return row if old is None else _with_old(row, old)

    def _old_level(
        self, address: Address, value: dict[str, JsonValue] | list[JsonValue], start: int, count: int
    ) -> Level:
        """Below something removed: the old members, all removed."""
        total = len(value)
        start = max(0, min(start, total))
        end = min(total, start + max(0, count))
        keys: Iterable[str | int] = list(value)[start:end] if isinstance(value, dict) else range(start, end)
        rows = [make_row(address.child(key), key, member(value, key), "removed") for key in keys]
        return Level(address, start, total, tuple(rows))

    def _merged_level(
        self,
        address: Address,
        value: dict[str, JsonValue] | list[JsonValue],
        slots: list[Slot],
        start: int,
        count: int,
    ) -> Level:
        total = len(slots)
        start = max(0, min(start, total))
        end = min(total, start + max(0, count))
        old_base = self.old_path(address.base)
        old = (
            walk(self.old, old_base)
            if old_base is not None and not isinstance(self.old, Missing)
            else MISSING
        )
        rows: list[Row] = []
        for removed, key in slots[start:end]:
            if removed:
                gone = member(old, key) if isinstance(old, dict | list) else None
                rows.append(make_row(Address(address.base, (key,)), key, gone, "removed"))
            else:
                rows.append(self._new_row(address.base, key, member(value, key), ""))
        return Level(address, start, total, tuple(rows))

    def _merged_slots(self, base: Path) -> list[Slot] | None:
        """The merged old/new sequence of the container at new `base`, when something was removed
        directly below it (otherwise its own members are the sequence)."""
        if base in self._merged:
            return self._merged[base]
        slots = self._build_slots(base)
        self._merged[base] = slots
        return slots

    def _build_slots(self, base: Path) -> list[Slot] | None:
        direct = self._by_parent.get(base, [])
        if not any(change.op == "remove" for change in direct):
            return None
        old_base = self.old_path(base)
        if old_base is None or isinstance(self.old, Missing):
            return None
        old, new = walk(self.old, old_base), walk(self.new, base)
        if isinstance(old, dict) and isinstance(new, dict):
            return merge_keys(old, new, {c.path[-1] for c in direct if c.op == "remove"})
        rows = self._array_rows(base)
        if rows is None:
            return None
        slots: list[Slot] = []
        for row in rows:
            if row.new_index is not None:
                slots.append((False, row.new_index))
            elif row.old_index is not None:
                slots.append((True, row.old_index))
        return slots

    def _array_changes(self, base: Path) -> list[Change]:
        """What `list_rows` needs about the array at `base`: its direct changes, and a stand-in for
        every item with changes further down."""
        out = list(self._by_parent.get(base, []))
        out.extend(Change("replace", path) for path in self._inner_children.get(base, []))
        return out

    def position(self, address: Address) -> int | None:
        """Where the row at `address` sits in its parent's level (None if it is not there)."""
        if address.rel:
            parent_rel = address.rel[:-1]
            key = address.rel[-1]
            if parent_rel:
                container = self.value_at(Address(address.base, parent_rel))
                return index_in(container, key)
            slots = self._merged_slots(address.base)
            if slots is None:
                return None
            return slot_index(slots, (True, key))
        if not address.base:
            return None
        parent, key = address.base[:-1], address.base[-1]
        slots = self._merged_slots(parent)
        if slots is not None:
            return slot_index(slots, (False, key))
        return index_in(walk(self.new, parent), key)

    # -- views ----------------------------------------------------------------------------------

    def root_row(self) -> Row:
        return make_row(ROOT, None, self.new, self._mark_of(()))

    def initial_levels(self, opened: Iterable[Address] = (), budget: int = INITIAL_ROWS) -> list[Level]:
        """The root level, then the levels leading to the changes and those the user had open, parents
        first, until `budget` rows are spent; each window placed on its first change."""
        if not isinstance(self.new, dict | list):
            return []
        wanted = Either(self.inner, {a.base for a in opened if not a.rel})
        levels: list[Level] = []
        queue: deque[Address] = deque([ROOT])
        spent = 0
        while queue and spent < budget:
            address = queue.popleft()
            start = self._window_start(address.base, wanted)
            level = self.level(address, start, min(OPENED_WINDOW, budget - spent) if levels else PAGE)
            if level is None:
                continue
            levels.append(level)
            spent += len(level.rows)
            queue.extend(
                row.address
                for row in level.rows
                if not row.address.rel
                and row.kind in ("object", "array")
                and row.count
                and row.address.base in wanted
            )
        return levels

    def _window_start(self, base: Path, wanted: Either) -> int:
        """Where a level's window starts: a few rows above its first changed or wanted (open) row."""
        if base not in self.inner:
            return 0  # nothing changed below: from the top, as the user left it
        slots = self._merged_slots(base)
        value = walk(self.new, base)
        keys: Iterable[tuple[bool, str | int]]
        if slots is not None:
            keys = slots
        elif isinstance(value, dict):
            keys = ((False, k) for k in value)
        elif isinstance(value, list):
            keys = ((False, i) for i in range(len(value)))
        else:
            return 0
        for n, (removed, key) in enumerate(keys):
            if removed or (*base, key) in self.put or (*base, key) in wanted:
                return max(0, n - CONTEXT_ROWS)
        return 0

    def reveal(self, address: Address) -> list[Level]:
        """The levels from the root down to the one holding `address`, each window around the next
        row on the way, so that a jump to any path shows it whatever was open before."""
        chain: list[Address] = [Address(address.base[:n]) for n in range(len(address.base))]
        if address.rel:
            chain.append(Address(address.base))
            chain.extend(Address(address.base, address.rel[:n]) for n in range(1, len(address.rel)))
        targets = [*chain[1:], address]
        levels: list[Level] = []
        for container, target in zip(chain, targets, strict=True):
            at = self.position(target)
            if at is None:
                break
            level = self.level(container, max(0, at - PAGE // 2), PAGE)
            if level is None:
                break
            levels.append(level)
        return levels

    def text_of(self, address: Address, limit: int | None = None) -> str | None:
        """A value as text to copy or show in full: strings raw, the rest as indented JSON."""
        value = self.value_at(address)
        if isinstance(value, Missing):
            return None
        if isinstance(value, str):
            return value if limit is None else value[:limit]
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONEncodeError:
            return json.dumps(value, ensure_ascii=False, indent=2)


def _with_old(row: Row, old: str) -> Row:
    return Row(
        row.address, row.key, row.kind, row.text, row.count, row.mark, row.inner, old, row.truncated, row.hint
    )
