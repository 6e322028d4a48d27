"""The sessions a console process runs, by id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.clients import SessionClient, Target, make_client


@dataclass(slots=True)
class SessionEntry:
    id: str
    name: str
    target: Target
    client: SessionClient
    owner: str | None = None  # the visitor who opened it (an uploaded trace): shown to nobody else

    def visible_to(self, visitor: str) -> bool:
        return self.owner is None or self.owner == visitor


class SessionHub:
    def __init__(self) -> None:
        self.sessions: dict[str, SessionEntry] = {}

    def add(
        self,
        target: Target,
        name: str | None = None,
        client: SessionClient | None = None,
        session_id: str | None = None,  # a session restored under the id it had
        owner: str | None = None,
    ) -> SessionEntry:
        base = (
            session_id or re.sub(r"[^a-z0-9]+", "-", (name or target.dialect).lower()).strip("-") or "session"
        )
        session_id, n = base, 1
        while session_id in self.sessions:
            n += 1
            session_id = f"{base}-{n}"
        entry = SessionEntry(session_id, name or session_id, target, client or make_client(target), owner)
        self.sessions[session_id] = entry
        entry.client.start()
        return entry

    def get(self, session_id: str) -> SessionEntry | None:
        return self.sessions.get(session_id)

    async def remove(self, session_id: str) -> None:
        entry = self.sessions.pop(session_id, None)
        if entry is not None:
            await entry.client.close()

    async def close(self) -> None:
        for session_id in list(self.sessions):
            await self.remove(session_id)
