"""The rows of a JSON tree view and the addresses that name them (`console.json_tree` builds them).

An `Address` names a row: `base` is a path in the new document; a row that exists only in the old
document (removed, or inside something removed) adds `rel`, its path relative to the *old* counterpart
of `base`. So a removed array item is ``Address(("items",), (3,))``: old item 3 of the array at
``$.items``, which is exactly the diff's own path for that removal. Addresses travel to the browser
as compact JSON text (`encode`/`decode`) and come back when a node is opened. `format_path` writes a
path the way a JavaScript reader would (``$.tables[3].name``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

import orjson

from console import jsonvalue
from console.diff import Path
from console.jsonvalue import JsonObject, JsonValue

Kind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Mark: TypeAlias = Literal["", "added", "removed", "changed"]

PAGE = 100  # rows per level window: a level of 50,000 items opens as fast as one of 10
STRING_PREVIEW = 160  # characters of a string shown before "show all"
FULL_STRING = 100_000  # characters "show all" sends; the rest is for "copy value"
INLINE_PREVIEW = 56  # a container whose compact JSON fits this is shown inline when collapsed
OLD_PREVIEW = 80
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
