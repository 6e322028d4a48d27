"""JSON values as the rest of the console sees them.

This is the one module where `Any` is allowed: orjson hands back untyped objects, and this is where
they become `JsonValue`. Everything past this module is typed.
"""

from __future__ import annotations

from typing import Any, TypeAlias, cast

import orjson

JsonScalar: TypeAlias = bool | int | float | str | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]


class JsonDecodeError(ValueError):
    """The text is not JSON."""


def loads(text: str | bytes) -> JsonValue:
    """Parse JSON text; raises JsonDecodeError with orjson's reason."""
    try:
        value: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise JsonDecodeError(str(exc)) from None
    return _typed(value)


def _typed(value: Any) -> JsonValue:
    # orjson only produces JSON types, so this is a cast, not a validation walk (which would cost
    # O(size) on half-megabyte snapshots for nothing).
    return cast(JsonValue, value)


def dumps(value: JsonValue, *, indent: bool = False, sort_keys: bool = False) -> str:
    option = (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(value, option=option).decode()


def dumps_bytes(value: JsonValue) -> bytes:
    return orjson.dumps(value)
