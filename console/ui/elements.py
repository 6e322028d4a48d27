"""Small custom elements that keep per-token traffic independent of the length of what is shown."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from console import jsonvalue
from console.jsonvalue import JsonValue


class StreamText(
    ui.element,
    component="stream_text.js",
    dependencies=["vendor/smd.min.js", "text_lines.js", "markdown/md_render.js", "markdown/md_highlight.js"],
):
    """A text run that grows in the browser: only the new characters cross the wire.

    With `markdown` it is rendered as Markdown as it streams; `done` says it is complete already
    (a run shown again after a reload), else `ChatHub.finish` says so when it completes.
    """

    def __init__(self, text: str = "", *, markdown: bool = False, done: bool = False) -> None:
        super().__init__()
        self._props["text"] = text
        self._props["markdown"] = markdown
        self._props["done"] = done

    def mark_done(self) -> None:
        """Complete from now on, for a later render of this element; the browser is told by the hub."""
        self._props["done"] = True


class FieldStream(StreamText):
    """A component card's text field that grows like a chat text run (a streamed idea).

    While its value streams, the chat's hub appends each flush tick's new characters (`sent` counts
    what the browser has been sent); a value set whole (`set_text`) replaces what is shown.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.field = name
        self.sent = 0
        self.streaming = False
        self.source: object | None = None  # the streamed value being followed
        self._whole: str | None = None

    def set_text(self, text: str) -> None:
        """Show `text` as the whole value; ignored while the value streams (its text comes by appends)."""
        if self.streaming or text == self._whole:
            return
        self.replace(text)

    def replace(self, text: str) -> None:
        self._whole = text
        self.sent = len(text)
        self._props["text"] = text  # for a browser that mounts the element after this
        self.run_method("replace", text)

    def follow(self, source: object, length: int, tail: Callable[[int], str]) -> str:
        """The characters of the streamed value `source` (of `length`; `tail(n)`: its last n) not yet
        sent. A new source (the value was set whole, then streamed again) starts the text again."""
        if source is not self.source:
            shown, self.source, self.streaming, self.sent = self._whole, source, True, 0
            if shown:  # once per stream: it goes on from the value shown whole, or replaces it
                text = tail(length)
                if text.startswith(shown):
                    self.sent = len(shown)
                else:
                    self.replace(text)
            self._whole = None
        delta = tail(length - self.sent) if length > self.sent else ""
        self.sent = max(self.sent, length)
        return delta

    def stop(self) -> None:
        """The value is no longer streamed (set whole, or gone): `set_text` shows it from now on."""
        self.source, self.streaming = None, False

    def begin(self, source: object, text: str) -> None:
        """The text so far, drawn with the element itself (a card shown after its value streamed)."""
        self._props["text"] = text
        self.source, self.streaming, self.sent = source, True, len(text)


class ChatHub(ui.element, component="chat_hub.js"):
    """Delivers a tick's deltas in one message and keeps the chat pinned to the latest content."""

    def __init__(self, scroller_id: str) -> None:
        super().__init__()
        self._props["scroller"] = scroller_id

    def apply(self, batch: list[tuple[int, str]]) -> None:
        # A direct call of the function chat_hub.js defines, its text JSON-encoded once (orjson).
        if not self.is_deleted:
            payload: list[JsonValue] = [[element_id, text] for element_id, text in batch]
            self.client.run_javascript(f"acText({jsonvalue.dumps(payload)})")

    def finish(self, element_ids: list[int]) -> None:
        """These text runs are complete (after the text sent before): flush what their parsers hold."""
        self.run_method("finish", element_ids)


class Elapsed(ui.element, component="elapsed.js"):
    """Seconds since something started, counted in the browser until it stops."""

    def __init__(self, elapsed: float, running: bool) -> None:
        super().__init__()
        self._props["elapsed"] = round(elapsed, 3)
        self._props["running"] = running

    def stop(self, elapsed: float) -> None:
        self._props["elapsed"] = round(elapsed, 3)
        self._props["running"] = False
        self.update()


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
