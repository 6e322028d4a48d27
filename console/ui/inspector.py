"""The context inspector: what the agent works with, snapshot by snapshot, with the diff of each step.

Layout, top to bottom: the context selector (ids with their snapshot counts), the history scrubber
(previous / slider / next, the snapshot's seq, time and size), the diff summary and the list of changed
paths to jump through, a search over keys and values, and the tree.

The tree (`ContextTree`, drawn by inspector.js) never holds the whole document. The server sends the
levels a step opens with (the root, and the levels that lead to the changes, within a row budget, as
JSON *text* in one prop), then one level per node the user opens (`expand` → `level`), one window of
rows at a time. Jumps (a changed path, a search hit) send the levels along the way (`reveal`).

Steps are diffed once per conversation and shared by the tabs (`inspector_steps`); a large one is
diffed and held in the worker process, and every request of the tree is an awaited call to it
(`step_view.StepView`): an answer about a step or view no longer on screen is dropped. While a step is
computed the controls already show where the user is going; if they move on before it is ready, only
the last request is drawn.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nicegui import background_tasks, ui
from nicegui.events import GenericEventArguments, ValueChangeEventArguments

from console.clients import SessionClient
from console.json_rows import FULL_STRING, Address, Level
from console.json_tree import ChangeSummary
from console.session import Change, ContextAdded, ContextEntry, Conversation, Reset
from console.step_view import SUMMARIES_SHOWN, StepView
from console.ui import inspector_steps
from console.ui.inspector_history import OlderVersions
from console.ui.inspector_search import ContextSearch
from console.ui.inspector_steps import steps_for
from console.ui.inspector_tree import ContextTree, PathItem, PathList, TreeRequest
from console.ui.scope import on_leave
from console.ui.testid import testid
from console.ui.ticker import Ticker

log = logging.getLogger(__name__)

CHANGES_SHOWN = SUMMARIES_SHOWN  # items in the changed-path list; the arrows step through all of them


def _clock(entry: ContextEntry) -> str:
    """Wall-clock time of a snapshot (entries carry monotonic time)."""
    wall = time.time() - (time.monotonic() - entry.at)
    return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


CONTEXTS_SYNC_INTERVAL = 0.25  # seconds


class ContextInspector:
    def __init__(self, client: SessionClient, filling: asyncio.Future[None] | None = None) -> None:
        self.client = client
        self.conversation: Conversation = client.conversation
        # A conversation filled faster than anyone reads (a trace being replayed, until `filling` is
        # done): shown as it is when the page opens and as a new inspector would show it once it is
        # full, not snapshot by snapshot (each would move the scrubber and draw a step).
        self._filling = filling if filling is not None and not filling.done() else None
        self.cache = steps_for(self.conversation)
        self.versions = OlderVersions(self.conversation)  # those that left memory (positions count all)
        self.context_id: str | None = None
        self.index = 0
        self.follow = True  # each new snapshot of the context is shown as it arrives
        self.chosen = False  # the user picked the context: snapshots of others do not take over
        self.step: StepView | None = None
        self.shown: tuple[str, int] | None = None
        self.opened: dict[str, Address] = {}  # what the user opened, kept open while scrubbing
        self.change_at = -1
        self._target: tuple[str, int] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._syncing = False
        self._contexts_stale = False
        self._build()
        # The list of contexts is redrawn a few times a second, not per snapshot: a burst of thousands
        # of new context ids would otherwise rebuild and resend the whole list for each of them.
        self._sync_ticker = Ticker(CONTEXTS_SYNC_INTERVAL, self._sync_if_stale)  # idle until stale
        self._unsubscribe = self.conversation.subscribe(self._on_change, deltas=False)  # snapshots, resets
        on_leave(self._close)
        self._sync_contexts()
        if self._filling is not None:
            self._filling.add_done_callback(self._filled)

    def _filled(self, _: asyncio.Future[None]) -> None:
        self._filling = None
        if not self.root.is_deleted:
            self.versions = OlderVersions(self.conversation)
            self._reset()

    def _close(self) -> None:
        self._unsubscribe()
        if self._worker is not None:
            self._worker.cancel()

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        with testid(ui.element("div").classes("ac-inspector"), "context-panel") as self.root:
            self.empty = ui.label("No context yet: snapshots appear here as the agent sends them.").classes(
                "ac-insp-empty"
            )
            with ui.element("div").classes("ac-insp-body") as self.body:
                self._build_header()
                self._build_scrubber()
                self._build_changes()
                self.search = ContextSearch(lambda: self.step, self.reveal, lambda: self.root.is_deleted)
                self.tree = ContextTree().classes("ac-tree-box")
        self.tree.on("expand", self._on_expand)
        self.tree.on("collapse", self._on_collapse)
        self.tree.on("value", self._on_value)
        self.body.set_visibility(False)

    def _build_header(self) -> None:
        with ui.element("div").classes("ac-insp-row"):
            self.select = testid(ui.select({}, on_change=self._on_select), "context-select")
            self.select.props("dense outlined options-dense").classes("grow min-w-0")
            self.size = testid(ui.label().classes("ac-insp-muted"), "context-size")

    def _build_scrubber(self) -> None:
        with ui.element("div").classes("ac-insp-row"):
            self.prev = testid(
                ui.button(icon="chevron_left", on_click=lambda: self._step_by(-1)), "history-prev"
            )
            self.prev.props("flat dense round aria-label='Previous snapshot'")
            self.slider = testid(
                ui.slider(min=1, max=2, step=1, value=1, on_change=self._on_slide), "history-slider"
            )
            self.slider.props("dense snap markers label").classes("grow min-w-0")
            self.next = testid(
                ui.button(icon="chevron_right", on_click=lambda: self._step_by(1)), "history-next"
            )
            self.next.props("flat dense round aria-label='Next snapshot'")
            self.latest = testid(ui.button("Latest", on_click=self._to_latest), "history-latest")
            self.latest.props("flat dense no-caps size=sm")
        with ui.element("div").classes("ac-insp-row ac-insp-muted"):
            self.busy = ui.spinner(size="1em")
            self.position = testid(ui.label(), "history-step")
        self.older_note = testid(ui.label().classes("ac-insp-muted"), "history-older")

    def _build_changes(self) -> None:
        with ui.element("div").classes("ac-insp-row"):
            self.counts = testid(ui.label().classes("ac-insp-counts"), "diff-counts")
            ui.space()
            up = ui.button(icon="keyboard_arrow_up", on_click=lambda: self._jump_change(-1))
            self.change_prev = testid(up, "change-prev").props(
                "flat dense round size=sm aria-label='Previous change'"
            )
            down = ui.button(icon="keyboard_arrow_down", on_click=lambda: self._jump_change(1))
            self.change_next = testid(down, "change-next").props(
                "flat dense round size=sm aria-label='Next change'"
            )
        self.changes = testid(PathList("changed-path", self._jump_to_change), "changed-paths")
        self.changes_more = ui.label().classes("ac-insp-muted")

    # -- the model's changes --------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if self._filling is not None:
            return
        if isinstance(change, ContextAdded):
            self.versions.added(change.context_id)
            self._on_snapshot(change.context_id, self.versions.older(change.context_id) + change.index)
        elif isinstance(change, Reset):
            self.versions.reset()
            self._reset()

    def _on_snapshot(self, context_id: str, index: int) -> None:
        self._contexts_stale = True
        self._sync_ticker.wake()
        if self.context_id is None or (self.follow and (context_id == self.context_id or not self.chosen)):
            self._go(context_id, index)
        elif context_id == self.context_id:
            self._sync_scrubber()

    def _reset(self) -> None:
        self.context_id, self.index, self.shown, self.step = None, 0, None, None
        self.follow, self.chosen = True, False
        self.opened.clear()
        self._target = None
        self.tree.show([])
        self._sync_contexts()

    def _sync_if_stale(self) -> None:
        if self._contexts_stale:
            self._sync_contexts()

    def _sync_contexts(self) -> None:
        self._contexts_stale = False
        contexts = self.conversation.contexts
        totals = {cid: self.versions.total(cid) for cid in contexts}
        options = {cid: f"{cid} · {n} snapshot{'' if n == 1 else 's'}" for cid, n in totals.items()}
        self._syncing = True
        try:
            self.select.set_options(options, value=self.context_id if self.context_id in options else None)
        finally:
            self._syncing = False
        self.empty.set_visibility(not options)
        self.body.set_visibility(bool(options))
        if self.context_id is None and options:
            cid = next(reversed(contexts))
            self._go(cid, self.versions.total(cid) - 1)

    # -- navigation -----------------------------------------------------------------------------

    @property
    def history(self) -> list[ContextEntry]:
        return self.conversation.contexts.get(self.context_id or "", [])

    def _go(self, context_id: str, index: int) -> None:
        """Show version `index` of `context_id` (counted from its first, in memory or not): controls
        now, the tree when the step is ready."""
        if context_id != self.context_id:
            self.opened.clear()
            self.context_id = context_id
            # A context the select does not list yet is selected by the next sync of the list.
            if context_id in self.select.options:
                self._syncing = True
                try:
                    self.select.set_value(context_id)
                finally:
                    self._syncing = False
        if not self.history:
            return
        total = self.versions.total(context_id)
        self.index = max(0, min(index, total - 1))
        self.follow = self.index == total - 1
        self._sync_scrubber()
        if self.versions.needs_learning(context_id):
            background_tasks.create(self._learn(context_id), name="context versions in the store")
        self._target = (context_id, self.index)
        if self._worker is None or self._worker.done():
            self._worker = background_tasks.create(self._draw_target(), name="context inspector step")

    def show(self, context_id: str, seq: int | None = None, at: float | None = None) -> None:
        """Show the snapshot of `context_id` that came with `seq` at about `at` (the latest without
        either): for panels that point at a snapshot, like a CONTEXT_SNAPSHOT row of the timeline."""
        history = self.conversation.contexts.get(context_id, [])
        if history:
            self.chosen = True
            older = self.versions.older(context_id)
            self._go(context_id, older + inspector_steps.snapshot_index(history, seq, at))

    def _step_by(self, delta: int) -> None:
        if self.context_id is not None:
            self._go(self.context_id, self.index + delta)

    def _to_latest(self) -> None:
        if self.context_id is not None:
            self._go(self.context_id, self.versions.total(self.context_id) - 1)

    def _on_select(self, event: ValueChangeEventArguments[object]) -> None:
        if self._syncing or not isinstance(event.value, str):
            return
        self.chosen = True
        self._go(event.value, self.versions.total(event.value) - 1)

    def _on_slide(self, event: ValueChangeEventArguments[float | None]) -> None:
        if self._syncing or self.context_id is None or event.value is None:
            return
        self._go(self.context_id, int(event.value) - 1)

    async def _learn(self, context_id: str) -> None:
        """How many versions of the context left memory, from the store: the scrubber then spans them."""
        try:
            older = await self.versions.learn(context_id)
        except Exception:
            log.exception("the context's versions could not be read from the store")
            return
        if older and self.context_id == context_id and not self.root.is_deleted:
            self._go(context_id, self.index + self.versions.older(context_id))

    def _sync_scrubber(self) -> None:
        cid = self.context_id or ""
        n = self.versions.total(cid)
        self._sync_older_note(cid)
        self._syncing = True
        try:
            self.slider.props["max"] = max(n, 2)
            self.slider.set_value(self.index + 1)
            self.slider.set_enabled(n > 1)
        finally:
            self._syncing = False
        self.prev.set_enabled(self.index > 0)
        self.next.set_enabled(self.index < n - 1)
        self.latest.set_visibility(self.index < n - 1)
        entry = self.versions.entry(cid, self.index)
        if entry is None:
            self.position.set_text(f"Snapshot {self.index + 1} of {n} · reading it back from the store…")
            return
        seq = f"seq {entry.seq}" if entry.seq is not None else "no seq"
        text = f"Snapshot {self.index + 1} of {n} · {seq} · {_clock(entry)}"
        previous = self.versions.entry(cid, self.index - 1) if self.index > 0 else None
        if previous is not None:
            text += f" · +{entry.at - previous.at:.1f} s"
        if self.index < self.versions.older(cid):
            text += " · read back from the store"
        self.position.set_text(text)
        self.size.set_text(_size(entry.size))

    def _sync_older_note(self, context_id: str) -> None:
        note = self.versions.note(context_id)
        self.older_note.set_text(note)
        self.older_note.set_visibility(bool(note))

    async def _draw_target(self) -> None:
        """Draw the latest target step, however many requests came while one was computed."""
        try:
            while self._target is not None and self._target != self.shown:
                context_id, index = self._target
                history = self.conversation.contexts.get(context_id, [])
                older = self.versions.older(context_id)
                if index >= older + len(history):
                    return
                self.busy.set_visibility(True)
                try:
                    if index < older or (index == older and older):  # it, or the one before it, left memory
                        step = await self.versions.step(context_id, index)
                    else:
                        step = await self.cache.get(context_id, index - older, history)
                except Exception as exc:
                    log.exception("the context step could not be computed")
                    self.counts.set_text(f"Could not compare these snapshots: {exc}")
                    return
                if self.root.is_deleted:
                    return
                if self._target != (context_id, index):
                    continue  # the user moved on meanwhile: the latest target next
                try:
                    levels = await step.initial_levels(self.opened.values())
                except Exception as exc:
                    log.exception("the context step could not be shown")
                    self.counts.set_text(f"Could not show this snapshot: {exc}")
                    return
                if self.root.is_deleted:
                    return
                if self._target == (context_id, index):
                    self._draw(context_id, index, step, levels)
                    if index < older:
                        self._sync_scrubber()  # the version read back: its seq, time and size
        finally:
            if not self.root.is_deleted:
                self.busy.set_visibility(False)

    def _draw(self, context_id: str, index: int, step: StepView, levels: list[Level]) -> None:
        self.step, self.shown, self.change_at = step, (context_id, index), -1
        self._draw_changes(step)
        self.tree.show(levels, step.outline.scalar)
        self.search.refresh()

    def _draw_changes(self, step: StepView) -> None:
        outline = step.outline
        if not outline.has_previous:
            self.counts.set_text("First snapshot of this context")
        elif not outline.changes:
            self.counts.set_text("No changes from the previous snapshot")
        else:
            self.counts.set_text(
                f"+{outline.added} added · −{outline.removed} removed · ~{outline.changed} changed"
            )
        self.change_prev.set_enabled(bool(outline.changes))
        self.change_next.set_enabled(bool(outline.changes))
        self.changes.set_items([_change_item(item) for item in outline.summaries[:CHANGES_SHOWN]])
        hidden = outline.changes - CHANGES_SHOWN
        self.changes_more.set_text(f"… {hidden:,} more (the arrows step through all)" if hidden > 0 else "")

    # -- jumps ----------------------------------------------------------------------------------

    async def _jump_change(self, delta: int) -> None:
        if self.step is None or not self.step.outline.changes:
            return
        await self._jump_to_change((self.change_at + delta) % self.step.outline.changes)

    async def _jump_to_change(self, n: int) -> None:
        step = self.step
        if step is None or not 0 <= n < step.outline.changes:
            return
        self.change_at = n
        summary = await step.summary(n)
        if summary is not None and step is self.step:
            await self.reveal(summary.address)

    async def reveal(self, address: Address) -> None:
        """Open the tree down to `address`, scroll to it and flash it."""
        step, version = self.step, self.tree.version
        if step is None:
            return
        levels = await step.reveal(address)
        if step is not self.step or version != self.tree.version or self.root.is_deleted:
            return  # another step or view came meanwhile
        for level in levels:
            if not level.address.rel and level.address.base:
                self.opened[level.address.encode()] = level.address
        self.tree.send_reveal(levels, address)

    # -- the tree's requests --------------------------------------------------------------------

    def _request(self, event: GenericEventArguments) -> TreeRequest | None:
        request = TreeRequest.parse(event.args)
        if request is None or request.version != self.tree.version or self.step is None:
            return None  # about a step no longer on screen
        return request

    async def _on_expand(self, event: GenericEventArguments) -> None:
        request = self._request(event)
        step = self.step
        if request is None or step is None:
            return
        address = request.address
        if not address.rel and address.base:
            self.opened[address.encode()] = address
        if request.count <= 0:
            return  # reopened with its rows still there: only remembered
        level = await step.level(address, request.start, min(request.count, MAX_ROWS))
        if level is not None and self._current(request):
            self.tree.send_level(level)

    def _current(self, request: TreeRequest) -> bool:
        """Whether the view a request came from is still the one on screen (after awaiting its answer)."""
        return request.version == self.tree.version and not self.root.is_deleted

    def _on_collapse(self, event: GenericEventArguments) -> None:
        request = self._request(event)
        if request is not None:
            self.opened.pop(request.address.encode(), None)

    async def _on_value(self, event: GenericEventArguments) -> None:
        request = self._request(event)
        step = self.step
        if request is None or step is None:
            return
        text = await step.text_of(request.address)
        if text is None or not self._current(request):
            return
        shown = text[:FULL_STRING] if request.purpose == "full" else text
        self.tree.send_value(request.address, request.purpose, shown, len(text) - len(shown))


MAX_ROWS = 1000  # rows one request may ask for


def _change_item(item: ChangeSummary) -> PathItem:
    if item.op == "changed":
        return PathItem(item.path, f"{item.old} → {item.new}", item.op)
    return PathItem(item.path, (item.new if item.op == "added" else item.old) or "", item.op)
