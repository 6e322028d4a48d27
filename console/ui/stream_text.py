"""A text run that grows in the browser, and a component card's field that streams like one."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


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
