"""Every kind of trace row, and the category each belongs to.

A trace row's kind is one of `TraceKind`: mypy rejects a kind no one registered, so the timeline, the
exporters and the tests cannot drift from what the engines write. Each kind has one `Category`, and
everything that treats rows alike asks the category, never a list of kinds: the timeline joins the
rows of category TEXT of one stream into one row (whatever the dialect calls a text delta), ends that
run on an END, starts a new one after a CALL or BLOCK, links RESULT and TOOL rows to their CALL; the
browser colours rows and hides heartbeats by category (timeline.js, timeline.css).

Kinds are stored in the trace as plain `str` (a row is a tuple the garbage collector does not walk),
so the registry is a `Literal`, not an enum: a literal kind costs nothing at runtime, and a kind read
from the wire or from disk goes through `as_kind` once.

The built-in dialects' kinds are listed here, each with its category (`test_trace_kinds.py` checks
every kind has exactly one), so mypy checks every use. A dialect that lives elsewhere (a plugin, a
test's toy dialect) declares its own kinds in its descriptor (`Dialect.trace_kinds`), registered here
when the dialect is (`register_kinds`); it names them through `as_kind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, Literal, TypeAlias, cast, get_args


class Category(StrEnum):
    """What a row is, for whoever groups, links or colours rows. Declared in the order chips sort."""

    USER = "user"  # what the user sent: a prompt, a run request, an approval answer
    TEXT = "text"  # a piece of a message's text: joined into one row per text run
    CALL = "call"  # a tool call begins: breaks the text run, results and acks link to it
    TOOL = "tool"  # more about a tool call (ack, streamed arguments, its end): links to the call
    RESULT = "result"  # a tool call's result: links to the call, with the time between
    BLOCK = "block"  # a non-text block begins (component, reasoning, activity): breaks the text run
    PART = "part"  # more about a message or block: fields, reasoning text, custom events
    STATE = "state"  # context and state snapshots and deltas
    END = "end"  # a message's stream ended: its text row stops streaming
    RUN = "run"  # a run or step began or finished
    LINK = "link"  # the link came up, resumed, was restored or completed
    HEARTBEAT = "heartbeat"  # the link is alive (hidden until asked for)
    WARNING = "warning"  # the client handled something unusual (held, duplicate, late, unknown)
    DOWN = "down"  # the link went down or closed: no text row is streaming any more
    INTERRUPTED = "interrupted"  # a reply was given up: no text row is streaming any more
    ERROR = "error"  # an error: the upstream's, or a frame the client could not use


TraceKind: TypeAlias = Literal[
    # -- the agent dialect (WebSocket) --
    "TOKEN",
    "TOOL_CALL",
    "TOOL_RESULT",
    "TOOL_ACK",
    "CONTEXT_SNAPSHOT",
    "PING",
    "PONG",
    "STREAM_END",
    "USER_MESSAGE",
    "RESUME",
    "SEQ_RESTART",
    "HELD",
    "DUPLICATE",
    "LATE",
    "PING_REPEAT",
    "EARLY_ACK",
    "GAP_RESUME",
    "GAP_SKIPPED",
    # -- the SSE conversation dialect --
    "MESSAGE_START",
    "TEXT_CHUNK",
    "MESSAGE_END",
    "COMPONENT_START",
    "COMPONENT_FIELD",
    "COMPONENT_END",
    "COMPLETE",
    "REPLAY",
    # -- the chat dialect --
    "MESSAGE",
    "IDEA",
    "DONE",
    "RECONNECTED",
    "EMPTY_RESPONSE",
    # -- AG-UI: its event types, and what its client adds --
    "TEXT_MESSAGE_START",
    "TEXT_MESSAGE_CONTENT",
    "TEXT_MESSAGE_END",
    "TEXT_MESSAGE_CHUNK",
    "TOOL_CALL_START",
    "TOOL_CALL_ARGS",
    "TOOL_CALL_END",
    "TOOL_CALL_CHUNK",
    "TOOL_CALL_RESULT",
    "STATE_SNAPSHOT",
    "STATE_DELTA",
    "MESSAGES_SNAPSHOT",
    "ACTIVITY_SNAPSHOT",
    "ACTIVITY_DELTA",
    "RAW",
    "CUSTOM",
    "RUN_STARTED",
    "RUN_FINISHED",
    "RUN_ERROR",
    "STEP_STARTED",
    "STEP_FINISHED",
    "REASONING_START",
    "REASONING_MESSAGE_START",
    "REASONING_MESSAGE_CONTENT",
    "REASONING_MESSAGE_END",
    "REASONING_MESSAGE_CHUNK",
    "REASONING_END",
    "REASONING_ENCRYPTED_VALUE",
    "SUBAGENT_STARTED",
    "SUBAGENT_FINISHED",
    "SUBAGENT_ERROR",
    "RUN_AGENT_INPUT",
    "ANSWER",
    "HTTP_ERROR",
    "UNKNOWN_EVENT",
    # -- every dialect: the link, the model, the store --
    "CONNECTED",
    "DISCONNECTED",
    "CONNECT_FAILED",
    "CLOSED",
    "STALLED",
    "INTERRUPTED",
    "ERROR",
    "PROTOCOL_ERROR",
    "STATE_PATCH_FAILED",
    "RESTORED",
    # -- OpenTelemetry spans shown as a trace: the GenAI operations, other spans, span events --
    "INVOKE_AGENT",
    "CHAT",
    "EXECUTE_TOOL",
    "SPAN",
    "EVENT",
]

C = Category

CATEGORY: Final[dict[TraceKind, Category]] = {
    "USER_MESSAGE": C.USER,
    "RUN_AGENT_INPUT": C.USER,
    "ANSWER": C.USER,
    "TOKEN": C.TEXT,
    "TEXT_CHUNK": C.TEXT,
    "MESSAGE": C.TEXT,
    "TEXT_MESSAGE_CONTENT": C.TEXT,
    "TEXT_MESSAGE_CHUNK": C.TEXT,
    "TOOL_CALL": C.CALL,
    "TOOL_CALL_START": C.CALL,
    "TOOL_ACK": C.TOOL,
    "TOOL_CALL_ARGS": C.TOOL,
    "TOOL_CALL_END": C.TOOL,
    "TOOL_CALL_CHUNK": C.TOOL,
    "TOOL_RESULT": C.RESULT,
    "TOOL_CALL_RESULT": C.RESULT,
    "COMPONENT_START": C.BLOCK,
    "REASONING_MESSAGE_START": C.BLOCK,
    "ACTIVITY_SNAPSHOT": C.BLOCK,
    "MESSAGE_START": C.PART,
    "TEXT_MESSAGE_START": C.PART,
    "COMPONENT_FIELD": C.PART,
    "COMPONENT_END": C.PART,
    "IDEA": C.PART,
    "REASONING_START": C.PART,
    "REASONING_MESSAGE_CONTENT": C.PART,
    "REASONING_MESSAGE_END": C.PART,
    "REASONING_MESSAGE_CHUNK": C.PART,
    "REASONING_END": C.PART,
    "REASONING_ENCRYPTED_VALUE": C.PART,
    "ACTIVITY_DELTA": C.PART,
    "RAW": C.PART,
    "CUSTOM": C.PART,
    "CONTEXT_SNAPSHOT": C.STATE,
    "STATE_SNAPSHOT": C.STATE,
    "STATE_DELTA": C.STATE,
    "MESSAGES_SNAPSHOT": C.STATE,
    "STREAM_END": C.END,
    "MESSAGE_END": C.END,
    "TEXT_MESSAGE_END": C.END,
    "DONE": C.END,
    "RUN_STARTED": C.RUN,
    "RUN_FINISHED": C.RUN,
    "STEP_STARTED": C.RUN,
    "STEP_FINISHED": C.RUN,
    "SUBAGENT_STARTED": C.RUN,
    "SUBAGENT_FINISHED": C.RUN,
    "CONNECTED": C.LINK,
    "RECONNECTED": C.LINK,
    "RESUME": C.LINK,
    "RESTORED": C.LINK,
    "COMPLETE": C.LINK,
    "REPLAY": C.LINK,
    "SEQ_RESTART": C.LINK,
    "PING": C.HEARTBEAT,
    "PONG": C.HEARTBEAT,
    "HELD": C.WARNING,
    "DUPLICATE": C.WARNING,
    "LATE": C.WARNING,
    "PING_REPEAT": C.WARNING,
    "EARLY_ACK": C.WARNING,
    "GAP_RESUME": C.WARNING,
    "UNKNOWN_EVENT": C.WARNING,
    "DISCONNECTED": C.DOWN,
    "CONNECT_FAILED": C.DOWN,
    "CLOSED": C.DOWN,
    "STALLED": C.INTERRUPTED,
    "INTERRUPTED": C.INTERRUPTED,
    "EMPTY_RESPONSE": C.INTERRUPTED,
    "ERROR": C.ERROR,
    "PROTOCOL_ERROR": C.ERROR,
    "RUN_ERROR": C.ERROR,
    "SUBAGENT_ERROR": C.ERROR,
    "HTTP_ERROR": C.ERROR,
    "STATE_PATCH_FAILED": C.ERROR,
    "GAP_SKIPPED": C.ERROR,
    "INVOKE_AGENT": C.RUN,
    "CHAT": C.RUN,
    "EXECUTE_TOOL": C.RUN,
    "SPAN": C.RUN,
    "EVENT": C.PART,
}

KINDS: Final[tuple[TraceKind, ...]] = get_args(TraceKind)
# A kind read from the wire or a file that no one registered (a newer journal, say) is shown as this.
UNKNOWN: Final[TraceKind] = "UNKNOWN_EVENT"
_BY_NAME: Final[dict[str, TraceKind]] = {kind: kind for kind in KINDS}
_CATEGORY_OF: Final[dict[str, Category]] = {kind: value for kind, value in CATEGORY.items()}


def as_kind(name: str) -> TraceKind:
    """The registered kind called `name` (upper case), else `UNKNOWN_EVENT`."""
    return _BY_NAME.get(name, UNKNOWN)


def register_kinds(kinds: Mapping[str, Category]) -> None:
    """Make a dialect's own kinds known, each with its category; a kind known with another category
    is refused (the timeline would treat its rows two ways)."""
    for name, group in kinds.items():
        known = _CATEGORY_OF.get(name)
        if known is not None and known is not group:
            raise ValueError(f"trace kind {name} is a {known} already, not a {group}")
    for name, group in kinds.items():
        _CATEGORY_OF[name] = group
        _BY_NAME[name] = cast(TraceKind, name)  # registered at run time: a kind mypy cannot list


def category(kind: str) -> Category:
    """The category of a row's kind; a kind no one registered (an old file) is a PART."""
    return _CATEGORY_OF.get(kind, C.PART)


def browser_table() -> list[list[str]]:
    """[kind, category] for every kind, in chip order (category, then registry): the timeline's prop."""
    order = list(Category)
    ranked = sorted(_CATEGORY_OF, key=lambda kind: order.index(_CATEGORY_OF[kind]))
    return [[kind, _CATEGORY_OF[kind].value] for kind in ranked]
