"""A chat view's one channel for a flush tick's text deltas, and its pin to the latest content."""

from __future__ import annotations

from nicegui import ui

from console import jsonvalue
from console.jsonvalue import JsonValue
from console.ui import wire


class ChatHub(ui.element, component="chat_hub.js"):
    """Delivers a tick's deltas in one message and keeps the chat pinned to the latest content."""

    def __init__(self, scroller: ui.element) -> None:
        super().__init__()
        self._props["scroller"] = scroller.id

    def apply(self, batch: list[tuple[int, str]]) -> None:
        # A direct call of the function chat_hub.js defines, its text JSON-encoded once (orjson).
        payload: list[JsonValue] = [[element_id, text] for element_id, text in batch]
        wire.run_js(self, f"acText({jsonvalue.dumps(payload)})")

    def finish(self, element_ids: list[int]) -> None:
        """These text runs are complete (after the text sent before): flush what their parsers hold."""
        wire.call(self, "finish", list[JsonValue](element_ids))

    def hold(self) -> None:
        """Earlier messages go in above: the browser keeps the message at the top of the view in place
        (called before they are drawn, in order with their elements)."""
        wire.call(self, "hold")
