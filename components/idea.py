"""`idea`: one idea an agent suggests saving (chat dialect, seed 002: `{"tag": "idea", "chunk"}`).

A compact card: a lightbulb and the idea's text, which grows as its chunks stream in. The lightbulb
lights up once the idea is complete (saved); the text is shown as text, never as HTML or Markdown.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

from nicegui import Client, context, ui
from pydantic import BaseModel, ConfigDict

from components.registry import FieldSlot, ensure_styles, mark_complete, mark_root, register, validate_partial
from console.jsonvalue import JsonValue

TYPE = "idea"

_CSS = """
.ac-idea { max-width: 28rem; display: flex; flex-direction: row; align-items: flex-start; gap: 0.5rem;
  padding: 0.4rem 0.75rem; border-radius: 0.5rem; border: 1px solid rgb(234 179 8 / 0.35);
  background: rgb(254 249 195 / 0.35); }
.body--dark .ac-idea { background: rgb(113 63 18 / 0.25); border-color: rgb(234 179 8 / 0.3); }
.ac-idea-icon { color: #a3a3a3; transition: color 320ms ease-out; flex: none; margin-top: 0.1rem; }
.ac-idea[data-complete=true] .ac-idea-icon { color: #eab308; }
"""
_styled: weakref.WeakSet[Client] = weakref.WeakSet()


def _ensure_idea_styles() -> None:
    """Add the card's styles to the current page, once per page."""
    ensure_styles()
    if context.client not in _styled:
        _styled.add(context.client)
        ui.add_css(_CSS)


class IdeaFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str | None = None


@register(TYPE, model=IdeaFields)
class IdeaView:
    def __init__(self) -> None:
        _ensure_idea_styles()
        self.root = mark_root(ui.element("div").classes("ac-component ac-idea"), TYPE)
        with self.root:
            ui.icon("lightbulb", size="1.2rem").classes("ac-idea-icon")
            self.text = FieldSlot("text", width="10rem", classes="text-sm", stream=True)

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        values, problems = validate_partial(IdeaFields, fields)
        self.text.apply(fields, problems, complete, values.text)
        mark_complete(self.root, complete)
