"""Checks of a decoded frame's fields, shared by the dialects: a wrong or missing field is a reason."""

from __future__ import annotations

from console.jsonvalue import JsonObject, JsonValue


class FrameError(ValueError):
    """A frame the dialect does not allow; the message says why."""


def type_name(value: JsonValue) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(
        type(value), "object"
    )


def require_str(obj: JsonObject, key: str) -> str:
    if key not in obj:
        raise FrameError(f"field '{key}' is missing")
    value = obj[key]
    if not isinstance(value, str):
        raise FrameError(f"field '{key}' must be a string, got {type_name(value)}")
    return value


def require_obj(obj: JsonObject, key: str) -> JsonObject:
    if key not in obj:
        raise FrameError(f"field '{key}' is missing")
    value = obj[key]
    if not isinstance(value, dict):
        raise FrameError(f"field '{key}' must be an object, got {type_name(value)}")
    return value
