"""Putting the session log on the wire: each connection's sender (with the chaos of delivery: spikes,
held and duplicated frames, the drop), and appending frames to the log, sent at once when the sender
waits for them."""

from __future__ import annotations

import asyncio

from console.dialects.agent import protocol as proto
from console.sim import ws_wire
from console.sim.agent_chaos import CLEAN, Delivery
from console.sim.agent_context import Shared
from console.sim.agent_heartbeat import Heartbeats
from console.sim.agent_state import HOLD_TIMEOUT, Conn, Frame, Held, Numbering, Session


class Wire:
    """What each connection sends, and when."""

    def __init__(self, shared: Shared, heartbeats: Heartbeats) -> None:
        self.shared = shared
        self.heartbeats = heartbeats

    # -- sending ---------------------------------------------------------------------------------------------

    async def sender(self, conn: Conn) -> None:
        s = conn.session
        await conn.ready.wait()
        hold_timeout = max(0.01, HOLD_TIMEOUT * self.shared.config.time_scale)
        while True:
            signal = s.signal
            numbering = s.numberings.get(conn.epoch)
            if numbering is None:  # fell behind the kept numberings: continue from the oldest kept
                conn.epoch, conn.cursor = min(s.numberings), 0
                continue
            if conn.cursor < len(numbering.frames):
                position = conn.cursor
                conn.cursor += 1
                if not await self._deliver(conn, conn.epoch, position, numbering.frames[position]):
                    return
                continue
            if conn.epoch < s.current:
                # A new response began: what is held of the old numbering goes first.
                self._flush_held(conn)
                conn.epoch = min(i for i in s.numberings if i > conn.epoch)
                conn.cursor = 0
                continue
            if conn.held:
                try:
                    await asyncio.wait_for(signal.wait(), hold_timeout)
                except TimeoutError:
                    self._flush_held(conn)
            else:
                conn.waiting = True  # `_append` may send what comes next itself
                try:
                    await signal.wait()
                finally:
                    conn.waiting = False

    async def _deliver(self, conn: Conn, epoch: int, position: int, frame: Frame) -> bool:
        """Send one log frame; False when the connection is gone (chaos may have dropped it)."""
        s = conn.session
        first = (epoch, position) not in s.performed
        if frame.seq is None:  # malformed: sent once, never replayed
            if first:
                s.performed.add((epoch, position))
                self.shared.recorder.chaos(s, conn, "malformed", excerpt=frame.text[:80])
                return self._send(conn, epoch, frame)
            return True
        plan = frame.delivery if first else CLEAN
        if plan is not CLEAN:
            s.performed.add((epoch, position))
        if plan.spike > 0:
            self.shared.recorder.chaos(s, conn, "spike", seq=frame.seq, seconds=plan.spike)
            await self.shared.sleep(plan.spike)
        if plan.hold > 0:
            self.shared.recorder.chaos(
                s, conn, "reorder", seq=frame.seq, frame_type=frame.kind, after=plan.hold
            )
            conn.held.append(Held(epoch, frame, plan.hold, plan.duplicate))
            return True
        if not self._send(conn, epoch, frame):
            return False
        if plan.duplicate:
            self.shared.recorder.chaos(s, conn, "duplicate", seq=frame.seq, frame_type=frame.kind)
            self._send(conn, epoch, frame)
        self._release_held(conn)
        if plan.drop_after:
            self._flush_held(conn)  # so what chaos was performed does not depend on timing
            self.shared.recorder.chaos(s, conn, "drop", seq=frame.seq)
            conn.abort()
            return False
        return True

    def _release_held(self, conn: Conn) -> None:
        for held in conn.held:
            held.countdown -= 1
        due = [h for h in conn.held if h.countdown <= 0]
        conn.held = [h for h in conn.held if h.countdown > 0]
        for held in due:
            self._send_held(conn, held)

    def _flush_held(self, conn: Conn) -> None:
        due, conn.held = conn.held, []
        for held in due:
            self._send_held(conn, held)

    def _send_held(self, conn: Conn, held: Held) -> None:
        self._send(conn, held.epoch, held.frame)
        if held.duplicate:
            self.shared.recorder.chaos(
                conn.session, conn, "duplicate", seq=held.frame.seq, frame_type=held.frame.kind
            )
            self._send(conn, held.epoch, held.frame)

    def _send(self, conn: Conn, epoch: int, frame: Frame) -> bool:
        """Write one frame now; False when the connection is closing (the frame stays in the log)."""
        if not ws_wire.write_now(conn.ws, frame.text):
            return False
        self.shared.frames += 1
        s = conn.session
        if frame.seq is not None:
            if epoch > s.sent_epoch:
                s.sent_epoch, s.sent_high = epoch, frame.seq
            elif epoch == s.sent_epoch:
                s.sent_high = max(s.sent_high, frame.seq)
        kind = frame.kind
        if kind == "TOKEN":
            pass  # most frames: no clock read (asking for the loop is a system call, getpid, per frame)
        elif kind == "PING":
            self.heartbeats.sent(conn, frame, asyncio.get_running_loop().time())
        elif kind == "TOOL_CALL" and frame.ref is not None:
            s.call_sent[frame.ref] = asyncio.get_running_loop().time()
        frame.sent = True
        return True

    def append(
        self,
        s: Session,
        server_frame: proto.ServerFrame,
        *,
        ref: str | None = None,
        delivery: Delivery = CLEAN,
    ) -> Frame:
        numbering = s.numbering()
        seq = numbering.next_seq
        numbering.next_seq += 1
        frame = Frame(seq, server_frame.kind, server_frame.numbered(seq), ref, delivery)
        numbering.frames.append(frame)
        if not self._sent_at_once(s, numbering, frame):
            s.wake()
        return frame

    def _sent_at_once(self, s: Session, numbering: Numbering, frame: Frame) -> bool:
        """Write a frame the connection's sender would send next, and plainly, without waking it: a
        task switch per token was most of a token's cost at a thousand sessions."""
        conn = s.conn
        if conn is None or not conn.waiting or frame.delivery is not CLEAN:
            return False
        if conn.epoch != numbering.index or conn.cursor != len(numbering.frames) - 1:
            return False
        if not self._send(conn, numbering.index, frame):
            return False
        conn.cursor += 1
        return True
