"""Removing a session from the operations view: never at once, never moving a card under the pointer.

The × on a card covers the card with "<name> removed · Undo" and removes the session only after
`UNDO_SECONDS`: a click on Undo in that time keeps it, as if nothing happened. The card keeps its slot
while that notice shows, and after the session is gone for as long as the pointer stays on the card, so
the next card's × never slides under a pointer that clicks again. A click made from the keyboard (no
pointer on the card) frees the slot as soon as the session is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nicegui import background_tasks, ui
from nicegui.events import GenericEventArguments

from console.ui.testid import testid

UNDO_SECONDS = 5.0


@dataclass(slots=True)
class _Pending:
    card: ui.element
    notice: ui.element
    undo: ui.button
    task: asyncio.Task[None] | None = None
    pointer_on_card: bool = True
    gone: bool = False  # the session is removed; the card waits for the pointer to leave
    listening: list[str] = field(default_factory=list)


class Removals:
    """The removals one tab's overview has under way."""

    def __init__(self, remove: Callable[[str], Awaitable[None]], free_slot: Callable[[str], None]) -> None:
        self._remove = remove  # removes the session (every tab's card goes with it)
        self._free_slot = free_slot  # deletes this tab's card
        self._pending: dict[str, _Pending] = {}

    def keeps(self, session_id: str) -> bool:
        """Whether the card of a session that is gone still holds its slot."""
        return session_id in self._pending

    def ask(self, session_id: str, name: str, card: ui.element, event: GenericEventArguments) -> None:
        if session_id in self._pending:
            return  # a second click on the same spot: the notice already says it
        with card:
            notice = testid(ui.element("div").classes("ac-card-undo"), "card-removed")
            with notice.props("role=status aria-live=polite"):
                ui.label(f"{name} removed").classes("ac-card-undo-text")
                undo = testid(
                    ui.button("Undo", on_click=lambda: self.undo(session_id)),
                    "undo-remove",
                    f"undo-{session_id}",
                )
                undo.props("dense no-caps unelevated color=primary")
                undo.props["aria-label"] = f"Undo: keep {name}"
        pending = _Pending(card, notice, undo, pointer_on_card=_from_pointer(event))
        self._pending[session_id] = pending
        card.on("mouseleave", lambda: self._left(session_id))
        # Keyboard users land on Undo (after the browser has drawn it).
        ui.run_javascript(f"setTimeout(() => getElement({undo.id})?.$el.focus(), 50)")
        pending.task = background_tasks.create(self._later(session_id), name=f"remove {session_id}")

    def undo(self, session_id: str) -> None:
        pending = self._pending.get(session_id)
        if pending is None or pending.gone:
            return
        del self._pending[session_id]
        if pending.task is not None:
            pending.task.cancel()
        pending.notice.delete()

    def forget(self, session_id: str) -> None:
        """The session went another way (another tab removed it): nothing is left to do."""
        pending = self._pending.pop(session_id, None)
        if pending is not None and pending.task is not None:
            pending.task.cancel()

    async def _later(self, session_id: str) -> None:
        await asyncio.sleep(UNDO_SECONDS)
        pending = self._pending.get(session_id)
        if pending is None:
            return
        pending.gone = True
        # Not cancellable from here on: the tab may close, the session is removed all the same.
        await asyncio.shield(self._remove(session_id))
        if pending.card.is_deleted:
            self._pending.pop(session_id, None)
            return
        pending.undo.delete()
        if not pending.pointer_on_card:
            self._free(session_id)

    def _left(self, session_id: str) -> None:
        pending = self._pending.get(session_id)
        if pending is None:
            return
        pending.pointer_on_card = False
        if pending.gone:
            self._free(session_id)

    def _free(self, session_id: str) -> None:
        self._pending.pop(session_id, None)
        self._free_slot(session_id)


def _from_pointer(event: GenericEventArguments) -> bool:
    """A click made with a pointer has a click count; one made with Enter or Space has 0."""
    args = event.args
    detail = args.get("detail") if isinstance(args, dict) else None
    return isinstance(detail, int) and detail > 0
