"""What the simulated AG-UI agent says to a run: a to-do assistant, built from the protocol's own models.

Every run of a prompt exercises the protocol end to end: a step with collapsed reasoning, the state
(a snapshot when the client has none, then JSON Patch deltas), an empty text message before a tool
call (as Pydantic AI sends), a tool call whose arguments stream in pieces and its result, an
activity that progresses by patch, streamed text, a CUSTOM event, and RUN_FINISHED. A prompt that
says "delete" (or "approve") asks for approval first and finishes interrupted; the run that resumes
it deletes or keeps the to-dos. Chaos (seeded, one trouble per run): the stream is cut (the client
resumes by Last-Event-ID when ids are on), a delta that cannot apply followed by a repairing
snapshot, a malformed line and an event of an unknown type, a RUN_ERROR, or an HTTP 503.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from ag_ui import core
from pydantic import TypeAdapter

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue

Trouble = Literal["none", "cut", "bad_patch", "malformed", "run_error", "http_error"]
TROUBLES: tuple[Trouble, ...] = ("cut", "bad_patch", "malformed", "run_error", "http_error")
HTTP_ERROR_BODY = "simulated overload: the agent is busy, try again"
_ADAPTER: TypeAdapter[core.Event] = TypeAdapter(core.Event)


@dataclass(slots=True)
class Script:
    """A run's answer: events (or raw `data` lines), where chaos cuts it, or an HTTP error instead."""

    items: list[core.BaseEvent | str] = field(default_factory=list)
    cut_at: int | None = None
    http_error: str | None = None


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == len(words) - 1 else f"{w} " for i, w in enumerate(words)]


def _todos(state: JsonValue) -> list[JsonValue]:
    todos = state.get("todos") if isinstance(state, dict) else None
    return list(todos) if isinstance(todos, list) else []


def _ev(kind: str, **fields: JsonValue) -> core.BaseEvent:
    """An event of the protocol from its wire fields, validated by the protocol's own models."""
    built: core.BaseEvent = _ADAPTER.validate_python({"type": kind, **fields})
    return built


def _text(message_id: str, text: str) -> list[core.BaseEvent]:
    out = [_ev("TEXT_MESSAGE_START", messageId=message_id, role="assistant")]
    out += [_ev("TEXT_MESSAGE_CONTENT", messageId=message_id, delta=w) for w in _words(text)]
    return [*out, _ev("TEXT_MESSAGE_END", messageId=message_id)]


def _tool_call(call_id: str, name: str, args: JsonObject, parent: str) -> list[core.BaseEvent]:
    text = jsonvalue.dumps(args)
    pieces = [text[i : i + 12] for i in range(0, len(text), 12)]
    out = [_ev("TOOL_CALL_START", toolCallId=call_id, toolCallName=name, parentMessageId=parent)]
    out += [_ev("TOOL_CALL_ARGS", toolCallId=call_id, delta=p) for p in pieces]
    return [*out, _ev("TOOL_CALL_END", toolCallId=call_id)]


def _reasoning(rid: str, text: str) -> list[core.BaseEvent]:
    out = [
        _ev("REASONING_START", messageId=rid),
        _ev("REASONING_MESSAGE_START", messageId=rid, role="reasoning"),
    ]
    out += [_ev("REASONING_MESSAGE_CONTENT", messageId=rid, delta=w) for w in _words(text)]
    return [*out, _ev("REASONING_MESSAGE_END", messageId=rid), _ev("REASONING_END", messageId=rid)]


def _prompt(run: core.RunAgentInput) -> str:
    for message in reversed(run.messages):
        if isinstance(message, core.UserMessage) and isinstance(message.content, str):
            return message.content
    return ""


def script(run: core.RunAgentInput, state: JsonValue, trouble: Trouble, rng: random.Random) -> Script:
    """The answer to `run`, the agent holding `state` (the client's, or None)."""
    if trouble == "http_error":
        return Script(http_error=HTTP_ERROR_BODY)
    n = len(run.messages)
    head = [_ev("RUN_STARTED", threadId=run.thread_id, runId=run.run_id)]
    if run.resume:
        body = _resumed(run, state, n)
    elif any(word in _prompt(run).lower() for word in ("delete", "approve")):
        body = _ask_to_delete(run, state, n)
        return Script([*head, *body])
    else:
        body = _add_todo(run, state, n)
    items: list[core.BaseEvent | str] = [*head, *body]
    finished = _ev("RUN_FINISHED", threadId=run.thread_id, runId=run.run_id, outcome={"type": "success"})
    out = Script([*items, finished])
    _chaos(out, trouble, state, rng)
    return out


def _add_todo(run: core.RunAgentInput, state: JsonValue, n: int) -> list[core.BaseEvent]:
    prompt = _prompt(run) or "something"
    title = " ".join(prompt.split()[:6])
    out = [_ev("STEP_STARTED", stepName="plan")]
    out += _reasoning(f"think-{n}", f"The user wants: {title}. I will add it as a to-do and confirm.")
    out.append(_ev("STEP_FINISHED", stepName="plan"))
    if not isinstance(state, dict):
        state = {"todos": [], "runs": 0}
        out.append(_ev("STATE_SNAPSHOT", snapshot=state))
    runs = state.get("runs")
    count = len(_todos(state))
    parent, call = f"msg-{n}-a", f"call-{n}"
    out += [
        _ev("TEXT_MESSAGE_START", messageId=parent, role="assistant"),
        _ev("TEXT_MESSAGE_END", messageId=parent),
    ]
    out += _tool_call(call, "add_todo", {"title": title, "priority": 1 + n % 3}, parent)
    todo: JsonObject = {"title": title, "done": False}
    patch: list[JsonValue] = [
        {"op": "add", "path": "/todos/-", "value": todo},
        {
            "op": "replace" if "runs" in state else "add",
            "path": "/runs",
            "value": (runs if isinstance(runs, int) else 0) + 1,
        },
    ]
    out.append(_ev("STATE_DELTA", delta=patch))
    result = jsonvalue.dumps({"ok": True, "id": count + 1, "title": title})
    out.append(_ev("TOOL_CALL_RESULT", messageId=f"msg-{n}-t", toolCallId=call, content=result, role="tool"))
    activity = f"act-{n}"
    out.append(
        _ev(
            "ACTIVITY_SNAPSHOT",
            messageId=activity,
            activityType="progress",
            content={"step": "writing", "percent": 50},
        )
    )
    reply = (
        f"Added “{title}” to your list: you now have {count + 1} to-do{'s' if count else ''}. Anything else?"
    )
    out += _text(f"msg-{n}-b", reply)
    patch_done: list[JsonValue] = [
        {"op": "replace", "path": "/percent", "value": 100},
        {"op": "replace", "path": "/step", "value": "done"},
    ]
    out.append(_ev("ACTIVITY_DELTA", messageId=activity, activityType="progress", patch=patch_done))
    out.append(_ev("CUSTOM", name="usage", value={"input_tokens": 40 + n, "output_tokens": len(reply) // 4}))
    return out


def _ask_to_delete(run: core.RunAgentInput, state: JsonValue, n: int) -> list[core.BaseEvent]:
    parent, call = f"msg-{n}-a", f"call-{n}"
    out = _text(parent, "This deletes every to-do, so I need your approval.")
    out += _tool_call(call, "delete_todos", {"count": len(_todos(state))}, parent)
    interrupt: JsonObject = {
        "id": f"int-{call}",
        "reason": "tool_call",
        "toolCallId": call,
        "message": f"Delete all {len(_todos(state))} to-dos?",
    }
    outcome: JsonObject = {"type": "interrupt", "interrupts": [interrupt]}
    return [*out, _ev("RUN_FINISHED", threadId=run.thread_id, runId=run.run_id, outcome=outcome)]


def _resumed(run: core.RunAgentInput, state: JsonValue, n: int) -> list[core.BaseEvent]:
    out: list[core.BaseEvent] = []
    for entry in run.resume or []:
        call = entry.interrupt_id.removeprefix("int-")
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        approved = entry.status == "resolved" and payload.get("approved") is True
        result: JsonObject = {"deleted": len(_todos(state))} if approved else {"denied": True}
        out.append(
            _ev(
                "TOOL_CALL_RESULT",
                messageId=f"msg-{n}-t",
                toolCallId=call,
                content=jsonvalue.dumps(result),
                role="tool",
            )
        )
        if approved:
            runs = state.get("runs") if isinstance(state, dict) else 0
            out.append(
                _ev("STATE_SNAPSHOT", snapshot={"todos": [], "runs": runs if isinstance(runs, int) else 0})
            )
        out += _text(
            f"msg-{n}-{call}", "Deleted them all." if approved else "Kept them: nothing was deleted."
        )
    return out


def _chaos(out: Script, trouble: Trouble, state: JsonValue, rng: random.Random) -> None:
    items = out.items
    middle = 1 + rng.randrange(max(1, len(items) - 3))
    if trouble == "cut":
        out.cut_at = middle
    elif trouble == "malformed":
        items.insert(middle, '{"type": "TEXT_MESSAGE_CONTENT", "delta": ')
        items.insert(
            middle, jsonvalue.dumps({"type": "SIMULATED_FUTURE_EVENT", "detail": "from a newer protocol"})
        )
    elif trouble == "bad_patch":
        bad: list[JsonValue] = [{"op": "replace", "path": "/no/such/place", "value": 1}]
        at = next(i for i, item in enumerate(items) if isinstance(item, core.StateDeltaEvent))
        items.insert(at, _ev("STATE_DELTA", delta=bad))
        repaired = _ev(
            "STATE_SNAPSHOT", snapshot=state if isinstance(state, dict) else {"todos": [], "runs": 0}
        )
        items.insert(at + 1, repaired)
    elif trouble == "run_error":
        del items[middle:]
        items.append(
            _ev(
                "RUN_ERROR",
                message="simulated failure: the model provider timed out",
                code="UPSTREAM_TIMEOUT",
            )
        )


def choose_trouble(rng: random.Random, chaos: bool) -> Trouble:
    if not chaos or rng.random() < 0.25:
        return "none"
    return rng.choice(TROUBLES)
