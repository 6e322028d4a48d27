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

Addresses
---------
An `Address` names a row: `base` is a path in the new document; a row that exists only in the old
document (removed, or inside something removed) adds `rel`, its path relative to the *old* counterpart
of `base`. So a removed array item is ``Address(("items",), (3,))``: old item 3 of the array at
``$.items``, which is exactly the diff's own path for that removal. Addresses travel to the browser
as compact JSON text (`encode`/`decode`) and come back when a node is opened.

`search` walks the new document for keys and values containing a text, in document order, capped;
`format_path` writes a path the way a JavaScript reader would (``$.tables[3].name``).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import orjson

from console import jsonvalue
from console.diff import Change, ListRow, Path, changed_paths, diff, list_rows
from console.jsonvalue import JsonObject, JsonValue

Kind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Mark: TypeAlias = Literal["", "added", "removed", "changed"]

PAGE = 100  # rows per level window: a level of 50,000 items opens as fast as one of 10
STRING_PREVIEW = 160  # characters of a string shown before "show all"
FULL_STRING = 100_000  # characters "show all" sends; the rest is for "copy value"
INLINE_PREVIEW = 56  # a container whose compact JSON fits this is shown inline when collapsed
OLD_PREVIEW = 80
INITIAL_ROWS = 600  # rows a freshly shown step may send, auto-expanded levels included
OPENED_WINDOW = 40  # rows of a level opened with the step (around its first change): the rest on demand
CONTEXT_ROWS = 3  # rows kept above the first change when a level's window is placed on it
SEARCH_LIMIT = 200
HINT_KEYS = ("name", "id", "title", "key", "type", "_id", "uuid")

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


# --- addresses and paths ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A row: `base` in the new document, plus `rel` below its old counterpart for old-only rows."""

    base: Path
    rel: Path = ()

    @property
    def removed(self) -> bool:
        return bool(self.rel)

    @property
    def path(self) -> Path:
        """The path as the diff writes it (new indices, except below something removed)."""
        return self.base + self.rel

    def child(self, step: str | int) -> Address:
        return Address(self.base, (*self.rel, step)) if self.rel else Address((*self.base, step))

    def encode(self) -> str:
        return literal([list(self.base), list(self.rel)])

    @staticmethod
    def decode(text: object) -> Address | None:
        """The address a browser sent back, or None when it is not one."""
        if not isinstance(text, str) or len(text) > 100_000:
            return None
        try:
            value = jsonvalue.loads(text)
        except jsonvalue.JsonDecodeError:
            return None
        if not isinstance(value, list) or len(value) != 2:
            return None
        base, rel = (_steps(part) for part in value)
        if base is None or rel is None:
            return None
        return Address(base, rel)


ROOT = Address(())


def _steps(value: JsonValue) -> Path | None:
    if not isinstance(value, list):
        return None
    steps: list[str | int] = []
    for step in value:
        if isinstance(step, bool) or not isinstance(step, str | int):
            return None
        steps.append(step)
    return tuple(steps)


def format_path(path: Path) -> str:
    """``$``, ``$.tables[3].name``, ``$["a key"]``: what a reader would type to reach the value."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.match(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
    return "".join(parts)


# --- rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    address: Address
    key: str | int | None  # None for a document that is a single scalar
    kind: Kind
    text: str  # a scalar's literal (maybe truncated) or a small container's inline preview
    count: int  # members of a container; characters of a string
    mark: Mark = ""
    inner: bool = False  # a container with changes below
    old: str | None = None  # for a changed row: the old value, briefly
    truncated: bool = False  # a string shown in part
    hint: str | None = None  # what names an object too big to show inline (its "name", "id", ...)

    def to_json(self) -> JsonObject:
        """Compact keys: a level of a hundred rows is a few kilobytes on the wire."""
        out: JsonObject = {
            "a": self.address.encode(),
            "p": format_path(self.address.path),
            "t": self.kind,
            "v": self.text,
            "n": self.count,
        }
        if self.key is not None:
            out["k"] = self.key
        if self.mark:
            out["c"] = self.mark
        if self.inner:
            out["i"] = 1
        if self.old is not None:
            out["o"] = self.old
        if self.truncated:
            out["x"] = 1
        if self.hint is not None:
            out["h"] = self.hint
        return out


@dataclass(frozen=True, slots=True)
class Level:
    """Rows `start` .. `start + len(rows)` of the `total` below the container at `address`."""

    address: Address
    start: int
    total: int
    rows: tuple[Row, ...]

    def to_json(self) -> JsonObject:
        return {
            "a": self.address.encode(),
            "s": self.start,
            "n": self.total,
            "r": [row.to_json() for row in self.rows],
        }


def kind_of(value: JsonValue) -> Kind:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def literal(value: JsonValue) -> str:
    """Compact JSON text of a value."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # integers beyond 64 bits, nesting beyond orjson's limit
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def summary(value: JsonValue) -> str:
    """``{3 keys}``, ``[1 item]``, or a scalar's literal: what a collapsed node says about itself."""
    if isinstance(value, dict):
        return f"{{{_count(len(value), 'key')}}}"
    if isinstance(value, list):
        return f"[{_count(len(value), 'item')}]"
    return literal(value)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def inline_preview(value: JsonValue, limit: int = INLINE_PREVIEW) -> str | None:
    """The compact JSON of a container when it fits `limit` characters; found without serializing a
    large one (a quick bound walk gives up as soon as the budget is spent)."""
    if _spend(value, limit) < 0:
        return None
    text = literal(value)
    return text if len(text) <= limit else None


def _spend(value: JsonValue, budget: int) -> int:
    """The budget left after writing `value`, negative once it ran out (escapes are not counted,
    the final length check catches them)."""
    if budget < 0:
        return budget
    if isinstance(value, dict):
        budget -= 2
        for key, item in value.items():
            budget = _spend(item, budget - len(key) - 4)
            if budget < 0:
                return budget
        return budget
    if isinstance(value, list):
        budget -= 2
        for item in value:
            budget = _spend(item, budget - 1)
            if budget < 0:
                return budget
        return budget
    if isinstance(value, str):
        return budget - len(value) - 2
    return budget - 5


def _hint(value: dict[str, JsonValue]) -> str | None:
    """The member that names an object (an array of them reads as a list of names, not of "{17 keys}")."""
    for key in HINT_KEYS:
        named = value.get(key)
        if isinstance(named, str | int) and not isinstance(named, bool):
            return f"{key}: {brief(named, 40)}"
    return None


def brief(value: JsonValue, limit: int = OLD_PREVIEW) -> str:
    """A value in at most about `limit` characters: the old side of "old → new"."""
    if isinstance(value, dict | list):
        return inline_preview(value, limit) or summary(value)
    if isinstance(value, str) and len(value) > limit:
        return literal(value[:limit]) + "…"
    return literal(value)


def make_row(
    address: Address, key: str | int | None, value: JsonValue, mark: Mark = "", inner: bool = False
) -> Row:
    kind = kind_of(value)
    if isinstance(value, dict | list):
        preview = inline_preview(value)
        hint = _hint(value) if preview is None and isinstance(value, dict) else None
        return Row(address, key, kind, preview or "", len(value), mark, inner, hint=hint)
    if isinstance(value, str):
        cut = len(value) > STRING_PREVIEW
        return Row(
            address,
            key,
            kind,
            literal(value[:STRING_PREVIEW] if cut else value),
            len(value),
            mark,
            False,
            None,
            cut,
        )
    return Row(address, key, kind, literal(value), 0, mark)


# --- steps -----------------------------------------------------------------------------------------


class _Missing:
    """No value at an address (a stale address from the browser)."""


MISSING = _Missing()

# One entry of a container's merged sequence: (removed, key or index). Removed entries name the old
# container's key or index; the others the new one's.
_Slot: TypeAlias = tuple[bool, str | int]


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
        self, new: JsonValue, old: JsonValue | _Missing = MISSING, changes: Sequence[Change] = ()
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
        self._merged: dict[Path, list[_Slot] | None] = {}
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
        return not isinstance(self.old, _Missing)

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

    def value_at(self, address: Address) -> JsonValue | _Missing:
        if not address.rel:
            return _walk(self.new, address.base)
        old_base = self.old_path(address.base)
        if old_base is None or isinstance(self.old, _Missing):
            return MISSING
        return _walk(self.old, old_base + address.rel)

    def old_path(self, path: Path) -> Path | None:
        """Where the value at new `path` was in the old document, or None if it was not there."""
        if path in self._old_paths:
            return self._old_paths[path]
        found = self._find_old_path(path)
        self._old_paths[path] = found
        return found

    def _find_old_path(self, path: Path) -> Path | None:
        if isinstance(self.old, _Missing):
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
            old = MISSING if old_base is None or isinstance(self.old, _Missing) else _walk(self.old, old_base)
            new = _walk(self.new, base)
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
        rows = [self._new_row(address.base, key, _member(value, key), inherited) for key in keys]
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
        rows = [make_row(address.child(key), key, _member(value, key), "removed") for key in keys]
        return Level(address, start, total, tuple(rows))

    def _merged_level(
        self,
        address: Address,
        value: dict[str, JsonValue] | list[JsonValue],
        slots: list[_Slot],
        start: int,
        count: int,
    ) -> Level:
        total = len(slots)
        start = max(0, min(start, total))
        end = min(total, start + max(0, count))
        old_base = self.old_path(address.base)
        old = (
            _walk(self.old, old_base)
            if old_base is not None and not isinstance(self.old, _Missing)
            else MISSING
        )
        rows: list[Row] = []
        for removed, key in slots[start:end]:
            if removed:
                gone = _member(old, key) if isinstance(old, dict | list) else None
                rows.append(make_row(Address(address.base, (key,)), key, gone, "removed"))
            else:
                rows.append(self._new_row(address.base, key, _member(value, key), ""))
        return Level(address, start, total, tuple(rows))

    def _merged_slots(self, base: Path) -> list[_Slot] | None:
        """The merged old/new sequence of the container at new `base`, when something was removed
        directly below it (otherwise its own members are the sequence)."""
        if base in self._merged:
            return self._merged[base]
        slots = self._build_slots(base)
        self._merged[base] = slots
        return slots

    def _build_slots(self, base: Path) -> list[_Slot] | None:
        direct = self._by_parent.get(base, [])
        if not any(change.op == "remove" for change in direct):
            return None
        old_base = self.old_path(base)
        if old_base is None or isinstance(self.old, _Missing):
            return None
        old, new = _walk(self.old, old_base), _walk(self.new, base)
        if isinstance(old, dict) and isinstance(new, dict):
            return _merge_keys(old, new, {c.path[-1] for c in direct if c.op == "remove"})
        rows = self._array_rows(base)
        if rows is None:
            return None
        slots: list[_Slot] = []
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
                return _index_in(container, key)
            slots = self._merged_slots(address.base)
            if slots is None:
                return None
            return _slot_index(slots, (True, key))
        if not address.base:
            return None
        parent, key = address.base[:-1], address.base[-1]
        slots = self._merged_slots(parent)
        if slots is not None:
            return _slot_index(slots, (False, key))
        return _index_in(_walk(self.new, parent), key)

    # -- views ----------------------------------------------------------------------------------

    def root_row(self) -> Row:
        return make_row(ROOT, None, self.new, self._mark_of(()))

    def initial_levels(self, opened: Iterable[Address] = (), budget: int = INITIAL_ROWS) -> list[Level]:
        """The root level, then the levels leading to the changes and those the user had open, parents
        first, until `budget` rows are spent; each window placed on its first change."""
        if not isinstance(self.new, dict | list):
            return []
        wanted = _Either(self.inner, {a.base for a in opened if not a.rel})
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

    def _window_start(self, base: Path, wanted: _Either) -> int:
        """Where a level's window starts: a few rows above its first changed or wanted (open) row."""
        if base not in self.inner:
            return 0  # nothing changed below: from the top, as the user left it
        slots = self._merged_slots(base)
        value = _walk(self.new, base)
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
        if isinstance(value, _Missing):
            return None
        if isinstance(value, str):
            return value if limit is None else value[:limit]
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONEncodeError:
            return json.dumps(value, ensure_ascii=False, indent=2)


class _Either:
    """Membership in either of two sets of paths, without copying the (maybe large) first one."""

    __slots__ = ("first", "second")

    def __init__(self, first: frozenset[Path], second: set[Path]) -> None:
        self.first, self.second = first, second

    def __contains__(self, path: object) -> bool:
        return path in self.first or path in self.second


def _with_old(row: Row, old: str) -> Row:
    return Row(
        row.address, row.key, row.kind, row.text, row.count, row.mark, row.inner, old, row.truncated, row.hint
    )


def _walk(value: JsonValue, path: Path) -> JsonValue | _Missing:
    for step in path:
        if isinstance(value, dict) and isinstance(step, str):
            if step not in value:
                return MISSING
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            return MISSING
    return value


def _member(container: dict[str, JsonValue] | list[JsonValue], key: str | int) -> JsonValue:
    if isinstance(container, dict):
        return container[key] if isinstance(key, str) else None
    return container[key] if isinstance(key, int) else None


def _index_in(container: JsonValue | _Missing, key: str | int) -> int | None:
    if isinstance(container, list) and isinstance(key, int):
        return key if 0 <= key < len(container) else None
    if isinstance(container, dict) and isinstance(key, str) and key in container:
        for n, k in enumerate(container):
            if k == key:
                return n
    return None


def _slot_index(slots: list[_Slot], wanted: _Slot) -> int | None:
    for n, slot in enumerate(slots):
        if slot == wanted:
            return n
    return None


def _merge_keys(old: dict[str, JsonValue], new: dict[str, JsonValue], removed: set[str | int]) -> list[_Slot]:
    """New members in order, each removed member right after the one it followed in the old object."""
    after: dict[str | None, list[str]] = {}
    last: str | None = None
    for key in old:
        if key in removed:
            after.setdefault(last, []).append(key)
        elif key in new:
            last = key
    out: list[_Slot] = [(True, key) for key in after.get(None, [])]
    for key in new:
        out.append((False, key))
        out.extend((True, gone) for gone in after.get(key, []))
    return out


# --- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    path: Path
    where: Literal["key", "value"]
    text: str  # the matching key, or the value briefly

    @property
    def address(self) -> Address:
        return Address(self.path)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    complete: bool  # False when the limit cut the search short


def search(document: JsonValue, query: str, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Keys and scalar values containing `query` (case-insensitive; numbers, booleans and null by
    their JSON text), in document order, at most `limit` of them. Walk large documents off the loop."""
    needle = query.strip().casefold()
    if not needle:
        return SearchResult(query, (), True)
    hits: list[Hit] = []
    for path, key, value in _walk_all(document):
        if isinstance(key, str) and needle in key.casefold():
            hits.append(Hit(path, "key", key))
        elif not isinstance(value, dict | list) and needle in _searchable(value).casefold():
            hits.append(Hit(path, "value", brief(value)))
        else:
            continue
        if len(hits) >= limit:
            return SearchResult(query, tuple(hits), False)
    return SearchResult(query, tuple(hits), True)


def _searchable(value: JsonValue) -> str:
    return value if isinstance(value, str) else literal(value)


def _walk_all(document: JsonValue) -> Iterator[tuple[Path, str | int | None, JsonValue]]:
    """Every node below the root in document order, without recursion (no depth limit)."""
    stack: list[tuple[Path, str | int | None, JsonValue]] = [((), None, document)]
    while stack:
        path, key, value = stack.pop()
        if path:
            yield path, key, value
        if isinstance(value, dict):
            stack.extend(((*path, k), k, v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), i, value[i]) for i in range(len(value) - 1, -1, -1))
