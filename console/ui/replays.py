"""Traces opened from a file: sessions of the visitor who opened them, not of the whole console.

A replay is not put in the session hub (which every visitor's overview lists and the supervisor
watches): it is kept here under its opener, reachable at its own address by that visitor only. A
visitor keeps their last `KEPT` replays; older ones go (a trace can be large).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Final

from console.clients import Target
from console.sessions import SessionEntry
from console.trace_io import ReplayClient

KEPT: Final = 5


class Replays:
    def __init__(self) -> None:
        self._by_visitor: dict[str, OrderedDict[str, SessionEntry]] = {}

    def add(self, visitor: str, replay: ReplayClient, taken: set[str]) -> SessionEntry:
        """Keep `replay` for `visitor` under an id unlike any in `taken` (the hub's)."""
        mine = self._by_visitor.setdefault(visitor, OrderedDict())
        base = "trace-" + (re.sub(r"[^a-z0-9]+", "-", replay.name.lower()).strip("-") or "file")
        session_id, n = base, 1
        while session_id in taken or session_id in mine:
            n += 1
            session_id = f"{base}-{n}"
        entry = SessionEntry(session_id, f"trace {replay.name}", Target("agent", replay.url), replay)
        mine[session_id] = entry
        while len(mine) > KEPT:
            mine.popitem(last=False)
        return entry

    def get(self, visitor: str, session_id: str) -> SessionEntry | None:
        mine = self._by_visitor.get(visitor)
        return mine.get(session_id) if mine is not None else None
