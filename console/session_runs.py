"""The conversation reducer's part for runs: outcomes, streamed tool arguments, approvals, state
deltas and reasoning (what request-per-run dialects such as AG-UI say; the others never emit these).

Kept beside `session.py` and called by `Conversation.apply` for these events only, so the reducer stays
one pure fold: the same events at the same times give the same conversation.
"""

from __future__ import annotations

from console import events as ev
from console import json_patch, jsonvalue
from console import session as model
from console import session_cards as cards
from console import session_contexts as contexts
from console.jsonvalue import JsonValue

REASONING = "reasoning"  # the component type reasoning is shown as (collapsed, see components/)

_ENDED_STATUS: dict[ev.RunOutcome, model.MessageStatus] = {
    "success": "done",
    "interrupt": "interrupted",
    "cancelled": "interrupted",
    "lost": "interrupted",
    "error": "error",
}


def apply(conv: model.Conversation, event: ev.Event, at: float, seq: int | None) -> None:
    match event:
        case ev.RunStarted(stream_id=sid):
            conv._stream_message(sid, at)
        case ev.RunEnded():
            _run_ended(conv, event)
        case ev.ToolCallStart(stream_id=sid, call_id=cid, tool_name=name):
            cards.tool_call(conv, ev.ToolCall(sid, cid, name, {}), at, streaming=True)
        case ev.ToolArgsDelta(call_id=cid, delta=delta):
            found = _tool(conv, cid)
            if found is not None and found[2].args_streaming and delta:
                message, index, block = found
                block.args_parts.append(delta)
                conv._emit(model.ToolArgsAppended(message, index, delta))
        case ev.ApprovalRequested(call_id=cid, interrupt_id=iid, prompt=prompt):
            found = _tool(conv, cid)
            if found is not None:
                message, index, block = found
                block.approval, block.interrupt_id, block.answer = prompt, iid, None
                conv._emit(model.BlockUpdated(message, index))
        case ev.ContextDelta():
            _context_delta(conv, event, at, seq)
        case ev.ReasoningDelta():
            _reasoning(conv, event, at)
        case ev.Step():
            pass  # the trace shows steps


def complete_streamed_call(conv: model.Conversation, event: ev.ToolCall) -> bool:
    """A call announced by `ToolCallStart` gets its parsed arguments in place (True), not a new card."""
    found = _tool(conv, event.call_id)
    if found is None or not found[2].args_streaming:
        return False  # other dialects: a call is one event, as before
    message, index, block = found
    block.args = event.args
    block.args_streaming = False
    conv._emit(model.BlockUpdated(message, index))
    return True


def answer(conv: model.Conversation, call_id: str, approved: bool) -> None:
    """The user answered the approval a tool card asks for."""
    found = _tool(conv, call_id)
    if found is not None:
        message, index, block = found
        block.approval, block.answer = None, "approved" if approved else "denied"
        conv._emit(model.BlockUpdated(message, index))


def _tool(conv: model.Conversation, call_id: str) -> tuple[model.Message, int, model.ToolBlock] | None:
    where = conv._tools.get(call_id)
    if where is None:
        return None
    message, index = where
    block = message.blocks[index]
    return (message, index, block) if isinstance(block, model.ToolBlock) else None


def _run_ended(conv: model.Conversation, event: ev.RunEnded) -> None:
    message = conv._by_stream.get(event.stream_id)
    if message is None or message.status not in ("streaming", "interrupted"):
        return
    conv._set_status(message, _ENDED_STATUS[event.outcome], event.detail)
    if event.outcome == "error":
        conv.notice("error", f"the run failed: {event.detail}")


def _context_delta(conv: model.Conversation, event: ev.ContextDelta, at: float, seq: int | None) -> None:
    """Patch the latest state. The document the last delta produced stays parsed beside its entry
    (one per context), so a run of deltas on a large state costs the patch and one encoding each, not
    a parse of the whole state; after a snapshot, or a patch that failed half-way, it is parsed again
    from the kept bytes."""
    cid = event.context_id
    history = contexts.history_of(conv, cid)
    live = conv._live_states.pop(cid, None)
    if live is not None and history and live[0] is history[-1]:
        document = live[1]
    else:
        document = jsonvalue.loads(history[-1].encoded) if history else {}
    patched = json_patch.apply_patch(document, event.patch)
    if isinstance(patched, json_patch.PatchFailed):
        # The state stays as it was; the run goes on; a later snapshot repairs it.
        conv.record(at, "client", "STATE_PATCH_FAILED", patched.reason, ref=cid)
        conv.notice("warning", f"a {cid} delta did not apply ({patched.reason}); kept the last")
        return
    entry = model.ContextEntry(at, seq, jsonvalue.dumps_kept(patched), event.size)
    contexts.keep(conv, history, entry)  # within the window, as a snapshot is
    conv._live_states[cid] = (entry, patched)
    conv._emit(model.ContextAdded(cid, len(history) - 1))


def keep_live(conv: model.Conversation, context_id: str, data: JsonValue) -> None:
    """A dialect that patches its contexts keeps the snapshot it just applied parsed, so the first
    delta after it does not parse it again from bytes (the caller gives up `data`)."""
    history = conv.contexts.get(context_id)
    if history:
        conv._live_states[context_id] = (history[-1], data)


def _reasoning(conv: model.Conversation, event: ev.ReasoningDelta, at: float) -> None:
    """Reasoning is a collapsed component: its parts collect here and its text is set once, at the end
    (no work per delta proportional to the length so far, and no view update per delta)."""
    sid, key = event.stream_id, f"{REASONING}:{event.reasoning_id}"
    if cards.find_component(conv, sid, key) is None:
        cards.component_start(conv, ev.ComponentStart(sid, key, REASONING), at)
    parts = conv._reasoning.setdefault(key, [])
    if event.text:
        parts.append(event.text)
    if event.done:
        text = "".join(conv._reasoning.pop(key))
        cards.component_field(conv, ev.ComponentField(sid, key, "text", text), at)
        cards.component_end(conv, ev.ComponentEnd(sid, key))
