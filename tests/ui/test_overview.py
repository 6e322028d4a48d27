"""The operations view through NiceGUI's simulated user, against the real simulator over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nicegui import ui
from nicegui.element import Element
from nicegui.testing import User

from console.autopilot import Autopilot, AutopilotConfig, client_of
from console.clients import Target
from console.jsonvalue import JsonValue
from console.monitor import reply_tail
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import RestartPolicy, Supervisor
from console.ui import overview, overview_remove, page
from console.ui.overview import Grid
from console.ui.overview_card import TAIL_SHOWN
from console.ui.overview_summary import SummaryBar
from tests.helpers import OPENED, eventually, free_port, running

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=4, time_scale=0.1, ping_interval=0.5))) as simulator:
        yield simulator


def dead_url() -> str:
    """A loopback port with nobody listening: connecting fails at once, again and again."""
    return f"ws://127.0.0.1:{free_port()}/ws"


def cards(user: User) -> dict[str, Element]:
    return {
        str(e.props["data-session-id"]): e
        for e in user.current_layout.descendants()
        if e.props.get("data-testid") == "session-card"
    }


def shown(user: User) -> list[str]:
    """The sessions whose cards the filter and search let through."""
    return sorted(sid for sid, card in cards(user).items() if card.props.get("data-hidden") != "true")


def summary(user: User) -> str:
    """The summary bar as the browser draws it: total, the count of every state, the totals."""
    bar = user.find(marker="overview-summary").elements.pop()
    assert isinstance(bar, SummaryBar)
    counts = bar.shown.get("counts")
    assert isinstance(counts, list)
    chips = [str(chip[2]) for chip in counts if isinstance(chip, list)]
    return " · ".join([str(bar.shown["total"]), *chips, str(bar.shown["totals"])])


def empty_notice(user: User) -> bool:
    return str(user.find(marker="overview-empty").elements.pop().props["data-shown"]) == "true"


async def open_overview(user: User, sim: AgentSimulator) -> Supervisor:
    """Three live sessions and one whose upstream is down, on the overview page."""
    sup = Supervisor(policy=RestartPolicy(initial=0.2), sample_interval=0.2, close_timeout=0.5)
    OPENED.append(sup)
    for name in ("alpha", "beta", "gamma"):
        sup.add(Target("agent", f"{sim.url}?session={name}"), name=name)
    sup.add(Target("agent", dead_url()), name="down")
    page.register(sup)
    await user.open("/")
    await eventually(lambda: all(sup.sessions[s].client.connected_once for s in ("alpha", "beta", "gamma")))
    return sup


async def test_every_session_has_a_card_showing_its_state(user: User, sim: AgentSimulator) -> None:
    sup = await open_overview(user, sim)
    for name in ("alpha", "beta", "gamma", "down"):
        await user.should_see(name)
    await eventually(
        lambda: cards(user)["down"].props["data-state"] == "connecting" and sup_attempts(sup) > 0
    )
    await eventually(
        lambda: all(cards(user)[s].props["data-state"] == "open" for s in ("alpha", "beta", "gamma"))
    )
    assert sorted(cards(user)) == ["alpha", "beta", "down", "gamma"]
    for sid, card in cards(user).items():
        health = sup.health(sid)
        assert health is not None and card.props["data-state"] == health.state
    await eventually(
        lambda: all(f in summary(user) for f in ("4 sessions", "3 idle", "1 connecting", "0 crashed"))
    )

    # A reply streaming in one session shows on its card as it happens.
    sup.sessions["beta"].client.send_user_message("write a long detailed document")
    await eventually(lambda: cards(user)["beta"].props["data-state"] == "streaming")
    await eventually(lambda: "1 streaming" in summary(user) and "2 idle" in summary(user))


def sup_attempts(sup: Supervisor) -> int:
    health = sup.health("down")
    return 0 if health is None else health.attempt


def record_batches(monkeypatch: pytest.MonkeyPatch) -> list[list[list[JsonValue]]]:
    """What the grid sends the browser, refresh by refresh."""
    sent: list[list[list[JsonValue]]] = []
    original = Grid.apply

    def record(self: Grid, batch: list[list[JsonValue]], page: dict[str, JsonValue]) -> None:
        sent.append(batch)
        original(self, batch, page)

    monkeypatch.setattr(Grid, "apply", record)
    return sent


def last_orders(user: User, sent: list[list[list[JsonValue]]]) -> list[str]:
    """Session ids in the order the browser places their cards."""
    ids = {card.id: sid for sid, card in cards(user).items()}
    order: dict[str, int] = {}
    for batch in sent:
        for card_id, patch in batch:
            if isinstance(card_id, int) and isinstance(patch, dict) and isinstance(patch.get("o"), int):
                order[ids[card_id]] = int(str(patch["o"]))
    return sorted(order, key=order.__getitem__)


async def test_filters_search_and_sort_arrange_the_grid(
    user: User, sim: AgentSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_batches(monkeypatch)
    sup = await open_overview(user, sim)
    await eventually(lambda: sup_attempts(sup) > 0)
    assert shown(user) == ["alpha", "beta", "down", "gamma"]
    toggle = user.find(marker="overview-filter").elements.pop()
    assert isinstance(toggle, ui.toggle)

    toggle.set_value("failing")  # cannot connect: needs a look
    await eventually(lambda: shown(user) == ["down"])
    toggle.set_value("idle")
    await eventually(lambda: shown(user) == ["alpha", "beta", "gamma"])
    toggle.set_value("reconnecting")
    await eventually(lambda: shown(user) == ["down"])  # connecting, attempt n: it keeps retrying
    toggle.set_value("active")
    await eventually(lambda: shown(user) == [])
    assert empty_notice(user)

    toggle.set_value("all")
    search = user.find(marker="overview-search").elements.pop()
    assert isinstance(search, ui.input)
    search.set_value("ALP")
    await eventually(lambda: shown(user) == ["alpha"])
    search.set_value("")
    await eventually(lambda: len(shown(user)) == 4)
    assert not empty_notice(user)

    assert last_orders(user, sent) == ["alpha", "beta", "down", "gamma"]
    sort = user.find(marker="overview-sort").elements.pop()
    assert isinstance(sort, ui.select)
    sort.set_value("problems")
    await eventually(lambda: last_orders(user, sent)[0] == "down")


async def test_sessions_are_added_and_removed_from_the_overview(
    user: User, sim: AgentSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = await open_overview(user, sim)
    user.find(marker="add-session").click()
    user.find(marker="add-url").type("localhost:4747")
    user.find(marker="add-submit").click()
    await user.should_see("The URL must start with ws:// or wss:// for the agent dialect")
    url = user.find(marker="add-url").elements.pop()
    assert isinstance(url, ui.input)
    url.set_value(f"{sim.url}?session=delta")
    user.find(marker="add-name").type("delta")
    user.find(marker="add-submit").click()
    await eventually(lambda: "delta" in cards(user))
    await eventually(lambda: cards(user)["delta"].props["data-state"] == "open")
    assert sup.sessions["delta"].target == Target("agent", f"{sim.url}?session=delta")

    # Removing asks for nothing but can be undone for a few seconds: the session stays meanwhile.
    monkeypatch.setattr(overview_remove, "UNDO_SECONDS", 0.5)
    user.find(marker="remove-delta").click()
    await user.should_see("delta removed")
    user.find(marker="undo-delta").click()
    await asyncio.sleep(0.8)
    assert "delta" in sup.ids and "delta" in cards(user)

    user.find(marker="remove-down").click()
    assert "down" in sup.ids  # not at once
    await eventually(lambda: "down" not in cards(user))
    assert "down" not in sup.sessions and "down" not in sup.ids
    await eventually(lambda: "4 sessions" in summary(user) and "0 connecting" in summary(user))


async def test_autopilots_are_paused_and_resumed_from_the_overview(user: User, sim: AgentSimulator) -> None:
    sup = await open_overview(user, sim)
    pilots: list[Autopilot] = []
    for sid in ("alpha", "beta"):
        pilot = Autopilot(client_of(sup, sid), seed=sid, config=AutopilotConfig((0.05, 0.1), (0, 0), 0.02))
        sup.attach(sid, pilot)
        pilot.start()
        pilots.append(pilot)
    await user.open("/")  # cards with an autopilot get its button
    await eventually(lambda: all(p.sent >= 1 for p in pilots))
    user.find(marker="pilot-alpha").click()
    assert pilots[0].paused and not pilots[1].paused
    user.find(marker="pause-all").click()
    assert all(p.paused for p in pilots)
    await user.should_see("Resume autopilots")
    user.find(marker="pause-all").click()
    assert not any(p.paused for p in pilots)
    await user.should_see("Pause autopilots")
    await eventually(lambda: sup.sessions["alpha"].client.conversation.messages[-1].status == "done", 20)


async def test_a_card_is_sent_the_end_of_the_reply_it_can_show(
    user: User, sim: AgentSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_batches(monkeypatch)
    sup = await open_overview(user, sim)
    card_id = cards(user)["beta"].id
    conversation = sup.sessions["beta"].client.conversation
    before = len(conversation.messages)

    def tails() -> list[str]:
        shown: list[str] = []
        for batch in sent:
            for element_id, patch in batch:
                if (
                    element_id == card_id
                    and isinstance(patch, dict)
                    and isinstance(tail := patch.get("t"), str)
                ):
                    shown.append(tail)
        return shown

    sup.sessions["beta"].client.send_user_message("write a long detailed document")
    await eventually(
        lambda: len(conversation.messages) > before + 1 and conversation.messages[-1].status != "streaming",
        30,
    )
    final = reply_tail(conversation)
    assert len(final) > TAIL_SHOWN
    # The card's three lines, not the whole tail the monitor keeps: the browser shapes all it is sent.
    await eventually(lambda: bool(tails()) and tails()[-1] == final[-TAIL_SHOWN:])
    assert all(len(tail) <= TAIL_SHOWN for tail in tails())


async def test_a_refresh_sends_only_the_cards_that_changed(
    user: User, sim: AgentSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_batches(monkeypatch)
    monkeypatch.setattr(overview, "REFRESH", 0.1)
    updated: list[Element] = []
    original_update = Element.update

    def count_update(self: Element) -> None:
        updated.append(self)
        original_update(self)

    monkeypatch.setattr(Element, "update", count_update)
    sup = await open_overview(user, sim)
    await eventually(lambda: sup_attempts(sup) > 1)
    ids = {int(card.id): sid for sid, card in cards(user).items()}
    sup.sessions["gamma"].client.send_user_message("write a long detailed document")
    await eventually(lambda: len(sup.sessions["gamma"].client.conversation.messages) == 2)
    sent.clear()
    updated.clear()
    await asyncio.sleep(0.6)
    tails = [
        ids[int(str(card_id))]
        for batch in sent
        for card_id, patch in batch
        if isinstance(patch, dict) and "t" in patch
    ]
    assert tails and set(tails) == {"gamma"}  # the streaming card, and no other, got text
    assert all(len(batch) <= 4 for batch in sent)  # one message per refresh for all cards
    # No element updates: each would make the browser re-render the page's whole element tree.
    assert updated == []
