"""What every part of the agent simulator shares: its configuration, the record of what the client did
(each event with a verdict) and of the chaos performed, the pacer its waits go through, and the
fire-and-forget work it started."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Final

from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_state import SimConfig
from console.sim.background import Background
from console.sim.pacing import Pacer

if TYPE_CHECKING:
    from console.sim.agent_state import Conn, Session

logger = logging.getLogger(__name__)

LOG_KEPT: Final = 20_000  # entries of the server's log kept, newest first (all sessions)


class Recorder:
    """The server's log: every client-side event with a verdict ("ok", "violation", "info"), every
    chaos behaviour performed, in order, with milliseconds since the server was made. The newest
    `limit` entries: a demo serving fifty agents logs a few thousand a minute."""

    def __init__(self, limit: int = LOG_KEPT) -> None:
        self.entries: deque[JsonValue] = deque(maxlen=limit)
        self._t0 = time.monotonic()

    def record(self, s: Session, conn: Conn | None, kind: str, verdict: str, **fields: JsonValue) -> None:
        entry: JsonObject = {
            "t": round((time.monotonic() - self._t0) * 1000, 1),
            "session": s.id,
            "connection": conn.number if conn is not None else None,
            "kind": kind,
            "verdict": verdict,
        }
        entry.update(fields)
        self.entries.append(entry)
        if verdict == "violation":
            logger.info("protocol violation in session %s: %s %s", s.id, kind, fields.get("detail", ""))

    def chaos(self, s: Session, conn: Conn | None, behaviour: str, **fields: JsonValue) -> None:
        self.record(s, conn, "chaos", "info", behaviour=behaviour, **fields)

    def of(self, session: str | None = None) -> list[JsonValue]:
        return [
            e for e in self.entries if session is None or (isinstance(e, dict) and e["session"] == session)
        ]


class Shared:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.recorder = Recorder()
        self.background = Background()
        self.pacer = Pacer()
        self.frames = 0  # frames written to connections, replays included (`/health`)

    async def sleep(self, seconds: float) -> None:
        """Wait a script's (unscaled) delay, scaled, through the pacer."""
        if seconds > 0:
            await self.pacer.sleep(seconds * self.config.time_scale)

    def close(self) -> None:
        self.background.cancel()
        self.pacer.close()
