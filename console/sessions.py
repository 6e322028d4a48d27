"""The sessions a console process runs: an entry per session id, and what its owner tells about them.

The one owner is the `Supervisor` (console/supervisor.py): it opens, restarts and removes sessions, and
tells its subscribers through the events below. Pages hold a session *id* and look the entry up there;
an entry's client changes when the session is restarted, its id never does.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from console.clients import SessionClient, Target


@dataclass(slots=True)
class SessionEntry:
    id: str
    name: str
    target: Target
    client: SessionClient  # the live client: replaced when the session restarts
    owner: str | None = None  # the visitor who opened it (an uploaded trace): shown to nobody else

    def visible_to(self, visitor: str) -> bool:
        return self.owner is None or self.owner == visitor


@dataclass(frozen=True, slots=True)
class SessionOpened:
    entry: SessionEntry


@dataclass(frozen=True, slots=True)
class ClientReplaced:
    """The session restarted: `entry.client` is a new client, going on with the same conversation."""

    entry: SessionEntry


@dataclass(frozen=True, slots=True)
class SessionRemoved:
    session_id: str


SessionEvent = SessionOpened | ClientReplaced | SessionRemoved


def slug(name: str) -> str:
    """A readable id from a name: `My Agent` -> `my-agent`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "session"


def free_id(base: str, taken: Container[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... when it is taken."""
    session_id, n = base, 1
    while session_id in taken:
        n += 1
        session_id = f"{base}-{n}"
    return session_id
