"""The context inspector panel (placeholder until the full panel lands)."""

from __future__ import annotations

from nicegui import ui

from console.clients import SessionClient


class ContextInspector:
    def __init__(self, client: SessionClient) -> None:
        self.client = client
        self.root = ui.element("div").classes("w-full h-full").props("data-testid=context-panel")
