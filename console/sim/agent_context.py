"""What every part of the agent simulator shares: its configuration, the record of what the client did
(each event with a verdict) and of the chaos performed, the pacer its waits go through, and the
fire-and-forget work it started."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
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


class Cycles:
    """Where the sessions' time goes, summed over all sessions (`/health`), so a benchmark can say why
    N sessions get less than their agents' rate. A session is always in one part of its reply cycle:
    the client's turn (the previous reply's end is read, the next prompt sent and read here: `idle`),
    the wait before the reply starts (the worker's wake-up, the script built: `start`), the reply
    (`reply`, until its end is written), or before its first prompt (`first`). A reply's time is its
    script's (`planned`: the waits asked for so far) plus the TOOL_ACK waits (`acks`) plus what its
    timeline could not make up. The parts in progress count up to the moment asked."""

    def __init__(self) -> None:
        self.replies = 0
        self.tokens = 0  # TOKEN frames made
        self.idle = 0.0
        self.start = 0.0
        self.reply = 0.0
        self.planned = 0.0
        self.acks = 0.0

    def ended(self, s: Session, now: float) -> None:
        """`s`'s reply ended (or failed): its time and script time are counted."""
        if s.started_at is None:
            return
        self.replies += 1
        self.reply += now - s.started_at
        if s.timeline is not None:
            self.planned += s.timeline.planned
        s.started_at, s.timeline = None, None

    def health(self, sessions: Iterable[Session], now: float) -> JsonObject:
        idle, start, reply, first, planned = self.idle, self.start, self.reply, 0.0, self.planned
        for s in sessions:
            if s.started_at is not None:
                reply += now - s.started_at
                if s.timeline is not None:
                    planned += s.timeline.planned
            elif s.busy or not s.prompts.empty():
                start += now - s.prompted_at
            elif s.ended_at is not None:
                idle += now - s.ended_at
            else:
                first += now - s.made_at
        return {
            "replies": self.replies,
            "tokens": self.tokens,
            "idle_s": round(idle, 3),
            "start_s": round(start, 3),
            "reply_s": round(reply, 3),
            "first_s": round(first, 3),
            "planned_s": round(planned, 3),
            "acks_s": round(self.acks, 3),
        }


class Shared:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.recorder = Recorder()
        self.background = Background()
        self.pacer = Pacer()
        self.frames = 0  # frames written to connections, replays included (`/health`)
        self.cycles = Cycles()

    async def sleep(self, seconds: float) -> None:
        """Wait a script's (unscaled) delay, scaled, through the pacer."""
        if seconds > 0:
            await self.pacer.sleep(seconds * self.config.time_scale)

    def close(self) -> None:
        self.background.cancel()
        self.pacer.close()
