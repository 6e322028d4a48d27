"""On-screen narration of hostile-network scenarios, as the console itself recognises them."""

from __future__ import annotations

import time
from collections import deque

from nicegui import ui

from console.scenarios import Scenario, ScenarioDetector
from console.session import Change, Conversation, TraceAdded
from console.ui.scope import on_leave
from console.ui.testid import testid
from console.ui.ticker import Ticker

SHOW_AT_LEAST = 2.5  # seconds each label stays before the next one may replace it
SHOW_FOR = 6.0  # seconds the last label stays


class Narrator:
    """A label over the page that names each scenario as it happens (`?narrate=1`)."""

    def __init__(self, conversation: Conversation) -> None:
        self.detector = ScenarioDetector()
        self.seen: list[Scenario] = []
        self._queue: deque[Scenario] = deque()
        self._shown_at = 0.0
        with testid(ui.element("div").classes("ac-narration"), "scenario-label") as self.root:
            self.title = ui.label().classes("ac-narration-title")
            self.detail = ui.label().classes("ac-narration-detail")
        self.root.set_visibility(False)
        unsubscribe = conversation.subscribe(self._on_change)
        on_leave(unsubscribe)
        self.ticker = Ticker(0.25, self._advance)  # runs while a scenario is queued or shown

    def _on_change(self, change: Change) -> None:
        if isinstance(change, TraceAdded):
            for scenario in self.detector.feed(change.entry):
                self.seen.append(scenario)
                self._queue.append(scenario)
                self.ticker.wake()
                # Every scenario seen so far, for whoever watches the page (a recording script).
                self.root.props["data-seen"] = ",".join(sorted({s.kind for s in self.seen}))

    def _advance(self) -> None:
        shown_for = time.monotonic() - self._shown_at
        if self._queue and (not self.root.visible or shown_for >= SHOW_AT_LEAST):
            self._show(self._queue.popleft())
        elif self.root.visible and shown_for >= SHOW_FOR:
            self.root.set_visibility(False)
        if self._queue or self.root.visible:
            self.ticker.wake()

    def _show(self, scenario: Scenario) -> None:
        self.root.props["data-kind"] = scenario.kind
        self.title.set_text(scenario.title)
        self.detail.set_text(scenario.detail)
        self.root.set_visibility(True)
        self._shown_at = time.monotonic()
