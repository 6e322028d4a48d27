"""The SSE conversation dialect, sans-I/O.

Two layers, kept apart as in httpx-sse:

* `SSEDecoder` (`console/dialects/sse/event_stream.py`) frames text into `ServerSentEvent`s by the WHATWG
  event-stream rules, within a size limit per line and per event. It knows nothing of conversations.
* `ConversationDecoder` turns one server-sent event (name, data text, id) into normalized events from
  `console.events`. It never raises: bad input becomes a `ProtocolError` event and the stream goes on.

Wire format (spec sample)::

    event:message_start
    data:{"event":"message_start","messageId":"msg_0","role":"user"}
    event:text_chunk
    data:{"event":"text_chunk","messageId":"msg_0","chunk":"Hi! ","index":0}
    event:component_start
    data:{"event":"component_start","messageId":"msg_2","componentType":"calendar_event"}
    event:component_field
    data:{"event":"component_field","messageId":"msg_2","field":"title","value":"Meeting with John"}
    event:component_end
    data:{"event":"component_end","messageId":"msg_2"}
    event:message_end
    data:{"event":"message_end","messageId":"msg_0"}

Accepted aliases (servers are not spec-perfect): role "agent"/"assistant"/"ai"/"bot" -> assistant and
"user"/"human" -> user; `chunk` or `text`/`delta`; `componentType` or `type`/`component`; `field` or
`name`/`key`; an optional `componentId` (the spec has none: components are numbered per message); a
`component_field` may carry `"fields": {...}` instead of one field/value pair. A missing `index` places
the chunk after the last one. The SSE `event:` name decides the type; when it is absent ("message") the
JSON `event` member does. Other JSON members are ignored.

Theory of operation, per message
--------------------------------
Text chunks are applied in `index` order, each once: the next index is applied at once together with
the held successors; a later index is held until the gap before it fills; an index already applied (or
held) is a duplicate, dropped and counted. When more than `max_held` chunks wait on one gap, the gap is
reported (`ProtocolError` naming the missing indices) and skipped, so text keeps flowing; a chunk that
turns up after its gap was skipped is reported and dropped, since text already shown cannot be spliced.
At `message_end` every held chunk is released in index order and the gap reported.

Replay: a stream without ids replays the conversation from the start after a reconnect. Events of a
message that already ended are dropped and counted as replayed (`completed` lists those messages). A
`message_start` for a message still open means its replay has begun: chunks dedupe by index, and the
components restart their count so the replayed `component_start`/`component_field` events match the
components already shown instead of creating them twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from console import jsonvalue
from console.dialects.fields import type_name
from console.dialects.sse.event_stream import ServerSentEvent as ServerSentEvent  # part of this API
from console.dialects.sse.event_stream import SSEDecoder as SSEDecoder
from console.dialects.sse.members import (
    EVENT_TYPES,
    ROLES,
    SPEC_COMPONENT_FIELDS,
    InvalidEvent,
    ranges,
    read_field_pairs,
    read_index,
    read_message_id,
    read_str,
)
from console.events import (
    ComponentEnd,
    ComponentField,
    ComponentStart,
    Event,
    MessageStart,
    ProtocolError,
    StreamEnd,
    TextDelta,
    excerpt,
)
from console.jsonvalue import JsonObject, JsonValue

# ----------------------------------------------------------------------------------------------
# Conversation events
# ----------------------------------------------------------------------------------------------

DEFAULT_MAX_DATA = 8 * 1024 * 1024  # a data: URL photo in a field must pass; 80 MB must not
DEFAULT_MAX_HELD = 32

Outcome = Literal["applied", "held", "duplicate", "replayed", "invalid", "ignored"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one server-sent event became.

    `outcome`: applied (events produced), held (a chunk waits for a gap), duplicate, replayed (part of
    a message already shown), invalid (only a ProtocolError came out), ignored (no data: a keep-alive,
    or the empty event httpx-sse dispatches for a block that only set `retry:` or `id:`).
    """

    kind: str
    message_id: str | None
    outcome: Outcome
    events: tuple[Event, ...]


@dataclass(slots=True)
class ConversationStats:
    applied: int = 0  # text chunks applied
    out_of_order: int = 0  # chunks that had to wait for a gap
    duplicates: int = 0
    replayed: int = 0  # events dropped because they replay what was already shown
    gaps: int = 0  # gaps reported (skipped or released at message_end)
    invalid: int = 0  # events that were only a ProtocolError


@dataclass(slots=True)
class _Component:
    component_id: str
    type: str
    fields: dict[str, JsonValue] = field(default_factory=dict)
    ended: bool = False


@dataclass(slots=True)
class _Message:
    message_id: str
    next_index: int = 0
    held: dict[int, str] = field(default_factory=dict)
    applied: dict[int, str] = field(default_factory=dict)  # kept to tell a duplicate from a conflict
    skipped: set[int] = field(default_factory=set)
    components: list[_Component] = field(default_factory=list)
    cursor: int = 0  # components seen since the message (re)started: replays count from 0 again
    current: _Component | None = None  # the component that component_field events fill
    replaying: bool = False


class _Replayed(Exception):
    pass


class _Duplicate(Exception):
    pass


class ConversationDecoder:
    """Decodes the events of one SSE conversation; keep one instance across reconnects."""

    def __init__(
        self,
        *,
        known_fields: Mapping[str, frozenset[str]] = SPEC_COMPONENT_FIELDS,
        max_held: int = DEFAULT_MAX_HELD,
        max_data: int = DEFAULT_MAX_DATA,
        completed: Iterable[str] = (),
    ) -> None:
        self.known_fields = known_fields
        self.max_held = max_held
        self.max_data = max_data
        self._completed: set[str] = set(completed)
        self._open: dict[str, _Message] = {}
        self.last_event_id = ""
        self.stats = ConversationStats()
        self._handlers: dict[str, Callable[[JsonObject, str], list[Event]]] = {
            "message_start": self._message_start,
            "text_chunk": self._text_chunk,
            "message_end": self._message_end,
            "component_start": self._component_start,
            "component_field": self._component_field,
            "component_end": self._component_end,
        }

    # -- queries -------------------------------------------------------------------------------

    @property
    def completed(self) -> frozenset[str]:
        """Ids of the messages that ended: a replay of them is dropped."""
        return frozenset(self._completed)

    def is_complete(self, message_id: str) -> bool:
        return message_id in self._completed

    @property
    def open_messages(self) -> tuple[str, ...]:
        return tuple(self._open)

    def held(self, message_id: str) -> tuple[int, ...]:
        """The chunk indices of a message waiting for a gap to fill."""
        message = self._open.get(message_id)
        return tuple(sorted(message.held)) if message else ()

    # -- input ---------------------------------------------------------------------------------

    def decode(self, event: str, data: str, id: str = "") -> list[Event]:
        return list(self.feed(event, data, id).events)

    def decode_sse(self, sse: ServerSentEvent) -> Decoded:
        return self.feed(sse.event, sse.data, sse.id)

    def feed(self, event: str, data: str, id: str = "") -> Decoded:
        """Decode one server-sent event. Never raises."""
        if id:
            self.last_event_id = id
        kind = event or "message"
        if not data.strip():
            return Decoded(kind, None, "ignored", ())
        try:
            obj = self._parse(kind, data)
            kind = self._kind(kind, obj)
            message_id = read_message_id(kind, obj)
        except InvalidEvent as exc:
            return self._invalid(kind, None, str(exc), data)
        handler = self._handlers[kind]
        try:
            events = handler(obj, message_id)
        except InvalidEvent as exc:
            return self._invalid(kind, message_id, f"{kind}: {exc}", data)
        except _Replayed:
            self.stats.replayed += 1
            return Decoded(kind, message_id, "replayed", ())
        except _Duplicate:
            self.stats.duplicates += 1
            return Decoded(kind, message_id, "duplicate", ())
        if not events:
            return Decoded(kind, message_id, "held", ())
        outcome: Outcome = "invalid" if all(isinstance(e, ProtocolError) for e in events) else "applied"
        if outcome == "invalid":
            self.stats.invalid += 1
        return Decoded(kind, message_id, outcome, tuple(events))

    def release_held(self) -> list[Event]:
        """Give up waiting on every gap (the stream is over for good): held chunks of the open messages
        come out in index order, each gap reported. The messages stay open."""
        events: list[Event] = []
        for message in self._open.values():
            events.extend(self._release(message))
        return events

    # -- parsing -------------------------------------------------------------------------------

    def _parse(self, kind: str, data: str) -> JsonObject:
        if len(data) > self.max_data:
            raise InvalidEvent(f"{kind} event of {len(data)} chars exceeds the {self.max_data}-char limit")
        try:
            value = jsonvalue.loads(data)
        except jsonvalue.JsonDecodeError as exc:
            raise InvalidEvent(f"{kind} event: malformed JSON: {exc}") from None
        if jsonvalue.nesting_exceeds(data, value):
            raise InvalidEvent(f"{kind} event: JSON nested deeper than {jsonvalue.MAX_DEPTH} levels")
        if not isinstance(value, dict):
            raise InvalidEvent(f"{kind} event: data is a JSON {type_name(value)}, not an object")
        return value

    def _kind(self, name: str, obj: JsonObject) -> str:
        member = obj.get("event")
        if name == "message":
            if not isinstance(member, str):
                raise InvalidEvent("event has no type: no `event:` line and no string 'event' member")
            name = member
        elif isinstance(member, str) and member != name:
            raise InvalidEvent(f"event name '{name}' disagrees with its data's 'event' member '{member}'")
        if name not in EVENT_TYPES:
            raise InvalidEvent(f"unknown event type '{name}'")
        return name

    def _invalid(self, kind: str, message_id: str | None, reason: str, data: str) -> Decoded:
        self.stats.invalid += 1
        return Decoded(kind, message_id, "invalid", (ProtocolError(reason, excerpt(data)),))

    # -- messages ------------------------------------------------------------------------------

    def _message_start(self, obj: JsonObject, message_id: str) -> list[Event]:
        if message_id in self._completed:
            raise _Replayed
        message = self._open.get(message_id)
        if message is not None:
            # The stream is replaying a message it had begun: match what follows to what is shown.
            message.replaying = True
            message.cursor = 0
            message.current = None
            raise _Replayed
        role = obj.get("role")
        events: list[Event] = []
        mapped = ROLES.get(role.lower()) if isinstance(role, str) else None
        if mapped is None:
            shown = "missing" if role is None else jsonvalue.dumps(role)
            events.append(ProtocolError(f"message {message_id}: role {shown}, treated as agent", ""))
            mapped = "assistant"
        self._open[message_id] = _Message(message_id)
        events.insert(0, MessageStart(stream_id=message_id, role=mapped))
        return events

    def _message_end(self, obj: JsonObject, message_id: str) -> list[Event]:
        if message_id in self._completed:
            raise _Replayed
        message = self._open.pop(message_id, None)
        if message is None:
            raise InvalidEvent(f"message {message_id} never started")
        self._completed.add(message_id)
        events = self._release(message)
        if message.current is not None and not message.current.ended:
            events.append(ProtocolError(f"message {message_id} ended with its component still open", ""))
        events.append(StreamEnd(stream_id=message_id))
        return events

    def _message(self, message_id: str, kind: str) -> tuple[_Message, list[Event]]:
        """The open message an event belongs to; a message never announced is started as an agent's,
        since dropping its text would lose more than guessing the role."""
        if message_id in self._completed:
            raise _Replayed
        message = self._open.get(message_id)
        if message is not None:
            return message, []
        message = self._open[message_id] = _Message(message_id)
        return message, [
            ProtocolError(f"{kind} for message {message_id} that never started; shown as agent", ""),
            MessageStart(stream_id=message_id, role="assistant"),
        ]

    # -- text ----------------------------------------------------------------------------------

    def _text_chunk(self, obj: JsonObject, message_id: str) -> list[Event]:
        text = read_str(obj, ("chunk", "text", "delta"))
        if text is None:
            raise InvalidEvent("no string 'chunk'")
        index = read_index(obj)
        message, events = self._message(message_id, "text_chunk")
        if index is None:
            index = max([message.next_index - 1, *message.held]) + 1
        if index < message.next_index or index in message.held:
            self._seen_chunk(message, index, text)
        if message.replaying:
            message.replaying = False
        if index > message.next_index:
            message.held[index] = text
            self.stats.out_of_order += 1
            if len(message.held) > self.max_held:
                events.extend(self._skip_gap(message))
            return events
        events.extend(self._apply(message, index, text))
        return events

    def _seen_chunk(self, message: _Message, index: int, text: str) -> None:
        """A chunk index already applied or held: a duplicate, a replay, or too late to place."""
        if index in message.skipped:
            raise InvalidEvent(
                f"chunk {index} of {message.message_id} came after its gap was skipped: dropped"
            )
        previous = message.applied.get(index, message.held.get(index))
        if previous is not None and previous != text:
            raise InvalidEvent(
                f"chunk {index} of {message.message_id} differs from the one already received; first kept"
            )
        if message.replaying:
            raise _Replayed
        raise _Duplicate

    def _apply(self, message: _Message, index: int, text: str) -> list[Event]:
        events: list[Event] = []
        while True:
            message.applied[index] = text
            message.next_index = index + 1
            self.stats.applied += 1
            if text:
                events.append(TextDelta(stream_id=message.message_id, text=text))
            successor = message.held.pop(message.next_index, None)
            if successor is None:
                return events
            index, text = message.next_index, successor

    def _skip_gap(self, message: _Message) -> list[Event]:
        first = min(message.held)
        missing = range(message.next_index, first)
        message.skipped.update(missing)
        self.stats.gaps += 1
        events: list[Event] = [
            ProtocolError(
                f"message {message.message_id}: chunks {ranges(missing)} missing after "
                f"{len(message.held)} later chunks arrived; skipped",
                "",
            )
        ]
        events.extend(self._apply(message, first, message.held.pop(first)))
        return events

    def _release(self, message: _Message) -> list[Event]:
        events: list[Event] = []
        while message.held:
            events.extend(self._skip_gap(message))
        return events

    # -- components ----------------------------------------------------------------------------

    def _component_start(self, obj: JsonObject, message_id: str) -> list[Event]:
        type_name = read_str(obj, ("componentType", "type", "component"))
        if not type_name:
            raise InvalidEvent("no string 'componentType'")
        message, events = self._message(message_id, "component_start")
        given = obj.get("componentId")
        message.cursor += 1
        if isinstance(given, str) and given:
            component_id = given
            existing = next((c for c in message.components if c.component_id == given), None)
            if existing is not None and existing.type != type_name:
                raise InvalidEvent(f"component {given} started again as {type_name}, was {existing.type}")
        else:
            component_id = f"{message_id}/component-{len(message.components) + 1}"
            replayable = message.cursor <= len(message.components)
            existing = message.components[message.cursor - 1] if replayable else None
        # A replayed start names the type of the component it replays; a different type is a new one
        # (a duplicated message_start, not a replay, reset the count).
        if existing is not None and existing.type == type_name:
            message.current = existing
            raise _Replayed
        if message.current is not None and not message.current.ended:
            # A new component implies the previous one is over; say so rather than leave it spinning.
            message.current.ended = True
            events.append(ProtocolError(f"component {message.current.component_id} never ended", ""))
            events.append(ComponentEnd(stream_id=message_id, component_id=message.current.component_id))
        component = _Component(component_id, type_name)
        message.components.append(component)
        message.cursor = len(message.components)
        message.current = component
        events.append(ComponentStart(stream_id=message_id, component_id=component_id, type=type_name))
        return events

    def _target(self, obj: JsonObject, message_id: str) -> tuple[_Message, _Component]:
        if message_id in self._completed:
            raise _Replayed
        message = self._open.get(message_id)
        if message is None:
            raise InvalidEvent(f"for message {message_id} that never started")
        given = obj.get("componentId")
        if isinstance(given, str) and given:
            component = next((c for c in message.components if c.component_id == given), None)
        else:
            component = message.current
        if component is None:
            raise InvalidEvent(f"for a component of message {message_id} that never started")
        return message, component

    def _component_field(self, obj: JsonObject, message_id: str) -> list[Event]:
        message, component = self._target(obj, message_id)
        pairs = read_field_pairs(obj)
        events: list[Event] = []
        known = self.known_fields.get(component.type)
        replayed = 0
        for name, value in pairs:
            if known is not None and name not in known:
                events.append(
                    ProtocolError(
                        f"component_field: '{name}' is not a field of {component.type}; dropped", ""
                    )
                )
            elif component.fields.get(name, _ABSENT) == value:
                replayed += 1
            elif component.ended and not message.replaying:
                events.append(
                    ProtocolError(
                        f"component_field: '{name}' for {component.component_id} after it ended", ""
                    )
                )
            else:
                component.fields[name] = value
                events.append(ComponentField(message_id, component.component_id, name, value))
        if not events and replayed:
            raise _Replayed if message.replaying else _Duplicate
        return events

    def _component_end(self, obj: JsonObject, message_id: str) -> list[Event]:
        message, component = self._target(obj, message_id)
        if component.ended:
            raise _Replayed if message.replaying else _Duplicate
        component.ended = True
        return [ComponentEnd(stream_id=message_id, component_id=component.component_id)]


_ABSENT = object()
