"""The Add-session dialog of the operations view: a dialect and a URL, checked as the command line
checks `--upstream` (`console.clients.parse_target`)."""

from __future__ import annotations

from nicegui import ui

from console.clients import TargetError, parse_target, url_problem
from console.dialects import base as registry
from console.security import policy as security
from console.security.limits import LimitError, check_session_room
from console.security.upstream import check_upstream
from console.supervisor import Supervisor
from console.ui.testid import testid


class AddSessionDialog:
    """Open a session against any upstream: a dialect and a URL."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        with ui.dialog() as self.dialog, ui.card().classes("w-[28rem] max-w-full"):
            ui.label("Add a session").classes("text-lg font-semibold")
            names = registry.names()
            self.dialect = ui.select(list(names), value=names[0], label="Dialect").classes("w-full")
            testid(self.dialect, "add-dialect").on_value_change(self._show_example)
            self.url = ui.input("URL", placeholder=self._example(names[0])).classes("w-full")
            testid(self.url, "add-url")
            self.name = testid(ui.input("Name (optional)").classes("w-full"), "add-name")
            self.error = testid(ui.label().classes("text-red-600 text-sm"), "add-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                testid(ui.button("Add", on_click=self.submit), "add-submit")

    @staticmethod
    def _example(name: str) -> str:
        dialect = registry.find(name)
        return dialect.example_url if dialect else ""

    def _show_example(self) -> None:
        self.url.props["placeholder"] = self._example(str(self.dialect.value))
        self.url.update()

    def open(self) -> None:
        self.error.set_text("")
        self.dialog.open()

    async def submit(self) -> None:
        url = str(self.url.value or "").strip()
        dialect = str(self.dialect.value)
        if problem := url_problem(dialect, url):
            self.error.set_text(problem)
            return
        # A visitor's URL is judged (scheme, and every address its name resolves to) before any connection.
        if refusal := await check_upstream(url, security.current()):
            self.error.set_text(refusal)
            return
        try:
            check_session_room(len(self.supervisor.ids))
            target = parse_target(f"{dialect}={url}")
            entry = self.supervisor.add(target, name=str(self.name.value or "").strip() or None)
        except (TargetError, LimitError) as exc:
            self.error.set_text(str(exc))
            return
        self.dialog.close()
        self.url.set_value("")
        self.name.set_value("")
        ui.notify(f"Added {entry.name}")
