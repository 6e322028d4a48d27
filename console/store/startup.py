"""The console's store as the dashboard uses it: optional, opened before the server starts (so that a
store it cannot use stops the command with a message), restored on startup, closed last."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from console.clients import Target
from console.session import Conversation
from console.store.follow import Follower
from console.store.service import Store
from console.supervisor import Supervisor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reopened:
    """The upstream URLs of the sessions brought back from the store."""

    urls: tuple[str, ...] = ()

    def has(self, url: str) -> bool:
        """A session on this upstream (or on one of its `?session=` streams) was reopened."""
        return any(u == url or u.startswith(url + ("&" if "?" in url else "?")) for u in self.urls)


class Durable:
    def __init__(self, spec: str | None, follow: str | None = None) -> None:
        self.store = Store.open(spec) if spec else None  # raises StoreError with the reason
        self.follow = follow
        self.follower: Follower | None = None

    async def restore(self, supervisor: Supervisor, embedded: Sequence[Target]) -> Reopened:
        if self.follow is not None:
            self.follower = Follower(self.follow, supervisor)
            await self.follower.start()
            log.warning("following the sessions of %s (read-only)", self.follow)
        if self.store is None:
            return Reopened()

        def is_embedded(target: Target) -> bool:
            return any(target.url.startswith(e.url) for e in embedded)

        ids = await self.store.restore(supervisor, is_embedded)
        for problem in self.store.problems:
            log.error("store %s: %s", self.store.backend.where, problem)
        if ids:
            log.warning("restored %d session(s) from %s", len(ids), self.store.backend.where)
        entries = (supervisor.get(i) for i in ids)
        return Reopened(tuple(e.target.url for e in entries if e is not None))

    async def history(self, session_id: str) -> Conversation | None:
        """A session read back whole from the store (None without a store, or for a session it lacks)."""
        return None if self.store is None else await self.store.history(session_id)

    async def close(self) -> None:
        if self.follower is not None:
            await self.follower.close()
        if self.store is not None:
            self.store.close()
