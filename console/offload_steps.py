"""Large context steps in the worker process: diffed there, and asked for rows a request at a time.

A 5 MB snapshot pair takes 40-80 ms to parse and diff in pure Python, and a worker *thread* does not
spare the loop that time: parsing and comparing large subtrees run in C without releasing the
interpreter lock (measured: a 16 ms stall of the loop from the thread). So the step is computed in the
worker process (`console.offload`) and stays there: `RemoteStep` holds a key, and each request of the
view (the opening levels, a level's window, a jump, a value, a search) is one call that sends back only
the rows asked for. The session keeps the snapshots once, as bytes (`ContextEntry.encoded`); the worker
gets a copy of those bytes to parse, and the loop never holds a parsed document.

The worker keeps the most recently used steps up to `KEPT_BYTES` of snapshot JSON, and lets go of
one as soon as no view holds it. A step it no longer has (let go, or the worker restarted after a
crash) is opened again from the session's bytes, transparently.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from console import json_search, jsonvalue, offload
from console.json_rows import Address, Level
from console.json_search import SearchResult
from console.json_tree import ChangeSummary, Step
from console.step_view import StepOutline, StepView, summary_at

if TYPE_CHECKING:  # the worker imports this module: it needs no session model
    from console.session_blocks import ContextEntry

T = TypeVar("T")

KEPT_BYTES = 32 * 1024 * 1024  # snapshot JSON whose parsed steps the worker keeps (parsed: ~10x more)

_keys = itertools.count(1)


class StepGone(LookupError):
    """The worker does not hold this step (any more): open it again."""


# --- in the worker ---------------------------------------------------------------------------------

_steps: OrderedDict[int, tuple[Step, int]] = OrderedDict()  # key -> (step, snapshot bytes)


def _open(key: int, old: bytes | None, new: bytes) -> StepOutline:
    """Parse and diff a step, keep it under `key`, and return its outline."""
    step = (
        Step.first(jsonvalue.loads(new))
        if old is None
        else Step.between(jsonvalue.loads(old), jsonvalue.loads(new))
    )
    _steps[key] = (step, len(new) + len(old or b""))
    _steps.move_to_end(key)
    held = sum(size for _, size in _steps.values())
    while held > KEPT_BYTES and len(_steps) > 1:
        _, (_, size) = _steps.popitem(last=False)
        held -= size
    return StepOutline.of(step)


def _step(key: int) -> Step:
    kept = _steps.get(key)
    if kept is None:
        raise StepGone(key)
    _steps.move_to_end(key)
    return kept[0]


def _forget(key: int) -> None:
    _steps.pop(key, None)


def _initial_levels(key: int, opened: tuple[Address, ...]) -> list[Level]:
    return _step(key).initial_levels(opened)


def _level(key: int, address: Address, start: int, count: int) -> Level | None:
    return _step(key).level(address, start, count)


def _reveal(key: int, address: Address) -> list[Level]:
    return _step(key).reveal(address)


def _text_of(key: int, address: Address) -> str | None:
    return _step(key).text_of(address)


def _summary(key: int, n: int) -> ChangeSummary | None:
    return summary_at(_step(key), n)


def _search(key: int, query: str) -> SearchResult:
    return json_search.search(_step(key).new, query)


# --- in the console --------------------------------------------------------------------------------


class RemoteStep(StepView):
    """A step held by the worker process; every request is a call there."""

    def __init__(
        self, outline: StepOutline, key: int, previous: ContextEntry | None, entry: ContextEntry
    ) -> None:
        super().__init__(outline)
        self.key = key
        self.previous = previous  # the session's own entries: their bytes reopen the step if need be
        self.entry = entry
        # Nobody shows it any more: the worker lets go of its documents now, not when evicted.
        weakref.finalize(self, offload.submit_quietly, _forget, key)

    @classmethod
    async def open(cls, previous: ContextEntry | None, entry: ContextEntry) -> RemoteStep:
        """Diff `entry` against `previous` in the worker; raises `offload.Unavailable` when it cannot run."""
        key = next(_keys)
        old = previous.encoded if previous is not None else None
        outline = await offload.run(_open, key, old, entry.encoded)
        return cls(outline, key, previous, entry)

    async def _ask(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(key, *args)` in the worker, the step opened again first if the worker lost it (a
        restarted worker, or one that let go of it to make room)."""
        try:
            return await offload.run(fn, self.key, *args)
        except (StepGone, offload.Unavailable):
            # Unavailable: the worker died; the next call starts another (or fails for good).
            old = self.previous.encoded if self.previous is not None else None
            await offload.run(_open, self.key, old, self.entry.encoded)
            return await offload.run(fn, self.key, *args)

    async def initial_levels(self, opened: Iterable[Address] = ()) -> list[Level]:
        return await self._ask(_initial_levels, tuple(opened))

    async def level(self, address: Address, start: int, count: int) -> Level | None:
        return await self._ask(_level, address, start, count)

    async def reveal(self, address: Address) -> list[Level]:
        return await self._ask(_reveal, address)

    async def text_of(self, address: Address) -> str | None:
        return await self._ask(_text_of, address)

    async def summary(self, n: int) -> ChangeSummary | None:
        if 0 <= n < len(self.outline.summaries):
            return self.outline.summaries[n]
        return await self._ask(_summary, n)

    async def search(self, query: str) -> SearchResult:
        return await self._ask(_search, query)
