"""Small custom elements that keep per-token traffic independent of the length of what is shown."""

from __future__ import annotations

from nicegui import ui


class StreamText(ui.element, component="stream_text.js"):
    """A text run that grows in the browser: only the new characters cross the wire."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._props["text"] = text


class ChatHub(ui.element, component="chat_hub.js"):
    """Delivers a tick's deltas in one message and keeps the chat pinned to the latest content."""

    def __init__(self, scroller_id: str) -> None:
        super().__init__()
        self._props["scroller"] = scroller_id

    def apply(self, batch: list[tuple[int, str]]) -> None:
        self.run_method("apply", batch)


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
