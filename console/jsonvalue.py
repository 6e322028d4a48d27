"""JSON values as the rest of the console sees them.

This is the one module where `Any` is allowed: orjson hands back untyped objects, and this is where
they become `JsonValue`. Everything past this module is typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias, cast

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


# Nesting deeper than this is refused by every decoder before anything recursive sees it. orjson reads
# 1,024 levels but writes only 254, and the diff, the inspector's tree and the component views recurse
# on the value: a limit well under both keeps each of them safe, and real agent data is a few levels deep.
MAX_DEPTH = 128


def nesting_exceeds(text: str | bytes, value: JsonValue, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` (parsed from `text`) nests containers deeper than `limit` levels.

    Counting brackets in the text settles almost every frame in C (a frame with fewer brackets than
    the limit cannot nest deeper); only the others are walked, without recursion, containers only.
    """
    if isinstance(text, str):
        brackets = text.count("{") + text.count("[")
    else:
        brackets = text.count(b"{") + text.count(b"[")
    if brackets <= limit:
        return False
    level: list[JsonValue] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        # One level at a time, in a comprehension: a third of the time of a stack of (node, depth).
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
            if isinstance(child, dict | list)
        ]
    return False


def loads_checked(text: str | bytes, max_depth: int = MAX_DEPTH) -> JsonValue:
    """Parse JSON text nested at most `max_depth` levels; raises JsonDecodeError otherwise too."""
    value = loads(text)
    if nesting_exceeds(text, value, max_depth):
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise JsonDecodeError(f"JSON nested deeper than {max_depth} levels", doc[:100], 0)
    return value


def dumps(value: JsonValue, *, indent: bool = False, sort_keys: bool = False) -> str:
    option = (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(value, option=option).decode()


def dumps_bytes(value: JsonValue) -> bytes:
    return orjson.dumps(value)


def dumps_kept(value: JsonValue) -> bytes:
    """`dumps_bytes` for bytes held for long (a snapshot in a session's history): exactly their size.

    orjson returns its output buffer as it stands, sized for what it guessed it would write: a 1 MB
    snapshot holds a 2 MB allocation, a 13 KB one 256 KB. Short-lived bytes do not care; a window of
    them kept for hours would hold twice its size and more. Copied once to their length, they cost a
    memory copy (some 50 us a megabyte) and hold no more than they say."""
    return bytes(memoryview(orjson.dumps(value)))


def encoded(raw: bytes) -> JsonValue:
    """JSON text already encoded, as a value: orjson writes it as it is wherever the value is written
    (`dumps_bytes` returns these very bytes), and nothing here parses it. A context snapshot decoded
    in a worker process travels as one; only code that stores or writes the value may receive it."""
    return cast(JsonValue, orjson.Fragment(raw))
