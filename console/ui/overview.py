"""The operations view: every session as a fixed-size card, refreshed a few times a second.

Work per refresh is proportional to what changed: a card is looked at only when its session's version
moved (a change it shows) or a sampling round made new rates, and only the fields that differ from what
this tab last sent go out, for all cards in one `apply` message. Membership, visibility (filter, search)
and the card frames are NiceGUI elements; what streams is written as text in the browser by each card
and the summary bar (overview_card.js, overview_summary.js), handed their parts by the grid (overview.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from nicegui import ui
from nicegui.events import GenericEventArguments

from console.connection import ConnectionState
from console.jsonvalue import JsonValue
from console.metrics import LOOP_LAG
from console.monitor import Health, Summary
from console.security.limits import this_visitor
from console.supervisor import Supervisor
from console.ui import wire
from console.ui.overview_add import AddSessionDialog
from console.ui.overview_card import PAUSE, PLAY, CardView, SessionCard, quietly
from console.ui.overview_model import passes, sort_key
from console.ui.overview_remove import Removals
from console.ui.overview_summary import SummaryBar
from console.ui.testid import testid

S = ConnectionState
REFRESH: Final = 0.25  # seconds: the grid's refresh rate (4 Hz)

FILTERS: Final = {
    "all": "All",
    "active": "Active",
    "idle": "Idle",
    "reconnecting": "Reconnecting",
    "failing": "Failing",
}
SORTS: Final = {
    "name": "Name",
    "problems": "Problems first",
    "busiest": "Busiest",
    "errors": "Most errors",
}


class Grid(ui.element, component="overview.js"):
    """The cards' container, and the one channel of everything that changes while sessions stream.

    Any NiceGUI element update makes the browser re-render the page's whole element tree (measured
    here: 50-200 ms with a hundred cards), so in steady state the overview sends none: card fields,
    visibility, order, the summary and the empty notice all go through `apply`, one call per refresh.
    """

    def __init__(self, summary: SummaryBar, empty: ui.element) -> None:
        super().__init__()
        self._props["summary"] = summary.id
        self._props["empty"] = empty.id

    def apply(self, batch: list[list[JsonValue]], page: dict[str, JsonValue]) -> None:
        """`batch`: [card element id, patch] per card that changed; `page`: summary and empty notice."""
        wire.call(self, "apply", list[JsonValue](batch), page)  # straight to the outbox, orjson-encoded


@dataclass(slots=True)
class _Card:
    element: SessionCard
    version: int = -2
    sent: CardView | None = None
    visible: bool = True
    order: int = -1
    health: Health | None = None


@dataclass(slots=True)
class _View:
    filter: str = "all"
    sort: str = "name"
    query: str = ""
    dirty: bool = True  # filter, search or sort changed: every card's place is looked at again


class Overview:
    """One tab's operations view of a supervisor's sessions."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.view = _View()
        self.visitor = this_visitor()  # another visitor's uploaded traces are not listed
        self._cards: dict[str, _Card] = {}
        self._membership = -1
        self._sample = -1
        self._summary: Summary | None = None
        self._empty = False
        with ui.element("div").classes("w-full flex flex-col flex-nowrap grow min-h-0"):
            self.summary = SummaryBar()
            self._toolbar()
            with ui.element("div").classes("ac-ov-scroll"):
                self.empty = testid(ui.label("No session matches.").classes("ac-ov-empty"), "overview-empty")
                self.empty.props["data-shown"] = "false"
                self.grid = Grid(self.summary, self.empty)
        self.add_dialog = AddSessionDialog(supervisor)
        self.removals = Removals(supervisor.remove, self._free_slot)
        self.refresh()
        ui.timer(REFRESH, self.refresh)

    # -- layout --------------------------------------------------------------------------------

    def _toolbar(self) -> None:
        with ui.element("div").classes("ac-ov-bar"):
            filters = ui.toggle(FILTERS, value="all", on_change=lambda e: self._set(filter=str(e.value)))
            testid(filters, "overview-filter").props("dense no-caps unelevated")
            search = ui.input(
                placeholder="Search sessions", on_change=lambda e: self._set(query=str(e.value or ""))
            )
            testid(search, "overview-search").props("dense clearable").classes("w-48")
            sort = ui.select(SORTS, value="name", on_change=lambda e: self._set(sort=str(e.value)))
            testid(sort, "overview-sort").props("dense options-dense").classes("w-40")
            ui.space()
            self.pause_all = ui.button("Pause autopilots", icon="pause", on_click=self._toggle_all)
            testid(self.pause_all, "pause-all").props("flat dense no-caps")
            add = ui.button("Add session", icon="add", on_click=lambda: self.add_dialog.open())
            testid(add, "add-session").props("flat dense no-caps")

    def _set(self, *, filter: str | None = None, query: str | None = None, sort: str | None = None) -> None:
        if filter is not None:
            self.view.filter = filter
        if query is not None:
            self.view.query = query.strip().lower()
        if sort is not None:
            self.view.sort = sort
        self.view.dirty = True
        self.refresh()

    # -- refresh -------------------------------------------------------------------------------

    def refresh(self) -> None:
        sup = self.supervisor
        sup.maybe_sample()
        if sup.membership != self._membership:
            self._reconcile()
        sampled = sup.samples != self._sample
        self._sample = sup.samples
        patches: dict[str, dict[str, JsonValue]] = {}
        states_moved = False
        for sid, card in self._cards.items():
            moved = self._refresh_card(sid, card, patches, sampled)
            states_moved = states_moved or moved
        if self.view.dirty or states_moved or sampled:
            self._place(patches)
        self.view.dirty = False
        batch: list[list[JsonValue]] = [[self._cards[sid].element.id, p] for sid, p in patches.items() if p]
        page = self._page_changes()
        if batch or page:
            self.grid.apply(batch, page)

    def _refresh_card(
        self, sid: str, card: _Card, patches: dict[str, dict[str, JsonValue]], sampled: bool
    ) -> bool:
        """Update one card if its session changed; True if its state or failing flag moved."""
        version = self.supervisor.version(sid)
        if version == card.version and not sampled and not self.view.dirty:
            return False
        health = self.supervisor.health(sid)
        if health is None:
            return False
        card.version, card.health = version, health
        view = CardView.of(health)
        moved = card.sent is None or (card.sent.state, card.sent.failing) != (view.state, view.failing)
        patch = view.patch(card.sent)
        card.sent = view
        card.element.set_state(view.state)
        if card.element.pilot is not None:
            paused = health.driver == "paused"
            if card.element.pilot.text != (PLAY if paused else PAUSE):
                card.element.show_pilot(paused)
        if patch:
            patches[sid] = patch
        return moved

    def _place(self, patches: dict[str, dict[str, JsonValue]]) -> None:
        """Visibility and order of every card (on a sampling round, a state change or a new view)."""
        ranked = sorted(
            ((c, c.health) for c in self._cards.values() if c.health is not None),
            key=lambda pair: sort_key(pair[1], self.view.sort),
        )
        for order, (card, health) in enumerate(ranked):
            patch = patches.setdefault(card.element.session_id, {})
            visible = passes(health, self.view.filter, self.view.query)
            if visible != card.visible:
                card.visible = visible
                patch["h"] = not visible
                quietly(card.element, "data-hidden", "false" if visible else "true")
            if order != card.order:
                card.order = order
                patch["o"] = order

    def _reconcile(self) -> None:
        """Cards for sessions added since the last refresh; none for those removed."""
        sup = self.supervisor
        self._membership = sup.membership
        ids = [sid for sid in sup.ids if (e := sup.get(sid)) is None or e.visible_to(self.visitor)]
        gone: list[SessionCard] = []
        for sid in [sid for sid in self._cards if sid not in ids]:
            if self.removals.keeps(sid):
                self._cards[sid].health = None  # a slot the pointer is on: counted nowhere, not moved
                continue
            self.removals.forget(sid)
            gone.append(self._cards.pop(sid).element)
        for element in gone:
            element.delete()
        with self.grid:
            for sid in ids:
                if sid in self._cards:
                    continue
                health = sup.health(sid)
                if health is not None:
                    element = SessionCard(health, self._toggle_pilot, self._ask_remove)
                    self._cards[sid] = _Card(element)
        self.view.dirty = True

    def _page_changes(self) -> dict[str, JsonValue]:
        """The summary (when it changed) and the empty notice (when it flipped)."""
        changes: dict[str, JsonValue] = {}
        empty = bool(self._cards) and not any(c.visible for c in self._cards.values())
        if empty != self._empty:
            self._empty = changes["empty"] = empty
            quietly(self.empty, "data-shown", "true" if empty else "false")
        summary = self.supervisor.summary([c.health for c in self._cards.values() if c.health is not None])
        if summary != self._summary:
            self._summary = summary
            view = self.summary.view(summary, LOOP_LAG.quantile(0.99))
            if view != self.summary.shown:
                self.summary.shown = changes["summary"] = view
            self._show_pilots()
        return changes

    def _show_pilots(self) -> None:
        """The pause-all button: an element update, but only when autopilots come, go or flip."""
        drivers = self.supervisor.drivers()
        if self.pause_all.visible != bool(drivers):
            self.pause_all.set_visibility(bool(drivers))
        running = any(not d.paused for d in drivers)
        label = "Pause autopilots" if running else "Resume autopilots"
        if self.pause_all.text != label:
            self.pause_all.set_text(label)
            self.pause_all.props["icon"] = "pause" if running else "play_arrow"

    # -- actions -------------------------------------------------------------------------------

    def _toggle_pilot(self, session_id: str) -> None:
        driver = self.supervisor.driver(session_id)
        if driver is None:
            return
        if driver.paused:
            driver.resume()
        else:
            driver.pause()
        self.supervisor.touch(session_id)
        self.refresh()

    def _toggle_all(self) -> None:
        drivers = self.supervisor.drivers()
        pause = any(not d.paused for d in drivers)
        for sid in self.supervisor.ids:
            driver = self.supervisor.driver(sid)
            if driver is None:
                continue
            if pause:
                driver.pause()
            else:
                driver.resume()
            self.supervisor.touch(sid)
        self._summary = None
        self.refresh()

    def _ask_remove(self, session_id: str, event: GenericEventArguments) -> None:
        card = self._cards.get(session_id)
        if card is not None:
            self.removals.ask(session_id, card.element.name, card.element, event)

    def _free_slot(self, session_id: str) -> None:
        card = self._cards.pop(session_id, None)
        if card is not None:
            card.element.delete()
