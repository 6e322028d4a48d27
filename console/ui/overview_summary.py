"""The operations view's summary bar: sessions by state and the totals."""

from __future__ import annotations

from typing import Final

from nicegui import ui

from console.jsonvalue import JsonValue
from console.metrics import STATES
from console.monitor import Summary
from console.ui.testid import testid

STATE_WORDS: Final = {
    "connecting": "connecting",
    "open": "idle",
    "streaming": "streaming",
    "tool_call_pending": "tool",
    "reconnecting": "reconnecting",
    "resuming": "resuming",
    "closed": "closed",
    "crashed": "crashed",
}


class SummaryBar(ui.element, component="overview_summary.js"):
    """Sessions by state and the totals; drawn in the browser from what `shown` holds."""

    def __init__(self) -> None:
        super().__init__()
        self.classes("ac-ov-bar ac-ov-summary")
        testid(self, "overview-summary")
        self.shown: dict[str, JsonValue] = {}

    def view(self, summary: Summary, lag_p99: float) -> dict[str, JsonValue]:
        counts: list[JsonValue] = [
            [state, n, f"{n} {STATE_WORDS[state]}"]
            for state in STATES
            for n in [summary.by_state.get(state, 0)]
        ]
        return {
            "total": f"{summary.sessions} sessions",
            "counts": counts,
            "totals": f"{summary.events_per_s:.0f} events/s · {summary.tokens_per_s:.0f} tokens/s · "
            f"{summary.errors} errors · {summary.reconnects} reconnects · {summary.crashes} crashes · "
            f"loop lag p99 {lag_p99 * 1000:.0f} ms",
        }
