"""The agent simulator's heartbeats: a PING every `ping_interval` seconds per connection (its challenge
possibly empty in chaos mode), the 3 s PONG deadline each first send starts, the PONG's verdict, and
the end of a connection that missed three."""

from __future__ import annotations

import asyncio
from typing import Protocol

from console.dialects.agent import protocol as proto
from console.dialects.agent.protocol import MISSED_PONGS, PONG_DEADLINE
from console.jsonvalue import JsonObject
from console.sim import agent_chaos
from console.sim.agent_context import Shared
from console.sim.agent_state import Conn, Frame, Session


class Append(Protocol):
    """The wire's `append`: a frame added to the session's log, sent when its turn comes."""

    def __call__(self, s: Session, server_frame: proto.ServerFrame, *, ref: str | None = None) -> Frame: ...


class Heartbeats:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def pinger(self, conn: Conn, append: Append) -> None:
        s = conn.session
        cfg = self.shared.config
        rates = cfg.chaos if cfg.mode == "chaos" else None
        await conn.ready.wait()
        while True:
            await asyncio.sleep(cfg.ping_interval)
            challenge = agent_chaos.challenge(s.ping_rng, rates)
            frame = append(s, proto.ping(challenge), ref=challenge)
            if challenge == "":
                self.shared.recorder.chaos(s, conn, "empty_ping", seq=frame.seq)

    def sent(self, conn: Conn, frame: Frame, now: float) -> None:
        """A PING went on the wire. As the published server: only its first send awaits a PONG; a
        replayed copy was answered already (or is lost with its connection), and a client answers it
        no more."""
        challenge = frame.ref
        if challenge is None:
            return
        if frame.sent:
            conn.replayed.add(challenge)
            return
        conn.pending[challenge] = now
        conn.expired.discard(challenge)
        if challenge == "":
            return  # a corrupt heartbeat: answering it is optional, so it is never "missed"
        old = conn.deadlines.pop(challenge, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        conn.deadlines[challenge] = loop.call_later(PONG_DEADLINE, self._deadline, conn, challenge)

    def _deadline(self, conn: Conn, challenge: str) -> None:
        conn.deadlines.pop(challenge, None)
        if conn.closed or conn.pending.pop(challenge, None) is None:
            return
        conn.expired.add(challenge)
        conn.missed += 1
        s = conn.session
        record = self.shared.recorder.record
        record(
            s,
            conn,
            "pong_missing",
            "violation",
            challenge=challenge,
            missed=conn.missed,
            detail=f"no PONG within {PONG_DEADLINE:g} s",
        )
        if conn.missed >= MISSED_PONGS:
            record(s, conn, "terminate", "info", detail=f"{MISSED_PONGS} missed PONGs")
            self.shared.background.spawn(conn.ws.close(4000, f"{MISSED_PONGS} missed PONGs"))

    def on_pong(self, conn: Conn, frame: JsonObject) -> None:
        s = conn.session
        record = self.shared.recorder.record
        echo = frame.get("echo")
        if not isinstance(echo, str):
            record(s, conn, "pong", "violation", echo=echo, detail="echo must be a string")
            return
        sent = conn.pending.pop(echo, None)
        if sent is not None:
            self._answered(s, conn, echo, asyncio.get_running_loop().time() - sent)
        elif echo in conn.expired:
            record(s, conn, "pong", "violation", echo=echo, detail="late PONG: its 3 s deadline had passed")
        elif echo in conn.answered:
            record(s, conn, "pong", "info", echo=echo, detail="repeat PONG for an answered PING")
        elif echo in conn.replayed:
            # Its first copy may never have reached the client: answering the replay is not wrong.
            record(s, conn, "pong", "info", echo=echo, detail="PONG for a replayed PING")
        else:
            record(
                s, conn, "pong", "violation", echo=echo, detail="echo matches no PING sent on this connection"
            )

    def _answered(self, s: Session, conn: Conn, echo: str, latency: float) -> None:
        handle = conn.deadlines.pop(echo, None)
        if handle is not None:
            handle.cancel()
        conn.answered.add(echo)
        ok = latency <= PONG_DEADLINE
        if ok:
            conn.missed = 0
        self.shared.recorder.record(
            s,
            conn,
            "pong",
            "ok" if ok else "violation",
            echo=echo,
            latency_ms=round(latency * 1000, 1),
            detail="" if ok else f"PONG after {latency:.2f} s (limit {PONG_DEADLINE:g} s)",
        )
