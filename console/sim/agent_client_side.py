"""The client's side of the agent protocol as the simulated server sees it: each frame the client
sends, acted on and logged with a verdict (RESUME first on a reconnection, with a plausible last_seq;
USER_MESSAGE; PONG; TOOL_ACK within 2 s), and when a connection's sender goes live."""

from __future__ import annotations

import asyncio

from console.dialects.agent import protocol as proto
from console.jsonvalue import JsonObject
from console.sim.agent_context import Shared
from console.sim.agent_heartbeat import Heartbeats
from console.sim.agent_responses import Responder
from console.sim.agent_state import RESUME_GRACE, Conn


class ClientSide:
    def __init__(self, shared: Shared, heartbeats: Heartbeats, responder: Responder) -> None:
        self.shared = shared
        self.heartbeats = heartbeats
        self.responder = responder

    def go_live(self, conn: Conn) -> None:
        s = conn.session
        conn.epoch = s.current
        conn.cursor = len(s.numbering().frames)
        self._ready(conn)

    def _ready(self, conn: Conn) -> None:
        if conn.grace is not None:
            conn.grace.cancel()
            conn.grace = None
        conn.ready.set()
        conn.session.wake()

    def resume_grace(self, conn: Conn) -> None:
        conn.grace = None
        if conn.closed or conn.got_frame:
            return
        self.shared.recorder.record(
            conn.session,
            conn,
            "resume_missing",
            "violation",
            detail=f"no RESUME within {RESUME_GRACE:g} s of reconnecting",
        )
        self.go_live(conn)

    # -- the client's frames ----------------------------------------------------------------------------------

    def on_frame(self, conn: Conn, message: str | bytes) -> None:
        s = conn.session
        frame = proto.decode_client(message)
        first = not conn.got_frame
        conn.got_frame = True
        if first and conn.reconnection and frame.kind != "RESUME":
            self.shared.recorder.record(
                s,
                conn,
                "resume_missing",
                "violation",
                detail=f"the first frame of a reconnection was {frame.kind or 'invalid'}, not RESUME",
            )
            self.go_live(conn)
        if frame.problem:
            self.shared.recorder.record(
                s, conn, "invalid", "violation", detail=frame.problem, excerpt=frame.excerpt
            )
        elif frame.kind == "RESUME":
            self._on_resume(conn, frame.fields, first)
        elif frame.kind == "USER_MESSAGE":
            self._on_user_message(conn, frame.fields)
        elif frame.kind == "PONG":
            self.heartbeats.on_pong(conn, frame.fields)
        elif frame.kind == "TOOL_ACK":
            self._on_tool_ack(conn, frame.fields)

    def _on_resume(self, conn: Conn, frame: JsonObject, first: bool) -> None:
        s = conn.session
        last_seq = frame.get("last_seq")
        problems: list[str] = []
        if not first:
            problems.append("RESUME was not the first frame of the connection")
        valid = isinstance(last_seq, int) and not isinstance(last_seq, bool) and last_seq >= 0
        replayed = 0
        if not valid:
            problems.append("last_seq must be a non-negative integer")
            self.go_live(conn)
        else:
            assert isinstance(last_seq, int)
            if last_seq > s.sent_high:
                problems.append(f"last_seq {last_seq} is beyond the highest seq sent ({s.sent_high})")
            # The client's last_seq counts in the numbering it last received from.
            epoch = s.sent_epoch if s.sent_epoch in s.numberings else min(s.numberings)
            numbering = s.numberings[epoch]
            conn.held.clear()
            conn.epoch = epoch
            conn.cursor = numbering.position_after(last_seq)
            replayed = sum(1 for f in numbering.frames[conn.cursor :] if f.seq is not None) + sum(
                len(n.frames) for i, n in s.numberings.items() if i > epoch
            )
            self._ready(conn)
        self.shared.recorder.record(
            s,
            conn,
            "resume",
            "violation" if problems else "ok",
            last_seq=last_seq,
            first=first,
            highest_sent=s.sent_high,
            numbering_changed=s.sent_epoch != s.current,
            replayed=replayed,
            detail="; ".join(problems),
        )

    def _on_user_message(self, conn: Conn, frame: JsonObject) -> None:
        s = conn.session
        content = frame.get("content")
        if not isinstance(content, str):
            self.shared.recorder.record(
                s, conn, "user_message", "violation", detail="content must be a string"
            )
            return
        queued = s.busy or not s.prompts.empty()
        self.shared.recorder.record(s, conn, "user_message", "ok", content=content[:200], queued=queued)
        self.responder.prompt(s, content)

    def _on_tool_ack(self, conn: Conn, frame: JsonObject) -> None:
        s = conn.session
        call_id = frame.get("call_id")
        event = s.acks.get(call_id) if isinstance(call_id, str) else None
        if event is None:
            self.shared.recorder.record(
                s, conn, "tool_ack", "violation", call_id=call_id, detail="unknown call_id"
            )
            return
        assert isinstance(call_id, str)
        if event.is_set():
            self.shared.recorder.record(
                s, conn, "tool_ack", "info", call_id=call_id, detail="repeat TOOL_ACK"
            )
            return
        event.set()
        sent = s.call_sent.get(call_id)
        if sent is None:
            self.shared.recorder.record(
                s, conn, "tool_ack", "violation", call_id=call_id, detail="ACK for a call never sent"
            )
            return
        latency = asyncio.get_running_loop().time() - sent
        ok = latency <= proto.ACK_WITHIN
        self.shared.recorder.record(
            s,
            conn,
            "tool_ack",
            "ok" if ok else "violation",
            call_id=call_id,
            latency_ms=round(latency * 1000, 1),
            detail="" if ok else f"TOOL_ACK after {latency:.2f} s (spec: within {proto.ACK_WITHIN:g} s)",
        )
