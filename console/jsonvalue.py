"""JSON values as the rest of the console sees them.

This is the one module where `Any` is allowed: orjson hands back untyped objects, and this is where
they become `JsonValue`. Everything past this module is typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import orjson

JsonScalar: TypeAlias = bool | int | float | str | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]


# orjson's own error (a ValueError) and parser, bound with a JSON type: every frame of every dialect is
# parsed here, and a wrapper function would add two Python calls to each. orjson only produces JSON
# types, so the annotation is a statement of fact, not a validation walk (which would cost O(size) on
# half-megabyte snapshots for nothing).
JsonDecodeError = orjson.JSONDecodeError
"""The text is not JSON; its message is orjson's reason."""

loads: Callable[[str | bytes], JsonValue] = orjson.loads
"""Parse JSON text; raises JsonDecodeError."""


def dumps(value: JsonValue, *, indent: bool = False, sort_keys: bool = False) -> str:
    option = (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(value, option=option).decode()


def dumps_bytes(value: JsonValue) -> bytes:
    return orjson.dumps(value)
