"""Walking a JSON document by path, and the merged member order of an old and a new container (the
removed members at their old places): what `console.json_tree` needs of both documents of a step."""

from __future__ import annotations

from typing import TypeAlias

from console.diff import Path
from console.jsonvalue import JsonValue


class Missing:
    """No value at an address (a stale address from the browser)."""


MISSING = Missing()

# One entry of a container's merged sequence: (removed, key or index). Removed entries name the old
# container's key or index; the others the new one's.
Slot: TypeAlias = tuple[bool, str | int]


class Either:
    """Membership in either of two sets of paths, without copying the (maybe large) first one."""

    __slots__ = ("first", "second")

    def __init__(self, first: frozenset[Path], second: set[Path]) -> None:
        self.first, self.second = first, second

    def __contains__(self, path: object) -> bool:
        return path in self.first or path in self.second


def walk(value: JsonValue, path: Path) -> JsonValue | Missing:
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


def member(container: dict[str, JsonValue] | list[JsonValue], key: str | int) -> JsonValue:
    if isinstance(container, dict):
        return container[key] if isinstance(key, str) else None
    return container[key] if isinstance(key, int) else None


def index_in(container: JsonValue | Missing, key: str | int) -> int | None:
    if isinstance(container, list) and isinstance(key, int):
        return key if 0 <= key < len(container) else None
    if isinstance(container, dict) and isinstance(key, str) and key in container:
        for n, k in enumerate(container):
            if k == key:
                return n
    return None


def slot_index(slots: list[Slot], wanted: Slot) -> int | None:
    for n, slot in enumerate(slots):
        if slot == wanted:
            return n
    return None


def merge_keys(old: dict[str, JsonValue], new: dict[str, JsonValue], removed: set[str | int]) -> list[Slot]:
    """New members in order, each removed member right after the one it followed in the old object."""
    after: dict[str | None, list[str]] = {}
    last: str | None = None
    for key in old:
        if key in removed:
            after.setdefault(last, []).append(key)
        elif key in new:
            last = key
    out: list[Slot] = [(True, key) for key in after.get(None, [])]
    for key in new:
        out.append((False, key))
        out.extend((True, gone) for gone in after.get(key, []))
    return out
