"""A streamed token in one step: its trace row and its text, as `record` then `apply` would do them.

Most frames a console receives are tokens of the reply in progress, and each used to be two passes
through the model (`SessionMember.record` for its row, `Conversation.apply` for its text), each with
its own lookups of the session, its counters and its listeners. `stream_token` does both with one
call and one lookup of each, in the same order and with the same effects: the row (and the journal's
trace tap, the received count, the views' `TraceAdded`), then the journal's text tap, the text, the
text count and the views' `TextAppended`. Anything but more text of a streaming reply's last text
block is left to the two general calls.

The journal is told of such a token once, as the frame it came in (`("token", index, at, raw)`, an
agent-protocol TOKEN frame: the agent engine is the caller), and of its row by its index alone: its
text and its row are decoded from the frame on replay (`console/store/records.py`). Any other frame
the agent engine receives is journaled as it came too, through the general calls
(`console/dialects/agent/trace.py`).
"""

from __future__ import annotations

from console.session import Conversation
from console.session_blocks import TextBlock
from console.session_changes import TextAppended, TraceAdded, tell
from console.session_trace import TraceEntry


def stream_token(
    conversation: Conversation, at: float, seq: int, raw: str, stream_id: str, text: str
) -> bool:
    """Record and apply a received token (a TOKEN row holding `raw`, then `text` appended to the reply of
    `stream_id`), if it is simply more text of that reply's text block in a conversation alone in
    its session. False, with nothing done, otherwise: record and apply it the general way."""
    session = conversation.session
    message = conversation._by_stream.get(stream_id)
    if (
        message is None
        or not text
        or session.sole is not conversation
        or message.status == "interrupted"
        or message.role != "assistant"
    ):
        return False
    blocks = message.blocks
    if not blocks or type(block := blocks[-1]) is not TextBlock:
        return False
    row = session.trace.add(at, "in", "TOKEN", text, seq, raw, stream_id, None)
    if (tap := session.journal_trace) is not None:
        tap(row[0])  # its place in the trace: the journal rebuilds the row from the frame (below)
    counts = session.counts
    counts.received += 1
    if listeners := conversation._listeners:
        tell(listeners, TraceAdded(TraceEntry(*row)))
    if (journal := conversation.journal) is not None:
        # The frame as it came, once: its text and its row are both decoded from it on replay.
        journal(("token", row[0], at, raw))
    block.parts.append(text)
    block.length += len(text)
    counts.text_deltas += 1
    if listeners := conversation._listeners:  # again: a view told of the row may have left
        tell(listeners, TextAppended(message, len(blocks) - 1, text))
    return True
