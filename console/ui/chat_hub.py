"""A chat view's one channel for a flush tick's text deltas, and its pin to the latest content."""

from __future__ import annotations

from nicegui import ui


class ChatHub(ui.element, component="chat_hub.js"):
    """Delivers a tick's deltas in one message and keeps the chat pinned to the latest content."""

    def __init__(self, scroller: ui.element) -> None:
        super().__init__()
        self._props["scroller"] = scroller.id

    def apply(self, batch: list[tuple[int, str]]) -> None:
        self.run_method("apply", batch)

    def finish(self, element_ids: list[int]) -> None:
        """These text runs are complete (after the text sent before): flush what their parsers hold."""
        self.run_method("finish", element_ids)
