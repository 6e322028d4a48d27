"""What the agent engine writes on the timeline for each frame it receives, and which stream a frame is of.

A frame journaled as it came
----------------------------
A received frame's row holds the frame's text, and what it applies is decoded from that same text.
Told apart, the journal wrote both: the row with its summary, stream id and raw text, then the event
with its fields (a tool call's arguments, a result, a context's data) a second time. Since the row is
a function of the frame alone (`row_fields`) and so is its event (`proto.decode`), the engine records
a frame's row as its place (`record(place=True)`) and, once the frame's fate is known, tells the
journal of the frame itself (`console/store/records.py` reads it back):

* applied as it came: `("frame", index, at, raw)`, or `("context", index, at, raw)` for a context
  snapshot (a reader of context versions looks for those, and decodes nothing else), given to
  `Conversation.apply` as what the journal is told of instead of the event;
* not applied as it came (held behind a gap, a duplicate, late, of a stream not shown):
  `("seen", index, at, raw)`, its row alone; its event, if it is applied later, is told as any event.

A reply's next token has its own hot path (`session_tokens.stream_token`, `("token", ...)`). A frame of
`WHOLE_UP_TO` characters or more keeps the general way (its row, then its event): a large context
snapshot gets a chunk of its own in the journal, which retention lets go (console/store/blocks.py),
and a frame that did not decode (`ProtocolError`) keeps its row as the engine made it.
"""

from __future__ import annotations

from typing import Final, cast

from console import events as ev
from console.dialects.agent import protocol as proto
from console.sequencing import Verdict
from console.session import Conversation
from console.trace_kinds import TraceKind, as_kind
from console.window import OVERSIZED_RAW, lean_raw

WHOLE_UP_TO: Final = 16 * 1024  # characters of a received frame below which it is journaled as it came


def row_fields(frame: proto.Frame, raw: str) -> tuple[TraceKind, str, str | None, str | None, str | None]:
    """What a received frame's row holds besides its seq: (kind, summary, raw as kept, stream id,
    ref). A function of the frame alone, so that the journal rebuilds the row from the frame's text."""
    match frame.event:
        case ev.TextDelta(text=text, stream_id=sid):
            return "TOKEN", text, raw, sid, None
        case ev.ToolCall(tool_name=name, call_id=cid, stream_id=sid):
            return "TOOL_CALL", name, raw, sid, cid
        case ev.ToolResult(call_id=cid, stream_id=sid):
            return "TOOL_RESULT", cid, raw, sid, cid
        case ev.ContextSnapshot(context_id=cid, size=size):
            # The snapshot's data is kept once, by the context it updates: the row keeps the start.
            kept = lean_raw(raw) if len(raw) > OVERSIZED_RAW else raw
            return "CONTEXT_SNAPSHOT", f"{cid} ({size:,} bytes)", kept, None, cid
        case ev.Heartbeat(challenge=challenge):
            return "PING", f"challenge '{challenge}'" if challenge else "empty challenge", raw, None, None
        case ev.StreamEnd(stream_id=sid):
            return "STREAM_END", sid, raw, sid, None
        case ev.ServerError(code=code, message=message):
            return "ERROR", f"{code}: {message}", raw, None, None
        case ev.ProtocolError(reason=reason, excerpt=text):
            return "PROTOCOL_ERROR", reason, text, None, None
        case _:
            return as_kind(frame.kind), frame.kind, raw, None, None


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
