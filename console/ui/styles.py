"""The console's stylesheets: each a file beside what it styles, added once for every page.

`ui.add_css(path, shared=True)` puts a sheet into the head of every page NiceGUI serves from then on,
so the browser has it with the page's first paint, and no page or element has to remember which
sheets it needs or add them again per page. The order is the cascade's: a later sheet wins a tie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from nicegui import ui

_CONSOLE: Final = Path(__file__).parents[1]
_UI: Final = _CONSOLE / "ui"
_COMPONENTS: Final = _CONSOLE.parent / "components"

SHEETS: Final = (
    _UI / "tailwind.css",  # the Tailwind utilities the pages use, built by scripts/build_tailwind.py
    _UI / "style.css",  # every page: colours, chat, status, banner
    _UI / "timeline.css",
    _UI / "inspector.css",
    _UI / "overview.css",
    _UI / "chat_session.css",
    _CONSOLE / "otel" / "status.css",
    _COMPONENTS / "components.css",
    _COMPONENTS / "idea.css",
)


def add_styles() -> None:
    """Every stylesheet, for every page served from now on; once per app (NiceGUI keeps them)."""
    for sheet in SHEETS:
        ui.add_css(sheet, shared=True)
