"""The fallback for a component type nobody registered: its fields as a key/value card, as text.

Rows are added in the order the fields arrive and updated in place; nothing upstream sends is
interpreted (no links, no images, no HTML).
"""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from components.registry import display_text, mark_complete, mark_root
from console.jsonvalue import JsonValue
from console.ui.testid import testid

MAX_ROWS = 50  # a component with thousands of fields is a bug upstream; show the start and a count


class GenericView:
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.root = mark_root(ui.card().classes("ac-component gap-1"), type_name)
        with self.root:
            with ui.row().classes("items-center no-wrap gap-2"):
                ui.icon("widgets", size="1.2rem").classes("text-gray-500")
                testid(
                    ui.label(type_name).classes("text-sm font-semibold text-gray-700 break-all"),
                    "generic-type",
                )
            self.rows = ui.column().classes("gap-1 w-full")
            with self.rows:
                self.placeholder = ui.skeleton("text", width="12rem")
            self.more = ui.label("").classes("text-xs text-gray-500")
            self.more.set_visibility(False)
        self.values: dict[str, ui.label] = {}
        self.empty: ui.label | None = None

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        for key, value in fields.items():
            text = display_text(value)
            label = self.values.get(key)
            if label is None:
                if len(self.values) >= MAX_ROWS:
                    continue
                label = self._row(key)
            if label.text != text:
                label.set_text(text)
                label.classes(add="ac-in")
        hidden = len(fields) - len(self.values)
        self.more.set_text(f"… and {hidden} more fields" if hidden > 0 else "")
        self.more.set_visibility(hidden > 0)
        self.placeholder.set_visibility(not complete)
        if complete and not fields and self.empty is None:
            with self.rows:
                self.empty = ui.label("no fields").classes("text-sm text-gray-500")
        mark_complete(self.root, complete)

    def _row(self, key: str) -> ui.label:
        with self.rows:
            with ui.row().classes("no-wrap gap-3 w-full items-baseline ac-appear") as row:
                ui.label(key).classes("ac-key break-all")
                value = testid(ui.label("").classes("ac-field text-sm break-words min-w-0"), f"field-{key}")
            row.props["data-field"] = key
        # New rows go above the placeholder, which keeps saying that more may come.
        row.move(self.rows, target_index=len(self.values))
        self.values[key] = value
        return value
