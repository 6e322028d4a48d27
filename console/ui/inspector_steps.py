"""Diffed snapshot steps, computed once per conversation and shared by every tab that shows them.

A step (`json_tree.Step`) is snapshot `index` of a context seen against snapshot `index - 1`. Its diff
is pure Python: about 9 ms for a 600 KB pair and 40-50 ms for a 5 MB pair on this kind of machine, too
long to run on the event loop that also streams the chat. Above `LARGE` bytes the step is diffed and
kept in the worker process (`console.offload_steps.RemoteStep`), and the views ask it for rows; below,
it is diffed on the loop (`step_view.LocalStep`). Without a worker process a large step falls back to
a thread (which the interpreter lock makes a poorer shield). Results are cached per (context_id, index),
checked against the very entries they were computed from (a reset that refills the history
invalidates them), and a computation in flight is shared by every tab that asks for it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from console import offload
from console.json_tree import Step
from console.offload_steps import RemoteStep
from console.session import ContextEntry, Conversation
from console.step_view import LocalStep, StepView

log = logging.getLogger(__name__)

LARGE = 128 * 1024  # bytes of the two snapshots above which work leaves the event loop
CACHED_STEPS = 12


@dataclass(frozen=True, slots=True)
class _Cached:
    previous: ContextEntry | None
    entry: ContextEntry
    future: asyncio.Future[StepView]


class StepCache:
    def __init__(self, size: int = CACHED_STEPS) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], _Cached] = OrderedDict()
        self.computed = 0  # steps diffed so far (what sharing saves shows here)

    def get(self, context_id: str, index: int, history: list[ContextEntry]) -> asyncio.Future[StepView]:
        """Step `index` of `history`, from the cache or started now; await it (shielded: a caller that
        gives up does not cancel the work other callers wait for)."""
        entry = history[index]
        previous = history[index - 1] if index > 0 else None
        key = (context_id, index)
        cached = self._items.get(key)
        if cached is not None and cached.entry is entry and cached.previous is previous:
            self._items.move_to_end(key)
            return asyncio.shield(cached.future)
        future = asyncio.ensure_future(self._compute(previous, entry))
        self._items[key] = _Cached(previous, entry, future)
        self._items.move_to_end(key)
        future.add_done_callback(lambda done: self._forget_failure(key, done))
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return asyncio.shield(future)

    async def _compute(self, previous: ContextEntry | None, entry: ContextEntry) -> StepView:
        self.computed += 1
        # Parsing the kept JSON (ContextEntry.data) is part of the work that leaves the loop.
        if entry.size + (previous.size if previous is not None else 0) <= LARGE:
            return LocalStep(_step(previous, entry))
        try:
            return await RemoteStep.open(previous, entry)
        except offload.Unavailable as exc:
            log.warning("no worker process for a large context step (%s): diffing it in a thread", exc)
        return LocalStep(await asyncio.to_thread(_step, previous, entry, True), large=True)

    def _forget_failure(self, key: tuple[str, int], done: asyncio.Future[StepView]) -> None:
        if done.cancelled() or done.exception() is not None:
            cached = self._items.get(key)
            if cached is not None and cached.future is done:
                del self._items[key]

    def clear(self) -> None:
        self._items.clear()


def _step(previous: ContextEntry | None, entry: ContextEntry, prepare: bool = False) -> Step:
    """The step parsed and diffed here; `prepare`: with what its opening view needs (merged arrays,
    old paths) computed too, in the same thread."""
    step = Step.first(entry.data) if previous is None else Step.between(previous.data, entry.data)
    if prepare:
        step.initial_levels()
    return step


_caches: weakref.WeakKeyDictionary[Conversation, StepCache] = weakref.WeakKeyDictionary()


def steps_for(conversation: Conversation) -> StepCache:
    """The cache of a conversation, shared by all its views."""
    cache = _caches.get(conversation)
    if cache is None:
        cache = _caches[conversation] = StepCache()
    return cache


def snapshot_index(history: Sequence[ContextEntry], seq: int | None, at: float | None) -> int:
    """The snapshot a trace row points at: its seq (which restarts with every response, so the
    nearest in time among those with it), else the nearest in time, else the latest."""
    candidates = [i for i, entry in enumerate(history) if seq is None or entry.seq == seq] or list(
        range(len(history))
    )
    if at is None:
        return candidates[-1]
    # A snapshot is applied when it arrives or, held for order, a little after: never before its row.
    return min(candidates, key=lambda i: (history[i].at < at - 0.001, abs(history[i].at - at)))
