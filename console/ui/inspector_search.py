"""The inspector's search over the keys and values of the snapshot on screen.

As the timeline's search, hits follow the typing (after a pause of `SEARCH_PAUSE`) and Enter searches at
once. The search runs where the step lives (`StepView.search`: on the loop for a small step, in the
worker process for a large one); a hit is a path the tree opens down to when clicked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, ui

from console.json_rows import Address, format_path
from console.json_search import SearchResult
from console.step_view import StepView
from console.ui.inspector_tree import PathItem, PathList
from console.ui.testid import testid

HITS_SHOWN = 200
SEARCH_PAUSE = 0.15  # seconds of no typing before the context is searched


class ContextSearch:
    def __init__(
        self,
        step: Callable[[], StepView | None],
        reveal: Callable[[Address], Awaitable[None]],
        gone: Callable[[], bool],
    ) -> None:
        self._step, self._reveal, self._gone = step, reveal, gone
        self.query = ""
        self._hits: list[Address] = []
        with ui.element("div").classes("ac-insp-row"):
            self.input = testid(ui.input(placeholder="Search keys and values…"), "context-search")
            self.input.props("dense outlined clearable").classes("grow min-w-0")
            self.input.on_value_change(lambda: self._on_search(SEARCH_PAUSE))
            self.input.on("keydown.enter", lambda: self._on_search())
            self.count = testid(ui.label().classes("ac-insp-muted"), "search-count")
        self.hits = testid(PathList("search-hit", self._jump_to_hit), "search-hits")
        self.more = ui.label().classes("ac-insp-muted")

    def refresh(self) -> None:
        """Search the step now on screen for the query typed, if any."""
        if self.query:
            background_tasks.create(self._search(self.query), name="context search")

    def _on_search(self, pause: float = 0.0) -> None:
        value = self.input.value
        self.query = value.strip() if isinstance(value, str) else ""
        background_tasks.create(self._search(self.query, pause), name="context search")

    async def _search(self, query: str, pause: float = 0.0) -> None:
        if pause:
            await asyncio.sleep(pause)
            if self.query != query:
                return  # typed on: the newer search runs
        step = self._step()
        if step is None or not query:
            self._draw(None)
            return
        result = await step.search(query)
        if self._step() is step and self.query == query and not self._gone():
            self._draw(result)

    def _draw(self, result: SearchResult | None) -> None:
        hits = result.hits if result is not None else ()
        self._hits = [hit.address for hit in hits]
        self.hits.set_items(
            [
                PathItem(format_path(hit.path), hit.text if hit.where == "value" else "")
                for hit in hits[:HITS_SHOWN]
            ]
        )
        n = len(hits)
        more = n - HITS_SHOWN
        self.more.set_text(f"… {more:,} more; refine the search" if more > 0 else "")
        if result is None:
            self.count.set_text("")
        else:
            self.count.set_text(f"{n}{'' if result.complete else '+'} match{'' if n == 1 else 'es'}")

    async def _jump_to_hit(self, n: int) -> None:
        if 0 <= n < len(self._hits):
            await self._reveal(self._hits[n])
