"""The SSE conversation dialect, sans-I/O.

Two layers, kept apart as in httpx-sse:

* `SSEDecoder` (`console/dialects/sse/event_stream.py`) frames text into `ServerSentEvent`s by the WHATWG
  event-stream rules, within a size limit per line and per event. It knows nothing of conversations.
* `ConversationDecoder` turns one server-sent event (name, data text, id) into normalized events from
  `console.events`. It never raises: bad input becomes a `ProtocolError` event and the stream goes on.

The wire format, with a sample stream, is in docs/protocols/sse.md.

Accepted aliases (servers are not spec-perfect): role "agent"/"assistant"/"ai"/"bot" -> assistant and
"user"/"human" -> user; `chunk` or `text`/`delta`; `componentType` or `type`/`component`; `field` or
`name`/`key`; an optional `componentId` (the wire format has none: components are numbered per message); a
`component_field` may carry `"fields": {...}` instead of one field/value pair. A missing `index` places
the chunk after the last one. The SSE `event:` name decides the type; when it is absent ("message") the
JSON `event` member does. Other JSON members are ignored.

Theory of operation, per message
--------------------------------
Text chunks are applied in `index` order, each once, by the console's one reorder buffer
(`console/sequencing.py`, index n as seq n + 1): the next index is applied at once together with the
held successors; a later index is held until the gap before it fills; an index already applied (or
held) with the same text is a duplicate, dropped and counted, and with other text a conflict (the
first one is kept). When more than `max_held` chunks wait on one gap, the gap is reported
(`ProtocolError` naming the missing indices) and skipped, so text keeps flowing; a chunk that turns up
after its gap was skipped is reported and dropped, since text already shown cannot be spliced. At
`message_end` every held chunk is released in index order and the gap reported.

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
from console.dialects.sse.components import Duplicate, MessageComponents, Replayed
from console.dialects.sse.event_stream import ServerSentEvent
from console.dialects.sse.members import (
    EVENT_TYPES,
    ROLES,
    InvalidEvent,
    ranges,
    read_index,
    read_message_id,
    read_str,
)
from console.events import (
    Event,
    MessageStart,
    ProtocolError,
    StreamEnd,
    TextDelta,
    excerpt,
)
from console.jsonvalue import JsonObject
from console.sequencing import Sequencer, Verdict

# ----------------------------------------------------------------------------------------------
# Conversation events
# ----------------------------------------------------------------------------------------------

DEFAULT_MAX_DATA = 8 * 1024 * 1024  # a data: URL photo in a field must pass; 80 MB must not
DEFAULT_MAX_HELD = 32
_APPLIED, _HELD = Verdict.APPLIED, Verdict.HELD  # read per chunk: module constants are cheaper

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
class _Message:
    message_id: str
    components: MessageComponents
    chunks: Sequencer[str] = field(default_factory=Sequencer)  # by seq = index + 1
    skipped: set[int] = field(default_factory=set)  # indices given up on: a late one cannot be spliced
    replaying: bool = False


def _new_message(message_id: str) -> _Message:
    return _Message(message_id, MessageComponents(message_id))


class ConversationDecoder:
    """Decodes the events of one SSE conversation; keep one instance across reconnects."""

    def __init__(
        self,
        *,
        known_fields: Mapping[str, frozenset[str]] | None = None,
        max_held: int = DEFAULT_MAX_HELD,
        max_data: int = DEFAULT_MAX_DATA,
        completed: Iterable[str] = (),
    ) -> None:
        # Field names per component type (from the component models: `components.known_fields()`);
        # a field outside them is reported. A type not named here takes any field.
        self.known_fields: Mapping[str, frozenset[str]] = known_fields or {}
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
        return tuple(sorted(seq - 1 for seq in message.chunks.pending)) if message else ()

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
        except Replayed:
            self.stats.replayed += 1
            return Decoded(kind, message_id, "replayed", ())
        except Duplicate:
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
            raise Replayed
        message = self._open.get(message_id)
        if message is not None:
            # The stream is replaying a message it had begun: match what follows to what is shown.
            message.replaying = True
            message.components.restart()
            raise Replayed
        role = obj.get("role")
        events: list[Event] = []
        mapped = ROLES.get(role.lower()) if isinstance(role, str) else None
        if mapped is None:
            shown = "missing" if role is None else jsonvalue.dumps(role)
            events.append(ProtocolError(f"message {message_id}: role {shown}, treated as agent", ""))
            mapped = "assistant"
        self._open[message_id] = _new_message(message_id)
        events.insert(0, MessageStart(stream_id=message_id, role=mapped))
        return events

    def _message_end(self, obj: JsonObject, message_id: str) -> list[Event]:
        if message_id in self._completed:
            raise Replayed
        message = self._open.pop(message_id, None)
        if message is None:
            raise InvalidEvent(f"message {message_id} never started")
        self._completed.add(message_id)
        events = self._release(message)
        if message.components.left_open:
            events.append(ProtocolError(f"message {message_id} ended with its component still open", ""))
        events.append(StreamEnd(stream_id=message_id))
        return events

    def _message(self, message_id: str, kind: str) -> tuple[_Message, list[Event]]:
        """The open message an event belongs to; a message never announced is started as an agent's,
        since dropping its text would lose more than guessing the role."""
        if message_id in self._completed:
            raise Replayed
        message = self._open.get(message_id)
        if message is not None:
            return message, []
        message = self._open[message_id] = _new_message(message_id)
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
        chunks = message.chunks
        if index is None:  # after the last chunk seen
            index = max([chunks.next_seq - 1, *chunks.pending])
        released = chunks.push(index + 1, hash(text), text)
        verdict = chunks.verdict
        if verdict is _APPLIED:  # the common case, inline: in order, with whatever it released
            message.replaying = False
            self.stats.applied += len(released)
            if len(released) == 1:
                if text:
                    events.append(TextDelta(message_id, text))
            else:
                events += [TextDelta(message_id, chunk) for chunk in released if chunk]
            return events
        if verdict is not _HELD:
            self._refused(message, index, verdict)
        message.replaying = False
        self.stats.out_of_order += 1
        if chunks.held > self.max_held:
            events.extend(self._skip_gap(message))
        return events

    def _refused(self, message: _Message, index: int, verdict: Verdict) -> None:
        """A chunk index already applied or held: a duplicate, a replay, or one that cannot be placed."""
        name = f"chunk {index} of {message.message_id}"
        if verdict is Verdict.ABSURD:
            raise InvalidEvent(f"{name} is further ahead than any gap can be: dropped")
        if index in message.skipped:
            raise InvalidEvent(f"{name} came after its gap was skipped: dropped")
        if verdict in (Verdict.STRAY, Verdict.CONFLICT):
            raise InvalidEvent(f"{name} differs from the one already received; first kept")
        if message.replaying:
            raise Replayed
        raise Duplicate

    def _applied(self, message: _Message, texts: list[str]) -> list[Event]:
        self.stats.applied += len(texts)
        return [TextDelta(stream_id=message.message_id, text=text) for text in texts if text]

    def _skip_gap(self, message: _Message) -> list[Event]:
        waiting = message.chunks.held
        missing, released = message.chunks.skip_gap()
        indices = range(missing.start - 1, missing.stop - 1)
        message.skipped.update(indices)
        self.stats.gaps += 1
        error = ProtocolError(
            f"message {message.message_id}: chunks {ranges(indices)} missing after "
            f"{waiting} later chunks arrived; skipped",
            "",
        )
        return [error, *self._applied(message, released)]

    def _release(self, message: _Message) -> list[Event]:
        events: list[Event] = []
        while message.chunks.pending:
            events.extend(self._skip_gap(message))
        return events

    # -- components ----------------------------------------------------------------------------

    def _component_start(self, obj: JsonObject, message_id: str) -> list[Event]:
        type_name = read_str(obj, ("componentType", "type", "component"))
        if not type_name:
            raise InvalidEvent("no string 'componentType'")
        message, events = self._message(message_id, "component_start")
        return events + message.components.start(type_name, obj.get("componentId"))

    def _target(self, message_id: str) -> _Message:
        if message_id in self._completed:
            raise Replayed
        message = self._open.get(message_id)
        if message is None:
            raise InvalidEvent(f"for message {message_id} that never started")
        return message

    def _component_field(self, obj: JsonObject, message_id: str) -> list[Event]:
        message = self._target(message_id)
        component = message.components.target(obj)
        known = self.known_fields.get(component.type)
        return message.components.fill(component, obj, known, message.replaying)

    def _component_end(self, obj: JsonObject, message_id: str) -> list[Event]:
        message = self._target(message_id)
        return message.components.end(obj, message.replaying)
