"""The client side of the agent protocol, sans-I/O: protocol + sequencing + session, driven by time.

The transport feeds it what happens (`connected`, `receive`, `disconnected`, `tick` with the current
monotonic time) and sends whatever `data_to_send()` returns. Every protocol rule of the client lives
here, where a test can drive it with plain strings and a fake clock:

* PING is answered on receipt, before sequencing: a PONG never waits behind a gap. A copy of a PING
  seen before (replayed or duplicated: same seq, same bytes) gets no second PONG.
* Server frames are applied to the conversation strictly in seq order, each once (`Sequencer`). A
  frame the sequencer refuses (a stray at an old seq, an absurd seq) is a protocol-error row.
* Frames name their reply by stream id: the first new stream after a prompt is its reply; a frame
  for any other unknown stream (or one that already ended) is a protocol-error row and touches
  neither the reply in progress nor the prompt queue.
* TOOL_ACK goes out when the TOOL_CALL is applied (its card exists in the model the page renders);
  a TOOL_CALL held behind a gap is acked anyway after `ack_deadline`, so the server's own deadline is
  met (see DECISIONS.md, "the TOOL_ACK race"); calls still waiting are acked again after a reconnect.
* On every reconnection the first frame is RESUME with the highest seq applied to the conversation.
* A gap is the server's to fill while the reply shows life: only after `gap_timeout` with no frame of
  the reply at all does it force a reconnect, so the server replays it (see DECISIONS.md, "Real
  servers"); after `max_gap_resumes` replays that did not fill it, the gap is
  skipped and reported.
* A reply that makes no progress for `stall_timeout` after a drop (or `idle_timeout` at all) is marked
  interrupted, keeping what arrived; the user can retry it. After a drop, a reply with frames known
  to be missing (a gap) is left to the gap rule instead.
* Prompts typed while a reply streams or the link is down are queued (so marked) and sent when the
  reply ends or the link is back, whichever is last: one reply at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from console import events as ev
from console.connection import ConnectionState
from console.dialects.agent import protocol as proto
from console.dialects.agent.config import DEFAULT_CONFIG, EngineConfig
from console.dialects.agent.streams import AckedCalls, ReplyStreams
from console.dialects.agent.trace import WHOLE_UP_TO, protocol_error, row_fields, stream_of, trace_not_applied
from console.link import LinkEvent, LinkState
from console.runtime.engine import LinkedEngine, PromptQueue, retry_prompt
from console.sequencing import Sequencer, Verdict
from console.session import Conversation, JournalInput, Message
from console.session_tokens import stream_token
from console.trace_kinds import TraceKind

__all__ = ["AgentEngine", "EngineConfig"]

S = ConnectionState
L = LinkState
E = LinkEvent
# Read at every token: an enum member read from its class goes through the metaclass (~80 ns on 3.11).
_RESUMING: Final = L.RESUMING


class AgentEngine(LinkedEngine):
    def __init__(self, conversation: Conversation | None = None, config: EngineConfig | None = None) -> None:
        # What a token reads first (`receive_many`): an instance keeps its attributes in the order
        # they were first set, so these share the first cache lines of them (an engine is cold in the
        # caches at each read when hundreds of sessions stream).
        self.conversation = conversation or Conversation()
        self.config = config or DEFAULT_CONFIG
        self.sequencer: Sequencer[proto.Frame] = Sequencer()
        self._reply_stream: str | None = None  # the stream of the reply in flight, once it began
        self.frames_in = 0
        self._last_frame_at = 0.0  # the last sequenced frame other than a PING: the server's sign of life
        self._progress_at = 0.0  # last time the reply in progress moved
        self._gap_resumes = 0
        self._prompts = PromptQueue(self.conversation)
        super().__init__(self.conversation)
        self._acked = AckedCalls()  # bounded (console/dialects/agent/streams.py)
        self._held_calls: dict[str, float] = {}  # call_id -> receive time, while behind a gap
        # The reply streams seen (the newest, as many as the conversation keeps messages): each one
        # still open or not, and the numbering it began in.
        self._streams = ReplyStreams(self.conversation.limits.window.messages)
        self._dropped_during_reply = False
        self._resumed_at = 0.0
        self._want_reconnect = False
        self.pong_count = 0
        self._restored = False  # rebuilt from a journal: the first connection resumes
        self._answered_ahead: dict[int, int] = {}  # PING fingerprints answered before their turn

    # -- what the transport asks ----------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No prompt waiting or in flight and no reply streaming."""
        return self._prompts.idle

    @property
    def ticking(self) -> bool:
        """A rule of `tick` may come due: resuming, a held call, a gap, a reply to watch for a stall,
        a prompt waiting to go."""
        return self.urgent or bool(self._prompts.in_flight or self.conversation.streaming is not None)

    @property
    def urgent(self) -> bool:
        """A deadline of a second or two may come due: resuming, an ack held behind a gap, a gap, a
        prompt waiting to go. A reply watched only for a stall is not (`tick_slack`)."""
        return bool(
            self._link.link.state is L.RESUMING
            or self._held_calls
            or self.sequencer.pending
            or self.sequencer.restart
            or self._prompts.waiting
        )

    def tick_slack(self, now: float) -> float:
        """The stall rule cannot come due before its bound has passed since the reply last moved
        (`_check_stall`): no tick is needed until then. Whatever brings it closer (a drop shortens
        the bound) hurries the tick; progress only moves it away."""
        bound = self.config.stall_timeout if self._dropped_during_reply else self.config.idle_timeout
        return self._progress_at + bound - now

    @property
    def wants_reconnect(self) -> bool:
        """The transport should drop the connection and reconnect (to get a gap replayed)."""
        return self._want_reconnect

    # -- lifecycle --------------------------------------------------------------------------------

    def restored(self, last_seq: int, new_epoch: bool, reply_open: bool, now: float) -> None:
        """The conversation was rebuilt from a journal: the first connection resumes after `last_seq`
        (0 when the reply to a prompt sent last had not begun), as a reconnection would."""
        self._restored = True
        self.sequencer.next_seq = last_seq + 1
        if new_epoch:
            self.sequencer.expect_new_epoch()
        self._prompts.in_flight = self._dropped_during_reply = reply_open
        self._progress_at = now
        self._prompts.restore()

    def connected(self, now: float) -> None:
        # Frames meant for the dead connection go: RESUME comes first, and re-sends the ACKs that matter.
        self._outbox.clear()
        self._want_reconnect = False
        self._last_frame_at = now  # the replay is the server's to send: count the quiet from here
        super().connected(now)

    def _first_connection(self) -> bool:
        return super()._first_connection() and not self._restored

    def _reconnected(self, now: float) -> None:
        self._link.handle(E.RECONNECTED)
        self._resumed_at = now
        self._restored = False
        # RESUME must be the first frame on the new connection.
        last = self.sequencer.resume_seq
        self._send(proto.resume(last), now, "RESUME", f"resume after seq {last}")
        for block in self.conversation.waiting_tool_calls():
            self._send_ack(block.call_id, now, again=True)

    def _after_connect(self, now: float) -> None:
        self._flush_queue(now)

    def _dropped(self, now: float, reason: str) -> None:
        self._want_reconnect = False
        if self.conversation.awaiting_reply:
            self._dropped_during_reply = True

    # -- the user ---------------------------------------------------------------------------------

    @property
    def _link_up(self) -> bool:
        """Live, or resuming (RESUME is already out, so a prompt may follow it)."""
        state = self._link.link.state
        return state is L.OPEN or state is L.RESUMING

    def send_user_message(self, text: str, now: float) -> Message:
        message = self._prompts.add(text, now, link_up=self._link_up)
        self._flush_queue(now)
        return message

    def retry(self, message_id: str, now: float) -> Message | None:
        """Ask again what an interrupted reply answered: once, however often the button is pressed."""
        prompt = retry_prompt(self.conversation, message_id)
        return None if prompt is None else self.send_user_message(prompt, now)

    def _flush_queue(self, now: float) -> None:
        """Send the next prompt if it may go: live (or resumed: RESUME is already out) and no reply."""
        message = self._prompts.take(link_up=self._link_up)
        if message is None:
            return
        text = message.text
        self._reply_stream = None
        self._progress_at = now
        self._last_frame_at = now  # the new reply's first frame may well be held: quiet counts from here
        self._dropped_during_reply = False
        self.sequencer.expect_new_epoch()
        self._send(proto.user_message(text), now, "USER_MESSAGE", text)

    # -- frames -----------------------------------------------------------------------------------

    def receive(self, raw: str | bytes, now: float) -> None:
        self.receive_many((raw,), now)

    def receive_many(self, messages: Iterable[str | bytes], now: float) -> None:
        """Frames read together, in order (a read's messages come as one list)."""
        max_frame = self.config.max_frame
        conversation = self.conversation
        sequencer = self.sequencer
        for raw in messages:
            if type(raw) is not str:
                self.receive_frame(proto.decode(raw, max_size=max_frame), raw, now)
                continue
            found = proto.decode_token(raw, max_size=max_frame)
            if not isinstance(found, tuple):
                self.receive_frame(found, raw, now)
                continue
            seq, stream_id, text = found
            fingerprint = hash(raw)
            reply = self._reply_stream
            if (
                stream_id == reply
                and self._link.link.state is not _RESUMING
                and sequencer.in_order(seq, fingerprint)
            ):
                # The hot path: the reply's next token, nothing held. What `receive_frame` does with
                # it (its row, then the sequencer applies it at once), with no frame or event built.
                # Its row holds the reply's own stream id (equal): the frame's copy goes with the frame.
                stream_id = reply
                self.frames_in += 1
                self._last_frame_at = now
                if not stream_token(conversation, now, seq, raw, stream_id, text):
                    index = conversation.record(
                        now, "in", "TOKEN", text, seq=seq, raw=raw, stream_id=stream_id, place=True
                    )
                    conversation.apply(ev.TextDelta(stream_id, text), now, seq, ("frame", index, now, raw))
                self._progress_at = now
                self._gap_resumes = 0
                if self._prompts.waiting:
                    self._flush_queue(now)
                continue
            frame = proto.Frame("TOKEN", seq, ev.TextDelta(stream_id, text), fingerprint, len(raw))
            self.receive_frame(frame, raw, now)

    def heartbeat_ahead(self, raw: str, now: float) -> None:
        """A frame read behind others not applied yet (a flood): if it is a PING, answer it now, and
        not again when its turn comes."""
        frame = proto.decode(raw, max_size=self.config.max_frame)
        if type(frame.event) is ev.Heartbeat:
            ahead = self._answered_ahead
            copy_ahead = frame.fingerprint in ahead  # a duplicate of one already answered ahead
            ahead[frame.fingerprint] = ahead.get(frame.fingerprint, 0) + 1
            if not copy_ahead:
                self._answer(frame.event.challenge, frame.seq, frame.fingerprint, now)

    def receive_frame(self, frame: proto.Frame, raw: str | bytes, now: float) -> None:
        """A frame already decoded (the transport decodes megabyte frames off the event loop)."""
        self.frames_in += 1
        event = frame.event
        seq = frame.seq
        conversation = self.conversation
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        # Journaled as it came when its text alone rebuilds its row and its event (`trace.WHOLE_UP_TO`).
        whole = (
            conversation.journal is not None
            and type(raw) is str
            and len(raw) < WHOLE_UP_TO
            and type(event) is not ev.ProtocolError
        )
        if type(event) is ev.TextDelta:  # the hot path: a token's row, without `row_fields`' dispatch
            index = conversation.record(
                now, "in", "TOKEN", event.text, seq=seq, raw=text, stream_id=event.stream_id, place=whole
            )
            if seq is not None:
                self._last_frame_at = now
        else:
            kind, summary, kept, sid, ref = row_fields(frame, text)
            index = conversation.record(
                now, "in", kind, summary, seq=seq, raw=kept, stream_id=sid, ref=ref, place=whole
            )
            if type(event) is ev.Heartbeat:
                ahead = self._answered_ahead.get(frame.fingerprint, 0)
                if ahead:  # answered when it was read, ahead of a backlog
                    self._answered_ahead[frame.fingerprint] = ahead - 1
                    if ahead == 1:
                        del self._answered_ahead[frame.fingerprint]
                else:
                    self._answer(event.challenge, seq, frame.fingerprint, now)
            elif seq is not None:
                self._last_frame_at = now
        if self._link.link.state is L.RESUMING:
            self._link.handle(E.RESUMED)
        told = None  # what the journal is told of if the frame is applied as it came
        if whole:
            told = ("context" if type(event) is ev.ContextSnapshot else "frame", index, now, text)
        took = False  # whether it was
        try:
            if seq is None:
                sid = stream_of(event)
                if sid is None or self._stream_ok(sid, now, type(event) is ev.StreamEnd):
                    conversation.apply(event, now, None, told)
                    took = whole
            elif (
                type(event) is ev.TextDelta and event.stream_id == self._reply_stream  # the hot path
            ) or not self._earlier_numbering(event, seq, now):
                # A frame we cannot use still holds its seq: it goes through the sequencer so no gap opens.
                restarts = self.sequencer.stats.restarts
                applied = self.sequencer.push(seq, frame.fingerprint, frame)
                if applied:
                    if self.sequencer.stats.restarts != restarts:
                        conversation.record(
                            now, "client", "SEQ_RESTART", "new reply: frames numbered from 1 again (normal)"
                        )
                else:
                    trace_not_applied(conversation, self.sequencer.verdict, seq, self.sequencer.next_seq, now)
                    if self.sequencer.verdict is Verdict.HELD and type(event) is ev.ToolCall:
                        self._held_calls.setdefault(event.call_id, now)
                took = self._apply(applied, now, frame if whole else None, told)
                if self.sequencer.pending or self.sequencer.restart or self._held_calls:
                    self.hurried = True  # a gap opened (a call may be held behind it): ticks every interval
        finally:
            if whole and not took and (journal := conversation.journal) is not None:
                journal(("seen", index, now, text))  # not applied as it came: the journal has it for its row

    def _earlier_numbering(self, event: ev.Event, seq: int, now: float) -> bool:
        """A frame of a reply that began in an earlier numbering (`ReplyStreams.earlier`): a LATE row."""
        sid = event.stream_id if type(event) is ev.TextDelta else stream_of(event)
        if sid is None or sid == self._reply_stream or not self._streams.earlier(sid, self.sequencer.epoch):
            return False
        late = f"seq {seq} of an earlier reply ({sid}): not applied"
        self.conversation.record(now, "client", "LATE", late, seq=seq, stream_id=sid)
        return True

    def _answer(self, challenge: str, seq: int | None, fingerprint: int, now: float) -> None:
        """PONG on receipt, never behind the reorder buffer (an empty challenge is echoed too), once:
        a copy of a PING already pushed (same seq, same bytes: a replay, a duplicate, a late copy of
        the previous numbering's) was answered when it first came."""
        if seq is not None and self.sequencer.seen(seq, fingerprint):
            self.conversation.record(
                now, "client", "PING_REPEAT", f"seq {seq} already answered: no second PONG"
            )
            return
        self.pong_count += 1
        self._send(proto.pong(challenge), now, "PONG", f"echo '{challenge}'")

    def _protocol_error(self, now: float, reason: str, seq: int | None = None) -> None:
        protocol_error(self.conversation, now, reason, seq)

    def _stream_ok(self, sid: str, now: float, end: bool = False) -> bool:
        """Whether a frame of stream `sid` may touch the conversation (see the module docstring)."""
        if sid == self._reply_stream:
            return True
        is_open = self._streams.is_open(sid)
        if is_open:
            return True  # a reply given up on (stalled) whose rest came after all: it streams again
        if is_open is None and self._prompts.in_flight and self._reply_stream is None:
            self._reply_stream = sid
            self._streams.began(sid, self.sequencer.epoch)
            if self.sequencer.awaiting_epoch:
                self.sequencer.epoch_began()
            return True
        if is_open is None:
            self._protocol_error(now, f"frame for unknown stream '{sid}': not shown")
        elif not end:  # a late copy of an end is harmless; anything else after it is not
            self._protocol_error(now, f"frame for stream '{sid}', which already ended: not shown")
        return False

    def _apply(
        self,
        frames: list[proto.Frame],
        now: float,
        placed: proto.Frame | None = None,
        told: JournalInput | None = None,
    ) -> bool:
        """Apply the frames the sequencer let through. `placed`: the frame just received, whose row
        the journal has as its place, applied with `told` (what the journal is told of instead of its
        event: `trace.WHOLE_UP_TO`); whether it was applied."""
        apply = self.conversation.apply
        took = False
        for frame in frames:
            event = frame.event
            if type(event) is ev.TextDelta:  # the hot path: most frames are tokens
                if event.stream_id == self._reply_stream or self._stream_ok(event.stream_id, now):
                    if frame is placed:
                        took = True
                        apply(event, now, frame.seq, told)
                    else:
                        apply(event, now, frame.seq)
                    self._progress_at = now
                continue
            sid = stream_of(event)
            if sid is not None and not self._stream_ok(sid, now, type(event) is ev.StreamEnd):
                continue  # not this conversation's reply (a StreamEnd of an ended stream is harmless)
            if frame is placed:
                took = True
                apply(event, now, frame.seq, told)
            else:
                apply(event, now, frame.seq)
            if not isinstance(event, ev.Heartbeat):
                self._progress_at = now
            if isinstance(event, ev.ToolCall):
                self._held_calls.pop(event.call_id, None)
                self._send_ack(event.call_id, now)
            elif isinstance(event, ev.ToolResult):
                self._acked.answered(event.call_id)
            elif isinstance(event, ev.StreamEnd):
                self._streams.ended(event.stream_id)
                if event.stream_id == self._reply_stream:
                    self._prompts.in_flight = False
                    self._reply_stream = None
                    self._dropped_during_reply = False
        if frames:
            self._gap_resumes = 0
        if self._prompts.waiting:
            self._flush_queue(now)
        return took

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
        # Ten times a second for every session: each rule is asked only when it has something to do.
        if self._link.link.state is L.RESUMING and now - self._resumed_at >= self.config.resume_quiet:
            self._link.handle(E.RESUMED)
        if self._held_calls:
            self._ack_held_calls(now)
        if self.sequencer.pending or self.sequencer.restart:  # a gap
            self._check_gap(now)
        self._check_stall(now)
        if self._prompts.waiting:
            self._flush_queue(now)

    def _ack_held_calls(self, now: float) -> None:
        if not self._held_calls:
            return
        for call_id, since in list(self._held_calls.items()):
            if now - since >= self.config.ack_deadline and self._link_up:
                del self._held_calls[call_id]
                self.conversation.record(
                    now, "client", "EARLY_ACK", f"{call_id} held behind a gap: acked before render"
                )
                self._send_ack(call_id, now)

    def _check_gap(self, now: float) -> None:
        # While frames of the reply keep coming, the server is alive and fills the gap itself (a
        # pause, its reorder buffer, a call held until the ack timeout): a reconnect would cost more.
        if not self.sequencer.has_gap or not self.live:
            return
        if now - self._last_frame_at < self.config.gap_timeout:
            return
        if self._gap_resumes < self.config.max_gap_resumes:
            self._gap_resumes += 1
            self._want_reconnect = True
            self._last_frame_at = now
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
        if not self._prompts.in_flight and self.conversation.streaming is None:
            return
        if self._dropped_during_reply and self.sequencer.has_gap and self.live:
            # Frames of it exist that have not arrived (the replay is still coming, or its end sits in
            # the server's buffer): not abandoned. The gap rule resumes for them, or skips them.
            return
        bound = self.config.stall_timeout if self._dropped_during_reply else self.config.idle_timeout
        if now - self._progress_at < bound:
            return
        message = self.conversation.mark_interrupted(f"no data for {bound:.0f} s", now)
        self._prompts.in_flight = False
        self._reply_stream = None
        self._dropped_during_reply = False
        self.conversation.record(
            now, "client", "STALLED", "reply interrupted: no data", ref=message.id if message else None
        )
        self._flush_queue(now)

    # -- helpers ----------------------------------------------------------------------------------

    def _send(self, frame: str, now: float, kind: TraceKind, summary: str, ref: str | None = None) -> None:
        self._outbox.append(frame)
        self.conversation.record(now, "out", kind, summary, raw=frame, ref=ref)
