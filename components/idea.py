"""`idea`: one idea an agent suggests saving (chat dialect, seed 002: `{"tag": "idea", "chunk"}`).

A compact card: a lightbulb and the idea's text, which grows as its chunks stream in. The lightbulb
lights up once the idea is complete (saved); the text is shown as text, never as HTML or Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui
from pydantic import BaseModel, ConfigDict

from components.registry import FieldSlot, mark_complete, mark_root, register, validate_partial
from console.jsonvalue import JsonValue

TYPE = "idea"


class IdeaFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str | None = None


@register(TYPE, model=IdeaFields)
class IdeaView:
    def __init__(self) -> None:
        self.root = mark_root(ui.element("div").classes("ac-component ac-idea"), TYPE)
        with self.root:
            ui.icon("lightbulb", size="1.2rem").classes("ac-idea-icon")
            self.text = FieldSlot("text", width="10rem", classes="text-sm", stream=True)

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        values, problems = validate_partial(IdeaFields, fields)
        self.text.apply(fields, problems, complete, values.text)
        mark_complete(self.root, complete)
