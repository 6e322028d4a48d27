"""A chat view's one channel for a flush tick's text deltas, and its pin to the latest content."""

from __future__ import annotations

from nicegui import ui

from console import jsonvalue
from console.jsonvalue import JsonValue


class ChatHub(ui.element, component="chat_hub.js"):
    """Delivers a tick's deltas in one message and keeps the chat pinned to the latest content."""

    def __init__(self, scroller: ui.element) -> None:
        super().__init__()
        self._props["scroller"] = scroller.id

    def apply(self, batch: list[tuple[int, str]]) -> None:
        # A direct call of the function chat_hub.js defines, its text JSON-encoded once (orjson).
        if not self.is_deleted:
            payload: list[JsonValue] = [[element_id, text] for element_id, text in batch]
            self.client.run_javascript(f"acText({jsonvalue.dumps(payload)})")

    def finish(self, element_ids: list[int]) -> None:
        """These text runs are complete (after the text sent before): flush what their parsers hold."""
        self.run_method("finish", element_ids)

    def hold(self) -> None:
        """Earlier messages go in above: the browser keeps the message at the top of the view in place."""
        self.run_method("hold")
