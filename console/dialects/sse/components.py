"""The components of one SSE conversation message, decoded: started, filled field by field, ended, and
recognised when the stream replays them.

Components have no id on the wire (an optional `componentId` aside): they are numbered per message in
the order they start, and `component_field` / `component_end` go to the one started last. When the
stream replays a message (its `message_start` again), the count restarts (`restart`): a replayed
`component_start` of the same type at the same place is the component already shown, and its fields,
sent again with the same values, change nothing. A start of another type there is a new component.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from console.dialects.sse.members import InvalidEvent, read_field_pairs
from console.events import ComponentEnd, ComponentField, ComponentStart, Event, ProtocolError
from console.jsonvalue import JsonObject, JsonValue


class Replayed(Exception):
    """The event repeats what the stream showed before a reconnection replayed it."""


class Duplicate(Exception):
    """The event is a copy of one already applied."""


@dataclass(slots=True)
class Component:
    component_id: str
    type: str
    fields: dict[str, JsonValue] = field(default_factory=dict)
    ended: bool = False


@dataclass(slots=True)
class MessageComponents:
    """The components of one message, and which one `component_field` events fill."""

    message_id: str
    components: list[Component] = field(default_factory=list)
    cursor: int = 0  # components seen since the message (re)started: replays count from 0 again
    current: Component | None = None  # the component that component_field events fill

    def restart(self) -> None:
        """The stream replays the message: what follows is matched to the components shown."""
        self.cursor = 0
        self.current = None

    @property
    def left_open(self) -> bool:
        return self.current is not None and not self.current.ended

    def start(self, type_name: str, given: JsonValue) -> list[Event]:
        """A `component_start` of `type_name` (`given`: its `componentId` member, if any)."""
        self.cursor += 1
        if isinstance(given, str) and given:
            component_id = given
            existing = next((c for c in self.components if c.component_id == given), None)
            if existing is not None and existing.type != type_name:
                raise InvalidEvent(f"component {given} started again as {type_name}, was {existing.type}")
        else:
            component_id = f"{self.message_id}/component-{len(self.components) + 1}"
            replayable = self.cursor <= len(self.components)
            existing = self.components[self.cursor - 1] if replayable else None
        # A replayed start names the type of the component it replays; a different type is a new one
        # (a duplicated message_start, not a replay, reset the count).
        if existing is not None and existing.type == type_name:
            self.current = existing
            raise Replayed
        events: list[Event] = []
        if self.current is not None and not self.current.ended:
            # A new component implies the previous one is over; say so rather than leave it spinning.
            self.current.ended = True
            events.append(ProtocolError(f"component {self.current.component_id} never ended", ""))
            events.append(ComponentEnd(stream_id=self.message_id, component_id=self.current.component_id))
        component = Component(component_id, type_name)
        self.components.append(component)
        self.cursor = len(self.components)
        self.current = component
        events.append(ComponentStart(stream_id=self.message_id, component_id=component_id, type=type_name))
        return events

    def target(self, obj: JsonObject) -> Component:
        """The component a field or end event is for: the one it names, else the one started last."""
        given = obj.get("componentId")
        if isinstance(given, str) and given:
            component = next((c for c in self.components if c.component_id == given), None)
        else:
            component = self.current
        if component is None:
            raise InvalidEvent(f"for a component of message {self.message_id} that never started")
        return component

    def fill(
        self, component: Component, obj: JsonObject, known: Collection[str] | None, replaying: bool
    ) -> list[Event]:
        """A `component_field` for `component` (one pair, or several as `fields`); `known`: the fields
        its type has (None: any)."""
        events: list[Event] = []
        repeated = 0
        for name, value in read_field_pairs(obj):
            if known is not None and name not in known:
                reason = f"component_field: '{name}' is not a field of {component.type}; dropped"
                events.append(ProtocolError(reason, ""))
            elif component.fields.get(name, _ABSENT) == value:
                repeated += 1
            elif component.ended and not replaying:
                reason = f"component_field: '{name}' for {component.component_id} after it ended"
                events.append(ProtocolError(reason, ""))
            else:
                component.fields[name] = value
                events.append(ComponentField(self.message_id, component.component_id, name, value))
        if not events and repeated:
            raise Replayed if replaying else Duplicate
        return events

    def end(self, obj: JsonObject, replaying: bool) -> list[Event]:
        component = self.target(obj)
        if component.ended:
            raise Replayed if replaying else Duplicate
        component.ended = True
        return [ComponentEnd(stream_id=self.message_id, component_id=component.component_id)]


_ABSENT = object()
