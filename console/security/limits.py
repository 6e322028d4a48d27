"""Resource caps, and who a visitor is.

A visitor is one browser: the middleware gives each a random, HttpOnly cookie on its first request
(see `middleware.py`). Uploaded traces belong to the visitor who opened them, and the cap on open tabs
counts per visitor. Without the cookie (the simulated user of the tests, a script) everyone is the
one anonymous visitor "".
"""

from __future__ import annotations

import re
from typing import Final

from nicegui import Client, ui

from console.security.auth import VISITOR_COOKIE
from console.security.policy import current

UPLOAD_PATH: Final = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+$")


class LimitError(ValueError):
    """A cap was reached; the message says which and what to do."""


def visitor_of(client: Client | None) -> str:
    request = client.request if client is not None else None
    return request.cookies.get(VISITOR_COOKIE, "") if request is not None else ""


def this_visitor() -> str:
    """The visitor of the page being built or the event being handled."""
    return visitor_of(ui.context.client)


def open_tabs(visitor: str) -> int:
    """Pages this visitor has open (a closed tab counts until NiceGUI lets its client go)."""
    return sum(1 for c in Client.instances.values() if visitor_of(c) == visitor and not c.is_deleted)


def check_tab_room(visitor: str) -> str | None:
    cap = current().limits.max_tabs_per_visitor
    if open_tabs(visitor) >= cap:
        return (
            f"Too many open pages: this browser already has {cap} console pages open (the limit). "
            "Close one, then reload this page."
        )
    return None


def check_session_room(sessions: int) -> None:
    cap = current().limits.max_sessions
    if sessions >= cap:
        raise LimitError(
            f"The console already runs {sessions} sessions (the limit is {cap}): remove one first."
        )


def check_trace_room(open_by_visitor: int) -> None:
    cap = current().limits.max_traces_per_visitor
    if open_by_visitor >= cap:
        raise LimitError(
            f"You already have {open_by_visitor} traces open (the limit is {cap}): remove one first."
        )


def trace_limit_text() -> str:
    size = current().limits.max_trace_bytes
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
