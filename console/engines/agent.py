"""The client side of the agent protocol, sans-I/O: protocol + sequencing + session, driven by time.

The transport feeds it what happens (`connected`, `receive`, `disconnected`, `tick` with the current
monotonic time) and sends whatever `data_to_send()` returns. Every protocol rule of the client lives
here, where a test can drive it with plain strings and a fake clock:

* PING is answered on receipt, before sequencing: a PONG never waits behind a gap.
* Server frames are applied to the conversation strictly in seq order, each once (`Sequencer`).
* TOOL_ACK goes out when the TOOL_CALL is applied (its card exists in the model the page renders);
  a TOOL_CALL held behind a gap is acked anyway after `ack_deadline`, so the server's own deadline is
  met (see DECISIONS.md, "the TOOL_ACK race"); calls still waiting are acked again after a reconnect.
* On every reconnection the first frame is RESUME with the highest seq applied to the conversation.
* A gap that does not fill within `gap_timeout` forces a reconnect, so the server replays it; after
  `max_gap_resumes` replays that did not fill it, the gap is skipped and reported.
* A reply that makes no progress for `stall_timeout` after a drop (or `idle_timeout` at all) is marked
  interrupted, keeping what arrived; the user can retry it.
* Prompts typed while a reply streams are queued and sent when it ends: one reply at a time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from console import events as ev
from console.connection import LIVE, ConnectionState
from console.engines.base import LinkedEngine
from console.protocols import agent as proto
from console.sequencing import Sequencer
from console.session import Conversation, Message

S = ConnectionState


@dataclass(frozen=True, slots=True)
class EngineConfig:
    gap_timeout: float = 2.0
    max_gap_resumes: int = 3
    ack_deadline: float = 1.5
    stall_timeout: float = 10.0
    idle_timeout: float = 60.0
    resume_quiet: float = 1.0
    max_frame: int = proto.DEFAULT_MAX_FRAME


class AgentEngine(LinkedEngine):
    def __init__(self, conversation: Conversation | None = None, config: EngineConfig | None = None) -> None:
        self.conversation = conversation or Conversation()
        super().__init__(self.conversation)
        self.config = config or EngineConfig()
        self.sequencer: Sequencer[proto.Frame] = Sequencer()
        self._queued: deque[str] = deque()  # prompts waiting for the current reply to end
        self._acked: set[str] = set()
        self._held_calls: dict[str, float] = {}  # call_id -> receive time, while behind a gap
        self._gap_since: float | None = None
        self._gap_resumes = 0
        self._progress_at = 0.0  # last time the reply in progress moved
        self._dropped_during_reply = False
        self._resumed_at = 0.0
        self._want_reconnect = False
        self._in_flight = False  # a prompt was sent and its reply has not ended
        self.pong_count = 0
        self.frames_in = 0

    # -- what the transport asks ----------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No prompt waiting or in flight and no reply streaming."""
        return not self._queued and not self._in_flight and self.conversation.streaming is None

    @property
    def wants_reconnect(self) -> bool:
        """The transport should drop the connection and reconnect (to get a gap replayed)."""
        return self._want_reconnect

    # -- lifecycle --------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        self._link.connected()
        # Frames meant for the dead connection go: RESUME comes first, and re-sends the ACKs that matter.
        self._outbox.clear()
        self._want_reconnect = False
        if self._link.connections == 1:
            self._link.set(S.OPEN)
            self.conversation.record(now, "client", "CONNECTED", "connected")
        else:
            self._link.set(S.RESUMING)
            self._resumed_at = now
            # RESUME must be the first frame on the new connection.
            last = self.sequencer.resume_seq
            self._send(proto.resume(last), now, "RESUME", f"resume after seq {last}")
            for block in self.conversation.waiting_tool_calls():
                self._send_ack(block.call_id, now, again=True)
        self._flush_queue(now)

    def disconnected(self, now: float, reason: str, retry_in: float) -> None:
        """The connection is gone (or could not be made); the next attempt is in `retry_in` s."""
        was = self.state
        next_state = self._link.failed(now, reason, retry_in)
        self._want_reconnect = False
        if self.conversation.awaiting_reply:
            self._dropped_during_reply = True
        kind = "DISCONNECTED" if was in LIVE or was is S.RESUMING else "CONNECT_FAILED"
        self.conversation.record(
            now, "client", kind, f"{reason}; attempt {self._link.attempt} in {retry_in:.1f} s"
        )
        self._link.set(next_state)

    def close(self, now: float) -> None:
        self._link.set(S.CLOSED)
        self.conversation.record(now, "client", "CLOSED", "session closed")

    # -- the user ---------------------------------------------------------------------------------

    def send_user_message(self, text: str, now: float) -> Message:
        message = self.conversation.add_user_message(text, now)
        self._queued.append(text)
        self._flush_queue(now)
        return message

    def retry(self, message_id: str, now: float) -> Message | None:
        """Ask again what an interrupted reply answered."""
        message = self.conversation.message(message_id)
        prompt = self.conversation.prompt_of(message) if message else None
        if prompt is None:
            return None
        return self.send_user_message(prompt, now)

    def _flush_queue(self, now: float) -> None:
        if not self._queued or self.state not in LIVE:
            return
        if self.conversation.streaming is not None or self._in_flight:
            return
        text = self._queued.popleft()
        self._in_flight = True
        self._progress_at = now
        self._dropped_during_reply = False
        self.sequencer.expect_new_epoch()
        self._send(proto.user_message(text), now, "USER_MESSAGE", text)
        self._update_live()

    # -- frames -----------------------------------------------------------------------------------

    def receive(self, raw: str | bytes, now: float) -> None:
        self.receive_frame(proto.decode(raw, max_size=self.config.max_frame), raw, now)

    def receive_frame(self, frame: proto.Frame, raw: str | bytes, now: float) -> None:
        """A frame already decoded (the transport decodes megabyte frames off the event loop)."""
        self.frames_in += 1
        self._trace_in(frame, raw if isinstance(raw, str) else raw.decode("utf-8", "replace"), now)
        event = frame.event
        if type(event) is ev.Heartbeat:
            # Answered on receipt, never behind the reorder buffer; an empty challenge is echoed too.
            self.pong_count += 1
            self._send(proto.pong(event.challenge), now, "PONG", f"echo '{event.challenge}'")
        if self.conversation.link.state is S.RESUMING:
            self._link.set(self._live_state())
        seq = frame.seq
        if seq is None:
            self.conversation.apply(event, now)
            return
        # A frame we cannot use still holds its seq: it goes through the sequencer so no gap opens.
        stats = self.sequencer.stats
        duplicates, restarts = stats.duplicates, stats.restarts
        applied = self.sequencer.push(seq, frame.fingerprint, frame)
        if applied:
            if stats.restarts != restarts:
                self.conversation.record(
                    now, "client", "SEQ_RESTART", "new reply: frames numbered from 1 again (normal)"
                )
        elif stats.duplicates != duplicates:
            self.conversation.record(now, "client", "DUPLICATE", f"dropped duplicate seq {seq}", seq=seq)
        else:
            waiting = self.sequencer.next_seq
            self.conversation.record(
                now, "client", "HELD", f"seq {seq} held: waiting for seq {waiting}", seq=seq
            )
            if type(event) is ev.ToolCall:
                self._held_calls.setdefault(event.call_id, now)
        self._apply(applied, now)

    def _apply(self, frames: list[proto.Frame], now: float) -> None:
        apply = self.conversation.apply
        link_may_change = False  # only some frames can change what the link shows
        for frame in frames:
            event = frame.event
            apply(event, now, frame.seq)
            if type(event) is ev.TextDelta:  # the hot path: most frames are tokens
                self._progress_at = now
                continue
            if not isinstance(event, ev.Heartbeat):
                self._progress_at = now
                link_may_change = True
            if isinstance(event, ev.ToolCall):
                self._held_calls.pop(event.call_id, None)
                self._send_ack(event.call_id, now)
            elif isinstance(event, ev.StreamEnd):
                self._in_flight = False
                self._dropped_during_reply = False
        if frames:
            self._gap_resumes = 0
        self._gap_since = None if not self.sequencer.has_gap else (self._gap_since or now)
        if link_may_change:
            self._update_live()
        if self._queued:
            self._flush_queue(now)

    def _update_live(self) -> None:
        state = self.state
        if state in LIVE:
            live = self._live_state()
            if live is not state:
                self._link.set(live)

    def _send_ack(self, call_id: str, now: float, *, again: bool = False) -> None:
        if call_id in self._acked and not again:
            return
        self._acked.add(call_id)
        self._send(
            proto.tool_ack(call_id),
            now,
            "TOOL_ACK",
            f"ack {call_id}" + (" (again)" if again else ""),
            ref=call_id,
        )

    # -- time -------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        if self.state is S.RESUMING and now - self._resumed_at >= self.config.resume_quiet:
            self._link.set(self._live_state())
        self._ack_held_calls(now)
        self._check_gap(now)
        self._check_stall(now)

    def _ack_held_calls(self, now: float) -> None:
        for call_id, since in list(self._held_calls.items()):
            if now - since >= self.config.ack_deadline and self.state in LIVE | {S.RESUMING}:
                del self._held_calls[call_id]
                self.conversation.record(
                    now, "client", "EARLY_ACK", f"{call_id} held behind a gap: acked before render"
                )
                self._send_ack(call_id, now)

    def _check_gap(self, now: float) -> None:
        if not self.sequencer.has_gap:
            self._gap_since = None
            return
        if self._gap_since is None:
            self._gap_since = now
            return
        if now - self._gap_since < self.config.gap_timeout or self.state not in LIVE:
            return
        if self._gap_resumes < self.config.max_gap_resumes:
            self._gap_resumes += 1
            self._want_reconnect = True
            self._gap_since = now
            self.conversation.record(
                now,
                "client",
                "GAP_RESUME",
                f"seq {self.sequencer.next_seq} missing: reconnecting to replay it",
            )
            return
        missing, applied = self.sequencer.skip_gap()
        self.conversation.record(
            now, "client", "GAP_SKIPPED", f"seqs {missing.start}–{missing.stop - 1} never arrived"
        )
        self.conversation.notice(
            "warning", f"{len(missing)} frame(s) never arrived; the reply may have a hole"
        )
        self._gap_resumes = 0
        self._apply(applied, now)

    def _check_stall(self, now: float) -> None:
        if not self._in_flight and self.conversation.streaming is None:
            return
        bound = self.config.stall_timeout if self._dropped_during_reply else self.config.idle_timeout
        if now - self._progress_at < bound:
            return
        message = self.conversation.mark_interrupted(f"no data for {bound:.0f} s", now)
        self._in_flight = False
        self._dropped_during_reply = False
        self._update_live()
        self.conversation.record(
            now, "client", "STALLED", "reply interrupted: no data", ref=message.id if message else None
        )
        self._flush_queue(now)

    # -- helpers ----------------------------------------------------------------------------------

    def _live_state(self) -> ConnectionState:
        if self.conversation.waiting_tool_calls():
            return S.TOOL_CALL_PENDING
        if self.conversation.awaiting_reply or self._in_flight:
            return S.STREAMING
        return S.OPEN

    def _send(self, frame: str, now: float, kind: str, summary: str, ref: str | None = None) -> None:
        self._outbox.append(frame)
        self.conversation.record(now, "out", kind, summary, raw=frame, ref=ref)

    def _trace_in(self, frame: proto.Frame, raw: str, now: float) -> None:
        event = frame.event
        if type(event) is ev.TextDelta:  # the hot path
            self.conversation.record(
                now, "in", "TOKEN", event.text, seq=frame.seq, raw=raw, stream_id=event.stream_id
            )
            return
        match event:
            case ev.ToolCall(tool_name=name, call_id=cid, stream_id=sid):
                self.conversation.record(
                    now, "in", frame.kind, name, seq=frame.seq, raw=raw, stream_id=sid, ref=cid
                )
            case ev.ToolResult(call_id=cid, stream_id=sid):
                self.conversation.record(
                    now, "in", frame.kind, cid, seq=frame.seq, raw=raw, stream_id=sid, ref=cid
                )
            case ev.ContextSnapshot(context_id=cid, size=size):
                self.conversation.record(
                    now, "in", frame.kind, f"{cid} ({size:,} bytes)", seq=frame.seq, raw=raw, ref=cid
                )
            case ev.Heartbeat(challenge=challenge):
                summary = f"challenge '{challenge}'" if challenge else "empty challenge"
                self.conversation.record(now, "in", frame.kind, summary, seq=frame.seq, raw=raw)
            case ev.StreamEnd(stream_id=sid):
                self.conversation.record(now, "in", frame.kind, sid, seq=frame.seq, raw=raw, stream_id=sid)
            case ev.ServerError(code=code, message=message):
                self.conversation.record(now, "in", frame.kind, f"{code}: {message}", seq=frame.seq, raw=raw)
            case ev.ProtocolError(reason=reason, excerpt=text):
                self.conversation.record(now, "in", "PROTOCOL_ERROR", reason, seq=frame.seq, raw=text)
            case _:
                self.conversation.record(now, "in", frame.kind, frame.kind, seq=frame.seq, raw=raw)
