"""What the agent engine writes on the timeline for each frame it receives, and which stream a frame is of."""

from __future__ import annotations

from typing import cast

from console import events as ev
from console.dialects.agent import protocol as proto
from console.sequencing import Verdict
from console.session import Conversation
from console.trace_kinds import as_kind
from console.window import OVERSIZED_RAW, lean_raw


def trace_in(conversation: Conversation, frame: proto.Frame, raw: str, now: float) -> None:
    """The timeline row of one received frame, as received (before any sequencing)."""
    event = frame.event
    if type(event) is ev.TextDelta:  # the hot path
        conversation.record(now, "in", "TOKEN", event.text, seq=frame.seq, raw=raw, stream_id=event.stream_id)
        return
    match event:
        case ev.ToolCall(tool_name=name, call_id=cid, stream_id=sid):
            conversation.record(now, "in", "TOOL_CALL", name, seq=frame.seq, raw=raw, stream_id=sid, ref=cid)
        case ev.ToolResult(call_id=cid, stream_id=sid):
            conversation.record(now, "in", "TOOL_RESULT", cid, seq=frame.seq, raw=raw, stream_id=sid, ref=cid)
        case ev.ContextSnapshot(context_id=cid, size=size):
            # The snapshot's data is kept once, by the context it updates: the row keeps the start.
            kept = lean_raw(raw) if len(raw) > OVERSIZED_RAW else raw
            conversation.record(
                now, "in", "CONTEXT_SNAPSHOT", f"{cid} ({size:,} bytes)", seq=frame.seq, raw=kept, ref=cid
            )
        case ev.Heartbeat(challenge=challenge):
            summary = f"challenge '{challenge}'" if challenge else "empty challenge"
            conversation.record(now, "in", "PING", summary, seq=frame.seq, raw=raw)
        case ev.StreamEnd(stream_id=sid):
            conversation.record(now, "in", "STREAM_END", sid, seq=frame.seq, raw=raw, stream_id=sid)
        case ev.ServerError(code=code, message=message):
            conversation.record(now, "in", "ERROR", f"{code}: {message}", seq=frame.seq, raw=raw)
        case ev.ProtocolError(reason=reason, excerpt=text):
            conversation.record(now, "in", "PROTOCOL_ERROR", reason, seq=frame.seq, raw=text)
        case _:
            conversation.record(now, "in", as_kind(frame.kind), frame.kind, seq=frame.seq, raw=raw)


def trace_not_applied(
    conversation: Conversation, verdict: Verdict, seq: int, waiting: int, now: float
) -> None:
    """Say on the timeline why a frame was not applied (yet): the sequencer's `verdict` on it, while it
    waits for seq `waiting`."""
    record = conversation.record
    match verdict:
        case Verdict.HELD:
            record(now, "client", "HELD", f"seq {seq} held: waiting for seq {waiting}", seq=seq)
        case Verdict.MAYBE_FIRST:
            record(now, "client", "HELD", "seq 1 repeats the last reply's first frame: held until "
                   "the next frame shows whether the new reply began", seq=seq)  # fmt: skip
        case Verdict.DUPLICATE | Verdict.STALE:
            record(now, "client", "DUPLICATE", f"dropped duplicate seq {seq}", seq=seq)
        case Verdict.STRAY:
            protocol_error(conversation, now, f"seq {seq} was already applied with other content and no "
                           "new reply was asked for: frame ignored", seq)  # fmt: skip
        case Verdict.ABSURD:
            protocol_error(
                conversation, now, f"seq {seq} is not a plausible sequence number: frame ignored", seq
            )
        case Verdict.CONFLICT:
            protocol_error(
                conversation, now, f"seq {seq} already held with other content: the first is kept", seq
            )
        case Verdict.APPLIED:
            pass


def protocol_error(conversation: Conversation, now: float, reason: str, seq: int | None = None) -> None:
    """A PROTOCOL_ERROR row, counted."""
    conversation.counts.protocol_errors += 1
    conversation.record(now, "client", "PROTOCOL_ERROR", reason, seq=seq)


def stream_of(event: ev.Event) -> str | None:
    """The stream a reply event belongs to (None for frames of no stream: snapshots, PINGs, errors)."""
    # Types compared by identity: a `A | B | C` union is built anew on every call (it was 2% of a
    # process at 300 sessions).
    kind = type(event)
    if kind is ev.TextDelta or kind is ev.ToolCall or kind is ev.ToolResult or kind is ev.StreamEnd:
        return cast(_StreamEvent, event).stream_id
    return None


_StreamEvent = ev.TextDelta | ev.ToolCall | ev.ToolResult | ev.StreamEnd
