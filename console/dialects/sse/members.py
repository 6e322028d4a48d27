"""The members of an SSE conversation event's JSON, read as servers write them: the roles and event names
the dialect defines, the aliases accepted, and why a member cannot be used. (The fields of each component
type are the component models' own: `components.known_fields()`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue

ROLES: Mapping[str, str] = {
    "user": "user",
    "human": "user",
    "agent": "assistant",
    "assistant": "assistant",
    "ai": "assistant",
    "bot": "assistant",
}

EVENT_TYPES = frozenset(
    {"message_start", "text_chunk", "message_end", "component_start", "component_field", "component_end"}
)


class InvalidEvent(Exception):
    """The event cannot be used; the message says why (the upstream's fault)."""


def read_message_id(kind: str, obj: JsonObject) -> str:
    value = obj.get("messageId", obj.get("message_id"))
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"{kind} event has no string 'messageId'")
    return value


def read_str(obj: JsonObject, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def read_index(obj: JsonObject) -> int | None:
    if "index" not in obj:
        return None
    value = obj["index"]
    # bool is an int in Python; `true` is a mistyped index, not index 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidEvent(f"'index' must be a non-negative integer, got {jsonvalue.dumps(value)}")
    return value


def read_field_pairs(obj: JsonObject) -> list[tuple[str, JsonValue]]:
    fields = obj.get("fields")
    if isinstance(fields, dict) and fields:
        return list(fields.items())
    name = read_str(obj, ("field", "name", "key"))
    if not name:
        raise InvalidEvent("no string 'field'")
    if "value" not in obj:
        raise InvalidEvent(f"field '{name}' has no 'value'")
    return [(name, obj["value"])]


def ranges(indices: Iterable[int]) -> str:
    """3, 4, 5, 9 -> '3-5, 9'."""
    spans: list[list[int]] = []
    for index in sorted(indices):
        if spans and index == spans[-1][1] + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
