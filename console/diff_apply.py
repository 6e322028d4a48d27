"""Applying a diff (`console.diff`) to the old document: the new one, rebuilt.

`apply(old, diff(old, new)) == new` for any two documents (the tests check it on every shape); a change
that does not fit the document raises `ApplyError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.diff import Change, Path, show_path
from console.jsonvalue import JsonValue


class ApplyError(ValueError):
    """The changes do not fit the value they are applied to."""


# --- apply -----------------------------------------------------------------------------------------


class _Node:
    """The changes at one path: its own remove and add/replace, and the paths below it."""

    __slots__ = ("children", "put", "remove")

    def __init__(self) -> None:
        self.remove: Change | None = None
        self.put: Change | None = None
        self.children: dict[str | int, _Node] = {}


def apply(old: JsonValue, changes: Sequence[Change]) -> JsonValue:
    """`old` with `changes` applied (path semantics in the module docstring).

    Never mutates `old`; the result shares the subtrees no change touches with it, so treat both as
    immutable. Added object members come last (JSON objects are unordered). Raises ApplyError when a change does not fit (missing key, index out of range, a path
    through a scalar).
    """
    root = _Node()
    for change in changes:
        node = root
        for step in change.path:
            child = node.children.get(step)
            if child is None:
                child = node.children[step] = _Node()
            node = child
        if change.op == "remove":
            node.remove = change
        else:
            node.put = change
    if root.remove is not None:
        raise ApplyError("the root cannot be removed")
    value = root.put.new if root.put is not None else old
    return _apply_below(value, root, ())


def _apply_below(value: JsonValue, node: _Node, path: Path) -> JsonValue:
    if not node.children:
        return value
    if isinstance(value, dict):
        return _apply_object(value, node, path)
    if isinstance(value, list):
        return _apply_array(value, node, path)
    raise ApplyError(f"{show_path(path)}: changes below a {type(value).__name__}")


def _apply_object(value: dict[str, JsonValue], node: _Node, path: Path) -> JsonValue:
    out = dict(value)  # shallow: the untouched members stay shared
    for key, child in node.children.items():
        if not isinstance(key, str):
            raise ApplyError(f"{show_path(path)}: an object has no index {key!r}")
        if child.remove is not None:
            if key not in out:
                raise ApplyError(f"{show_path((*path, key))}: nothing to remove")
            del out[key]
        if child.put is not None:
            out[key] = child.put.new
        if child.children:
            if key not in out:
                raise ApplyError(f"{show_path((*path, key))}: no such member")
            out[key] = _apply_below(out[key], child, (*path, key))
    return out


def _apply_array(value: list[JsonValue], node: _Node, path: Path) -> JsonValue:
    removed: set[int] = set()
    added: dict[int, JsonValue] = {}
    edits: list[tuple[int, _Node]] = []
    for key, child in node.children.items():
        if not isinstance(key, int) or isinstance(key, bool):
            raise ApplyError(f"{show_path(path)}: an array has no member {key!r}")
        if child.remove is not None:
            if not 0 <= key < len(value):
                raise ApplyError(f"{show_path((*path, key))}: nothing to remove")
            removed.add(key)
        if child.put is not None and child.put.op == "add":
            added[key] = child.put.new
        if (child.put is not None and child.put.op == "replace") or child.children:
            edits.append((key, child))
    kept = [item for i, item in enumerate(value) if i not in removed] if removed else value
    out = _merge_added(kept, added, path) if added else list(kept)
    for key, child in edits:
        if not 0 <= key < len(out):
            raise ApplyError(f"{show_path((*path, key))}: index out of range")
        if child.put is not None and child.put.op == "replace":
            out[key] = child.put.new
        if child.children:
            out[key] = _apply_below(out[key], child, (*path, key))
    return out


def _merge_added(kept: list[JsonValue], added: dict[int, JsonValue], path: Path) -> list[JsonValue]:
    """Insert `added` at their new indices, ascending, the kept items filling the rest in order."""
    out: list[JsonValue] = []
    taken = 0
    for j in sorted(added):
        fill = j - len(out)
        if fill > len(kept) - taken:
            raise ApplyError(f"{show_path((*path, j))}: index beyond the end of the array")
        out.extend(kept[taken : taken + fill])
        taken += fill
        out.append(added[j])
    out.extend(kept[taken:])
    return out
