"""A diffed snapshot step as a view asks for it: an outline at once, then levels, jumps, values and
search hits one request at a time.

The inspector never walks a `json_tree.Step` itself: it holds a `StepView`. A small step is diffed
on the event loop and answered there (`LocalStep`, each answer immediate); a large one lives in the
worker process (`console.offload_steps.RemoteStep`), where the diff, the levels and the search run
without holding the loop: only the rows asked for cross back, a few kilobytes per request. Both
answer the same awaitable requests, so the view does not know which it has.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from console import json_search
from console.json_rows import Address, Level, Row
from console.json_search import SearchResult
from console.json_tree import ChangeSummary, Step

SUMMARIES_SHOWN = 200  # changes listed with the outline; the others are asked for one by one


@dataclass(frozen=True, slots=True)
class StepOutline:
    """What a view shows of a step before any level: the diff's counts and first changes."""

    has_previous: bool
    added: int
    removed: int
    changed: int
    changes: int  # how many, in all
    summaries: tuple[ChangeSummary, ...]  # the first SUMMARIES_SHOWN
    scalar: Row | None  # the document's only row, when it is no container (else None)

    @classmethod
    def of(cls, step: Step) -> StepOutline:
        counts = step.counts()
        scalar = None if isinstance(step.new, dict | list) else step.root_row()
        return cls(
            step.has_previous,
            counts["added"],
            counts["removed"],
            counts["changed"],
            len(step.changes),
            tuple(step.summaries(SUMMARIES_SHOWN)),
            scalar,
        )


class StepView(ABC):
    """One step as a view asks for it; every answer may take a round trip."""

    def __init__(self, outline: StepOutline) -> None:
        self.outline = outline

    @abstractmethod
    async def initial_levels(self, opened: Iterable[Address] = ()) -> list[Level]:
        """The levels a view opens with (`Step.initial_levels`)."""

    @abstractmethod
    async def level(self, address: Address, start: int, count: int) -> Level | None:
        """Rows `start` .. `start + count` below `address` (`Step.level`)."""

    @abstractmethod
    async def reveal(self, address: Address) -> list[Level]:
        """The levels down to `address` (`Step.reveal`)."""

    @abstractmethod
    async def text_of(self, address: Address) -> str | None:
        """The value at `address` as text (`Step.text_of`)."""

    @abstractmethod
    async def summary(self, n: int) -> ChangeSummary | None:
        """Change `n` of the step as the list of changes shows it, None past the last."""

    @abstractmethod
    async def search(self, query: str) -> SearchResult:
        """Keys and values of the new document containing `query` (`json_search.search`)."""


class LocalStep(StepView):
    """A step held in this process. `large`: it came from a thread (no worker process could run),
    and its search goes to a thread as well."""

    def __init__(self, step: Step, large: bool = False) -> None:
        super().__init__(StepOutline.of(step))
        self.step = step
        self.large = large

    async def initial_levels(self, opened: Iterable[Address] = ()) -> list[Level]:
        return self.step.initial_levels(opened)

    async def level(self, address: Address, start: int, count: int) -> Level | None:
        return self.step.level(address, start, count)

    async def reveal(self, address: Address) -> list[Level]:
        return self.step.reveal(address)

    async def text_of(self, address: Address) -> str | None:
        return self.step.text_of(address)

    async def summary(self, n: int) -> ChangeSummary | None:
        return summary_at(self.step, n)

    async def search(self, query: str) -> SearchResult:
        if self.large:
            return await asyncio.to_thread(json_search.search, self.step.new, query)
        return json_search.search(self.step.new, query)


def summary_at(step: Step, n: int) -> ChangeSummary | None:
    return step.summarize(step.changes[n]) if 0 <= n < len(step.changes) else None
