"""The strict profile's wire: one numbering since the last USER_MESSAGE (PINGs share its counter),
kept for RESUME; the live connection's chaos layer (pauses, the reorder buffer that only a later
frame releases, duplicates, the drop); and the heartbeats written around that layer."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from console.dialects.agent import protocol as proto
from console.dialects.agent.protocol import MISSED_PONGS, PONG_DEADLINE
from console.jsonvalue import JsonValue
from console.sim import agent_steps as steps
from console.sim import ws_wire
from console.sim.agent_strict_state import StrictConfig, StrictConn, StrictLog
from console.sim.background import Background


class _Dropped(Exception):
    """The chaos layer dropped the connection."""


class StrictWire:
    def __init__(self, config: StrictConfig, log: StrictLog) -> None:
        self.config = config
        self.log = log
        self.conn: StrictConn | None = None  # the one live connection
        self.background = Background()
        self._seq = 1
        self._numbering: list[tuple[int, str]] = []  # (seq, frame) since the last USER_MESSAGE
        self._answered: set[str] = set()  # challenges a PONG answered (empty ones are not told apart)

    def restart_numbering(self) -> None:
        """A USER_MESSAGE: seq starts again at 1 and RESUME replays nothing of earlier replies."""
        self._seq, self._numbering = 1, []

    def replay(self, conn: StrictConn, last_seq: int) -> int:
        """Queue the current numbering's frames after `last_seq` for `conn`; how many."""
        replay = [text for seq, text in self._numbering if seq > last_seq]
        for text in replay:
            conn.queue.put_nowait(text)
        return len(replay)

    def emit(self, frame: proto.ServerFrame, *, chaos: bool = True) -> str:
        """Number a frame, keep it for RESUME, and hand it to the live connection."""
        seq, self._seq = self._seq, self._seq + 1
        text = frame.numbered(seq)
        self._numbering.append((seq, text))
        conn = self.conn
        if conn is not None:
            if chaos:
                conn.queue.put_nowait(text)
            else:
                self.background.spawn(conn.ws.send(text))
        return text

    def drop(self, conn: StrictConn, why: str) -> None:
        conn.ended_by = "server"
        self.log.record(conn, "chaos", behaviour="drop", detail=why)
        ws_wire.abort(conn.ws)

    # -- the chaos layer ------------------------------------------------------------------------------

    async def sender(self, conn: StrictConn) -> None:
        """Pauses, the reorder buffer, duplicates and the drop, per connection."""
        c, rng, scale = conn.chaos, conn.rng, self.config.time_scale
        try:
            while True:
                text = await conn.queue.get()
                if rng.random() < c.pause:
                    seconds = rng.uniform(*self.config.pause_seconds) * scale
                    self.log.record(conn, "chaos", behaviour="pause", seconds=round(seconds, 3))
                    await asyncio.sleep(seconds)
                duplicate = rng.random() < c.duplicate
                if len(conn.held) < self.config.reorder_capacity and rng.random() < c.reorder:
                    conn.held.append((text, duplicate))
                    self.log.record(conn, "chaos", behaviour="reorder", frame=text[:60])
                    continue
                await self._write(conn, text, duplicate)
                released, conn.held = conn.held, []
                rng.shuffle(released)
                for held, dup in released:
                    await self._write(conn, held, dup)
        except (_Dropped, ConnectionClosed):
            return

    async def _write(self, conn: StrictConn, text: str, duplicate: bool) -> None:
        for _ in range(2 if duplicate else 1):
            await conn.ws.send(text)
            conn.sent += 1
            if conn.chaos.drop_after is not None and conn.sent >= conn.chaos.drop_after:
                self.drop(conn, f"after {conn.sent} frames")
                raise _Dropped
        if duplicate:
            self.log.record(conn, "chaos", behaviour="duplicate", frame=text[:60])

    # -- heartbeats -----------------------------------------------------------------------------------

    async def pinger(self, conn: StrictConn) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.ping_interval * self.config.time_scale)
            if self.conn is not conn:
                return  # a newer connection took over: its own pinger keeps its heartbeats
            empty = conn.rng.random() < conn.chaos.empty_ping
            challenge = "" if empty else steps.hex_id(conn.rng)
            conn.pending[challenge] = loop.time()
            self.emit(proto.ping(challenge), chaos=False)
            loop.call_later(PONG_DEADLINE, self._pong_deadline, conn, challenge)

    def _pong_deadline(self, conn: StrictConn, challenge: str) -> None:
        if self.conn is not conn or conn.pending.pop(challenge, None) is None:
            return
        conn.missed += 1
        self.log.record(conn, "pong_missing", "violation", missed=conn.missed)
        if conn.missed >= MISSED_PONGS:
            self.drop(conn, f"{MISSED_PONGS} missed PONGs")

    def on_pong(self, conn: StrictConn, echo: JsonValue) -> None:
        if not isinstance(echo, str):
            self.log.record(conn, "pong", "violation", detail="echo must be a string")
        elif echo in conn.pending:
            latency = asyncio.get_running_loop().time() - conn.pending.pop(echo)
            if echo:
                self._answered.add(echo)
            ok = latency <= PONG_DEADLINE
            conn.missed = 0 if ok else conn.missed
            self.log.record(conn, "pong", "ok" if ok else "violation", latency_ms=round(latency * 1000, 1))
        else:
            # "repeat": that PING was answered already (a second PONG to a replayed copy). Otherwise
            # the client first saw the PING in a replay: its original was lost with its connection.
            repeat = echo in self._answered
            self.log.record(
                conn,
                "pong",
                "unexpected",
                echo=echo,
                repeat=repeat,
                detail="no PING pending with that challenge",
            )
