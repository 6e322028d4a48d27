"""A running tool call's elapsed time, counted in the browser."""

from __future__ import annotations

from nicegui import ui


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
