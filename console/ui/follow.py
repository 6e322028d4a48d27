"""The part of a page that shows one session, bound to the session's id rather than to its client.

A session's client is replaced when the supervisor restarts it (after a crash, or on request); the
views built for the old client would stay subscribed to a conversation nothing feeds any more, and
send prompts to a closed connection. So a page never keeps a client: it keeps the id, asks the owner
for the entry of the moment, and rebuilds this part when the owner says the client changed. The
rebuild is scheduled rather than done in the owner's callback, so that it draws the conversation the
new client has taken over (the owner tells before the take-over, see `Supervisor._replace`).
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, ui

from console.sessions import ClientReplaced, SessionEntry, SessionEvent, SessionRemoved
from console.supervisor import Supervisor
from console.ui.scope import Scope, on_leave
from console.ui.testid import testid

Build = Callable[[SessionEntry, Scope], None]


class SessionPart:
    """A container whose content is `build(entry, scope)` for the session's current client."""

    def __init__(self, sessions: Supervisor, entry: SessionEntry, build: Build) -> None:
        self.sessions = sessions
        self.session_id = entry.id
        self._build = build
        self.root = ui.element("div").classes("w-full flex flex-col flex-nowrap grow min-h-0")
        self.scope = self._draw(entry)
        on_leave(sessions.subscribe(self._on_event))

    def show(self, entry: SessionEntry) -> None:
        """Show another session here (a trace opened in place of the one on screen) and follow it."""
        self.session_id = entry.id
        self._redraw(entry)

    def _draw(self, entry: SessionEntry) -> Scope:
        with self.root, Scope().classes("w-full flex flex-col flex-nowrap grow min-h-0") as scope:
            self._build(entry, scope)
        return scope

    def _on_event(self, event: SessionEvent) -> None:
        if isinstance(event, ClientReplaced) and event.entry.id == self.session_id:
            background_tasks.create(self._later(event.entry), name=f"redraw {self.session_id}")
        elif isinstance(event, SessionRemoved) and event.session_id == self.session_id:
            background_tasks.create(self._later(None), name=f"removed {self.session_id}")

    async def _later(self, entry: SessionEntry | None) -> None:
        if self.root.is_deleted:
            return  # the tab closed meanwhile
        if entry is None:
            self._removed()
        elif self.sessions.get(entry.id) is entry and entry.id == self.session_id:
            self._redraw(entry)

    def _redraw(self, entry: SessionEntry) -> None:
        self.scope.delete()  # its views unsubscribe from the old client's conversation
        self.scope = self._draw(entry)

    def _removed(self) -> None:
        self.scope.delete()
        with self.root, Scope() as self.scope:
            with testid(ui.column().classes("p-8 gap-3"), "session-removed"):
                ui.label(f"The session '{self.session_id}' was removed.").classes("text-lg")
                testid(ui.link("← All sessions", "/"), "back-home")
