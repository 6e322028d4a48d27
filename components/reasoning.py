"""`reasoning`: what a model thought before answering (AG-UI REASONING_*), shown collapsed.

The text arrives whole when the reasoning message ends (the model collects its deltas), so the view
sets it once; until then the header says the agent is thinking. Shown as text, never as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from components.registry import mark_complete, mark_root, register
from console.jsonvalue import JsonValue
from console.ui.testid import testid

TYPE = "reasoning"


@register(TYPE)
class ReasoningView:
    def __init__(self) -> None:
        self.root = mark_root(ui.element("div").classes("ac-component ac-reasoning"), TYPE)
        with self.root:
            self.fold = testid(ui.expansion("Thinking…", icon="psychology"), "reasoning").props("dense")
            with self.fold:
                self.text = ui.label("").classes("text-sm whitespace-pre-wrap text-slate-600")

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        text = fields.get("text")
        if complete and isinstance(text, str) and self.text.text != text:
            self.text.set_text(text)
            self.fold.set_text(f"Reasoning ({len(text):,} characters)")
        mark_complete(self.root, complete)
