"""A flush tick that runs only when there is something to flush.

A `ui.timer` wakes the event loop and starts a task every interval, whether anything changed or not:
the five timers of a session page cost an idle page about 1% of a core. A `Ticker` is woken by the
change that needs it (`wake()`) and runs its callback in the page's context at once if it has not run
for an interval, else when the interval is over (changes in between coalesce); then it sleeps until
the next change: a page that shows nothing new costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nicegui import app, ui

from console.ui.scope import on_leave


class Ticker:
    def __init__(self, interval: float, callback: Callable[[], None]) -> None:
        self.interval = interval
        self.callback = callback
        self._slot = ui.context.slot  # where elements made by the callback go, as with a ui.timer
        self._client = ui.context.client
        self._handle: asyncio.TimerHandle | None = None
        self._lazy = False  # the handle is `wake_by`'s: a `wake()` brings it forward
        self._last = -interval  # when the callback last ran (monotonic)
        self._closed = False
        on_leave(self.close)

    def wake(self, *, wait: bool = False) -> None:
        """Run the callback as soon as an interval has passed since its last run (unless already due);
        `wait`: a whole interval from now at the earliest (after the page being built has gone out)."""
        handle = self._handle
        if handle is not None:
            if not self._lazy or wait:
                return  # already due as soon as it may be
            handle.cancel()  # due later (`wake_by`): now sooner
            self._handle = None
        self._schedule(self.interval if wait else self._last + self.interval - time.monotonic(), lazy=False)

    def wake_by(self, seconds: float) -> None:
        """Run the callback within `seconds` at the latest (and not before an interval has passed since
        its last run): for what can wait longer than a tick. A later `wake()` brings it forward."""
        if self._handle is None:
            self._schedule(max(seconds, self._last + self.interval - time.monotonic()), lazy=True)

    def _schedule(self, delay: float, *, lazy: bool) -> None:
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # built before the loop runs (a page rendered ahead): the page wakes it
            return
        self._lazy = lazy
        self._handle = loop.call_later(max(0.0, delay), self._run)

    def close(self) -> None:
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        self._handle = None
        if self._closed or self._client.is_deleted:
            return
        self._last = time.monotonic()
        with self._slot:
            try:
                self.callback()
            except Exception as exc:  # as a ui.timer would: reported, and the page goes on
                app.handle_exception(exc)
