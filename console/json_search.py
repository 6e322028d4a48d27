"""Search of a JSON document: keys and values containing a text, in document order, capped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

from console.diff import Path
from console.json_rows import Address, brief, literal
from console.jsonvalue import JsonValue

Kind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Mark: TypeAlias = Literal["", "added", "removed", "changed"]

SEARCH_LIMIT = 200


# --- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    path: Path
    where: Literal["key", "value"]
    text: str  # the matching key, or the value briefly

    @property
    def address(self) -> Address:
        return Address(self.path)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    complete: bool  # False when the limit cut the search short


def search(document: JsonValue, query: str, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Keys and scalar values containing `query` (case-insensitive; numbers, booleans and null by
    their JSON text), in document order, at most `limit` of them. Walk large documents off the loop."""
    needle = query.strip().casefold()
    if not needle:
        return SearchResult(query, (), True)
    hits: list[Hit] = []
    for path, key, value in _walk_all(document):
        if isinstance(key, str) and needle in key.casefold():
            hits.append(Hit(path, "key", key))
        elif not isinstance(value, dict | list) and needle in _searchable(value).casefold():
            hits.append(Hit(path, "value", brief(value)))
        else:
            continue
        if len(hits) >= limit:
            return SearchResult(query, tuple(hits), False)
    return SearchResult(query, tuple(hits), True)


def _searchable(value: JsonValue) -> str:
    return value if isinstance(value, str) else literal(value)


def _walk_all(document: JsonValue) -> Iterator[tuple[Path, str | int | None, JsonValue]]:
    """Every node below the root in document order, without recursion (no depth limit)."""
    stack: list[tuple[Path, str | int | None, JsonValue]] = [((), None, document)]
    while stack:
        path, key, value = stack.pop()
        if path:
            yield path, key, value
        if isinstance(value, dict):
            stack.extend(((*path, k), k, v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), i, value[i]) for i in range(len(value) - 1, -1, -1))
