"""The export's state on the overview (sent, queued, failing) with its off switch; and in /metrics."""

from __future__ import annotations

from nicegui import events, ui

from console.clients import SessionClient
from console.metrics import Exposition
from console.otel.download import session_file
from console.otel.exporter import ExportStats, OtelExport
from console.ui.testid import testid

REFRESH = 1.0


def describe(stats: ExportStats) -> str:
    if not stats.enabled:
        return f"OpenTelemetry export off ({stats.destination})"
    text = f"OpenTelemetry → {stats.destination}: {stats.sent:,} spans sent, {stats.queued:,} queued"
    if stats.failed:
        text += f", {stats.failed:,} failed"
    if stats.failing:
        text += f" · failing: {stats.last_error}"
    return text


class ExportStatus:
    """One line above the session cards; nothing at all when no endpoint is configured."""

    def __init__(self, export: OtelExport) -> None:
        self.export = export
        with ui.element("div").classes("ac-otlp") as self.root:
            self.label = testid(ui.label("").classes("ac-otlp-text"), "otlp-status")
            self.switch = ui.switch("Export", value=export.enabled, on_change=self._on_switch)
            testid(self.switch, "otlp-switch").props("dense")
        self._shown = ""
        self.refresh()
        ui.timer(REFRESH, self.refresh)

    def _on_switch(self, event: events.ValueChangeEventArguments[bool | None]) -> None:
        self.export.set_enabled(bool(event.value))
        self.refresh()

    def refresh(self) -> None:
        stats = self.export.stats()
        text = describe(stats)
        if text != self._shown:  # one update when something changed, not one a second
            self._shown = text
            self.label.set_text(text)
            self.label.props(f"data-state={stats.state}")


def download_button(client: SessionClient) -> ui.button:
    """The timeline's button: this session as an OTLP/JSON file."""

    async def download() -> None:
        name, content = await session_file(client)
        ui.download.content(content, name, "application/json")

    button = testid(ui.button("OTLP", on_click=download), "timeline-otlp").props("flat dense no-caps size=sm")
    return button.tooltip("Export as OpenTelemetry (OTLP/JSON, GenAI spans)")


def metrics(stats: ExportStats) -> str:
    """The export's families in the Prometheus text format (appended to /metrics)."""
    out = Exposition()
    rows = (
        ("agent_console_otlp_enabled", "gauge", "1 while spans are exported.", int(stats.enabled)),
        ("agent_console_otlp_spans_total", "counter", "Spans written for export.", stats.spans),
        ("agent_console_otlp_sent_total", "counter", "Spans the endpoint accepted.", stats.sent),
        ("agent_console_otlp_failed_total", "counter", "Spans whose export failed.", stats.failed),
        ("agent_console_otlp_queued", "gauge", "Spans written, not yet sent or failed.", stats.queued),
        ("agent_console_otlp_failing", "gauge", "1 when the last export failed.", int(stats.failing)),
    )
    for name, kind, help_text, value in rows:
        out.family(name, kind, help_text)
        out.sample(name, value)
    return out.text()
