"""The context inspector's browser elements: the lazily expanded tree and the lists of paths.

The tree (`ContextTree`, drawn by inspector.js) never holds the whole document: the server sends the
levels a step opens with as JSON text in one prop, then one level per node the user opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from nicegui import ui

from console import jsonvalue
from console.json_rows import ROOT, Address, Level, Row
from console.jsonvalue import JsonObject


class ContextTree(ui.element, component="inspector.js"):
    """The lazily expanded tree; the document stays on the server."""

    def __init__(self) -> None:
        super().__init__()
        self._props["view"] = ""
        self.version = 0  # of the view; the browser's requests and our replies carry it
        self._sent: list[str] = []  # rows sent for this view, as the user reads them

    def show(self, levels: list[Level], scalar: Row | None = None) -> int:
        """Start a new view with these levels open; returns its version."""
        self.version += 1
        view: JsonObject = {
            "v": self.version,
            "root": ROOT.encode(),
            "levels": [lv.to_json() for lv in levels],
        }
        if scalar is not None:
            view["scalar"] = scalar.to_json()
        self._sent = [_label(row) for level in levels for row in level.rows]
        if scalar is not None:
            self._sent.append(_label(scalar))
        # Text, not a dict: NiceGUI would walk a nested dict of rows on every update.
        self._props["view"] = jsonvalue.dumps(view)
        self.update()
        return self.version

    def send_level(self, level: Level) -> None:
        self._sent.extend(_label(row) for row in level.rows)
        self._send("level", {"v": self.version, "level": level.to_json()})

    def send_reveal(self, levels: list[Level], target: Address) -> None:
        self._sent.extend(_label(row) for level in levels for row in level.rows)
        payload: JsonObject = {
            "v": self.version,
            "levels": [lv.to_json() for lv in levels],
            "target": target.encode(),
        }
        self._send("reveal", payload)

    def send_value(self, address: Address, purpose: str, text: str, more: int) -> None:
        payload: JsonObject = {
            "v": self.version,
            "a": address.encode(),
            "purpose": purpose,
            "text": text,
            "more": more,
        }
        self._send("value", payload)

    def _send(self, method: str, payload: JsonObject) -> None:
        self.run_method(method, jsonvalue.dumps(payload))

    def _displayed_contents(self, *, only_visible: bool) -> list[object]:
        # What the simulated user of the tests reads: the rows this view has been sent.
        return [*super()._displayed_contents(only_visible=only_visible), *self._sent]


@dataclass(frozen=True, slots=True)
class PathItem:
    path: str
    text: str = ""
    change: str = ""

    def to_json(self) -> JsonObject:
        return {"p": self.path, "t": self.text, "c": self.change}


class PathList(ui.element, component="inspector_list.js"):
    """Paths to jump to (changes, search hits), drawn in the browser from one text prop: a few hundred
    server-side elements per step would cost tens of milliseconds of event loop each time."""

    def __init__(self, testid: str, on_pick: Callable[[int], Awaitable[None]]) -> None:
        super().__init__()
        self._props["testid"] = testid
        self._props["items"] = ""
        self.items: list[PathItem] = []
        self.on("pick", lambda event: self._pick(event.args, on_pick))

    def set_items(self, items: list[PathItem]) -> None:
        self.items = items
        self._props["items"] = jsonvalue.dumps([item.to_json() for item in items])
        self.update()

    async def _pick(self, args: object, on_pick: Callable[[int], Awaitable[None]]) -> None:
        index = _int(args.get("i")) if isinstance(args, dict) else None
        if index is not None and 0 <= index < len(self.items):
            await on_pick(index)

    def _displayed_contents(self, *, only_visible: bool) -> list[object]:
        return [
            *super()._displayed_contents(only_visible=only_visible),
            *(f"{i.path} {i.text}" for i in self.items),
        ]


def _label(row: Row) -> str:
    key = "" if row.key is None else f"{row.key}: "
    old = "" if row.old is None else f"{row.old} → "
    hint = "" if row.hint is None else f" {row.hint}"
    return f"{key}{old}{row.text or summary_text(row)}{hint}"


def summary_text(row: Row) -> str:
    if row.kind == "object":
        return f"{{{row.count} keys}}"
    if row.kind == "array":
        return f"[{row.count} items]"
    return row.text


@dataclass(frozen=True, slots=True)
class TreeRequest:
    """What the tree in the browser asks for: rows of a level, or a value to show or copy."""

    version: int
    address: Address
    start: int = 0
    count: int = 0
    purpose: Literal["full", "copy"] = "copy"

    @staticmethod
    def parse(payload: object) -> TreeRequest | None:
        if not isinstance(payload, dict):
            return None
        version, start, count = (_int(payload.get(key)) for key in ("v", "s", "n"))
        address = Address.decode(payload.get("a"))
        if version is None or address is None:
            return None
        purpose: Literal["full", "copy"] = "full" if payload.get("purpose") == "full" else "copy"
        return TreeRequest(version, address, max(0, start or 0), max(0, count or 0), purpose)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
