"""A part of the page replaced whole, and the cleanups that go with it."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


class Scope(ui.element):
    """A part of the page that is replaced whole (a session's console when a trace opens in its place).

    The views inside it follow a conversation; when the part goes, so must their subscriptions, or the
    old session would keep feeding views nobody sees. NiceGUI calls `_handle_delete` on every element
    that leaves the page, including when the tab closes.
    """

    def __init__(self) -> None:
        super().__init__("div")
        self.cleanups: list[Callable[[], object]] = []

    def _handle_delete(self) -> None:
        for cleanup in self.cleanups:
            cleanup()
        self.cleanups.clear()
        super()._handle_delete()


def on_leave(cleanup: Callable[[], object]) -> None:
    """Run `cleanup` when the part of the page being built goes: its Scope is replaced or the tab closes."""
    element: ui.element | None = ui.context.slot.parent
    while element is not None:
        if isinstance(element, Scope):
            element.cleanups.append(cleanup)
            return
        element = element.parent_slot.parent if element.parent_slot is not None else None
    ui.context.client.on_delete(cleanup)
