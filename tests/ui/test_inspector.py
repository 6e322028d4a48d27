"""The context inspector through NiceGUI's simulated user: snapshots arrive, diffs show, history scrubs."""

from __future__ import annotations

import asyncio
import gc
import json
import time

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from console import events as ev
from console import jsonvalue
from console.dialects.agent.client import AgentClient
from console.json_rows import Address
from console.jsonvalue import JsonObject, JsonValue
from console.session import Conversation
from console.sim.agent import AgentSimulator, SimConfig
from console.ui.inspector import ContextInspector
from console.ui.inspector_steps import StepCache
from console.ui.inspector_tree import ContextTree, PathList
from tests.helpers import OPENED, eventually

pytestmark = pytest.mark.usefixtures("close_sessions")

REPORT: JsonObject = {
    "report": "Q3-2025",
    "pages": 47,
    "sections": ["revenue", "ops", "forecast"],
    "access": "internal",
}
REPORT_2: JsonObject = {
    "report": "Q3-2025",
    "pages": 48,
    "sections": ["revenue", "ops", "guidance", "forecast"],
    "focus": {"metric": "revenue_yoy"},
}


async def open_inspector(user: User, client: AgentClient | None = None) -> AgentClient:
    """The panel on a page of its own, over a session fed by hand (or by `client` when given)."""
    client = client or AgentClient("ws://127.0.0.1:9/ws")
    OPENED.append(client)

    @ui.page("/inspector")
    def page() -> None:
        ContextInspector(client)

    await user.open("/inspector")
    return client


def snapshot(
    conversation: Conversation, data: JsonValue, context_id: str = "ctx_report", seq: int = 1
) -> None:
    size = len(jsonvalue.dumps_bytes(data))
    conversation.apply(ev.ContextSnapshot(context_id, data, size), time.monotonic(), seq)


def tree(user: User) -> ContextTree:
    trees = list(user.find(ContextTree).elements)
    assert len(trees) == 1
    tree = trees[0]
    assert isinstance(tree, ContextTree)
    return tree


def view(user: User) -> dict[str, object]:
    text = tree(user).props["view"]
    assert isinstance(text, str) and text
    parsed = json.loads(text)
    assert isinstance(parsed, dict)
    return parsed


def shown_rows(user: User) -> dict[str, dict[str, object]]:
    """Every row of the tree's current view, by path."""
    levels = view(user)["levels"]
    assert isinstance(levels, list)
    return {row["p"]: row for level in levels for row in level["r"]}


def marked(user: User) -> dict[str, str]:
    return {path: str(row["c"]) for path, row in shown_rows(user).items() if "c" in row}


async def shows_marks(user: User, expected: dict[str, str]) -> None:
    """The tree is drawn once its step is ready, just after the scrubber moved: wait for it."""
    await eventually(lambda: tree(user).props["view"] and marked(user) == expected)


def path_list(user: User, testid: str) -> PathList:
    lists = [
        e for e in user.find(PathList).elements if isinstance(e, PathList) and e.props["testid"] == testid
    ]
    assert len(lists) == 1
    return lists[0]


def pick(user: User, testid: str, index: int) -> None:
    """A click on item `index` of a list of paths, as the browser reports it."""
    UserInteraction(user, {path_list(user, testid)}, None).trigger("pick", {"i": index})


def changed_paths(user: User) -> list[str]:
    return [item.path for item in path_list(user, "changed-path").items]


class Sent:
    """What the server sends the tree in the browser, by method (there is no browser here)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []
        original = ContextTree._send

        def record(tree: ContextTree, method: str, payload: JsonObject) -> None:
            self.calls.append((method, json.loads(jsonvalue.dumps(payload))))
            original(tree, method, payload)

        monkeypatch.setattr(ContextTree, "_send", record)

    def __call__(self, method: str) -> list[dict[str, object]]:
        return [payload for name, payload in self.calls if name == method]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    return Sent(monkeypatch)


async def test_the_panel_waits_for_the_first_snapshot_then_shows_its_tree(user: User) -> None:
    client = await open_inspector(user)
    await user.should_see("No context yet")
    snapshot(client.conversation, REPORT)
    await user.should_see("ctx_report · 1 snapshot")
    await user.should_see("Snapshot 1 of 1 · seq 1")
    await user.should_see("First snapshot of this context")
    await user.should_see('report: "Q3-2025"')
    await shows_marks(user, {})
    assert set(shown_rows(user)) == {"$.report", "$.pages", "$.sections", "$.access"}


async def test_the_next_snapshot_is_shown_as_a_diff_with_its_changed_paths(user: User) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, REPORT)
    snapshot(client.conversation, REPORT_2, seq=9)
    await user.should_see("Snapshot 2 of 2 · seq 9")
    await user.should_see("+2 added · −1 removed · ~1 changed")
    await user.should_see("pages: 47 → 48")
    # The tree opens on the array that changed; the removed member stays, struck through, in place.
    assert marked(user) == {
        "$.pages": "changed",
        "$.sections[2]": "added",
        "$.access": "removed",
        "$.focus": "added",
    }
    assert changed_paths(user) == ["$.pages", "$.sections[2]", "$.access", "$.focus"]


async def test_the_scrubber_steps_through_the_history_and_shows_each_diff(user: User) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, REPORT, seq=1)
    snapshot(client.conversation, REPORT_2, seq=5)
    snapshot(client.conversation, {**REPORT_2, "pages": 50}, seq=8)
    await user.should_see("Snapshot 3 of 3 · seq 8")
    await shows_marks(user, {"$.pages": "changed"})

    user.find(marker="history-prev").click()
    await user.should_see("Snapshot 2 of 3 · seq 5")
    await shows_marks(
        user, {"$.pages": "changed", "$.sections[2]": "added", "$.access": "removed", "$.focus": "added"}
    )

    user.find(marker="history-prev").click()
    await user.should_see("Snapshot 1 of 3 · seq 1")
    await shows_marks(user, {})

    slider = user.find(marker="history-slider").elements.pop()
    assert isinstance(slider, ui.slider)
    slider.set_value(3)
    await user.should_see("Snapshot 3 of 3 · seq 8")
    await shows_marks(user, {"$.pages": "changed"})


async def test_scrubbed_back_the_view_stays_put_until_the_user_returns_to_the_latest(user: User) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, REPORT, seq=1)
    snapshot(client.conversation, REPORT_2, seq=2)
    await user.should_see("Snapshot 2 of 2")
    user.find(marker="history-prev").click()
    await user.should_see("Snapshot 1 of 2")
    snapshot(client.conversation, {**REPORT_2, "pages": 60}, seq=3)
    await user.should_see("Snapshot 1 of 3")
    await user.should_see("ctx_report · 3 snapshots")
    user.find(marker="history-latest").click()
    await user.should_see("Snapshot 3 of 3 · seq 3")
    snapshot(client.conversation, {**REPORT_2, "pages": 61}, seq=4)
    await user.should_see("Snapshot 4 of 4 · seq 4")  # following again


async def test_the_selector_lists_every_context_and_switches_between_them(user: User) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, REPORT, "ctx_report")
    snapshot(client.conversation, {"session_type": "general"}, "ctx_session", seq=2)
    await user.should_see('session_type: "general"')  # nothing picked yet: the newest context shows
    select = user.find(marker="context-select").elements.pop()
    assert isinstance(select, ui.select)
    assert select.options == {
        "ctx_report": "ctx_report · 1 snapshot",
        "ctx_session": "ctx_session · 1 snapshot",
    }
    select.set_value("ctx_report")
    await user.should_see('report: "Q3-2025"')
    snapshot(client.conversation, {"session_type": "other"}, "ctx_session", seq=3)

    def counted() -> bool:
        options = select.options  # replaced as snapshots arrive
        return isinstance(options, dict) and options["ctx_session"] == "ctx_session · 2 snapshots"

    await eventually(counted)
    await user.should_see("ctx_report · 1 snapshot")
    assert "$.report" in shown_rows(user)  # the picked context stays on screen


async def test_another_panel_can_point_the_inspector_at_a_snapshot(user: User) -> None:
    client = AgentClient("ws://127.0.0.1:9/ws")
    OPENED.append(client)
    inspectors: list[ContextInspector] = []

    @ui.page("/inspector")
    def page() -> None:
        inspectors.append(ContextInspector(client))

    await user.open("/inspector")
    snapshot(client.conversation, REPORT, seq=4)
    snapshot(client.conversation, REPORT_2, seq=9)
    await user.should_see("Snapshot 2 of 2 · seq 9")
    inspectors[0].show("ctx_report", seq=4)  # e.g. a click on that CONTEXT_SNAPSHOT row of the timeline
    await user.should_see("Snapshot 1 of 2 · seq 4")
    await shows_marks(user, {})


async def test_opening_a_node_sends_that_level_only(user: User, sent: Sent) -> None:
    client = await open_inspector(user)
    data: JsonObject = {
        "tables": [{"name": f"t{i}", "columns": [{"c": j} for j in range(30)]} for i in range(500)]
    }
    snapshot(client.conversation, data)
    # 141 KB: diffed in the worker process, which its first step may have to start.
    await user.should_see("tables: [500 items]", retries=300)
    version = view(user)["v"]
    assert isinstance(version, int)
    assert set(shown_rows(user)) == {"$.tables"}

    user.find(ContextTree).trigger(
        "expand", {"v": version, "a": Address(("tables",)).encode(), "s": 0, "n": 100}
    )
    await eventually(lambda: len(sent("level")) == 1)
    level = sent("level")[0]["level"]
    assert isinstance(level, dict)
    assert (level["s"], level["n"], len(level["r"])) == (0, 500, 100)
    assert all(
        row["t"] == "object" and row["n"] == 2 for row in level["r"]
    )  # children's rows, no grandchildren

    user.find(ContextTree).trigger(
        "expand", {"v": version, "a": Address(("tables",)).encode(), "s": 100, "n": 100}
    )
    await eventually(lambda: len(sent("level")) == 2)
    second = sent("level")[1]["level"]
    assert isinstance(second, dict) and second["r"][0]["k"] == 100
    await user.should_see('name: "t150"')

    user.find(ContextTree).trigger(
        "expand", {"v": version - 1, "a": Address(("tables",)).encode(), "s": 0, "n": 9}
    )
    user.find(ContextTree).trigger("expand", {"v": version, "a": "garbage", "s": 0, "n": 9})
    await asyncio.sleep(0.05)
    assert len(sent("level")) == 2  # requests about an older view, or malformed, get no answer


async def test_a_changed_path_opens_the_tree_down_to_it(user: User, sent: Sent) -> None:
    client = await open_inspector(user)
    old: JsonObject = {"items": [{"id": i, "state": "ok"} for i in range(400)]}
    new: JsonObject = {"items": [{"id": i, "state": "ok" if i != 321 else "failed"} for i in range(400)]}
    snapshot(client.conversation, old)
    snapshot(client.conversation, new, seq=2)
    await user.should_see("~1 changed")
    user.find(marker="change-next").click()
    await eventually(lambda: len(sent("reveal")) == 1)
    target = sent("reveal")[0]["target"]
    assert target == Address(("items", 321, "state")).encode()
    chain = sent("reveal")[0]["levels"]
    assert isinstance(chain, list)
    assert [level["a"] for level in chain] == [
        Address(()).encode(),
        Address(("items",)).encode(),
        Address(("items", 321)).encode(),
    ]
    assert target in [row["a"] for row in chain[-1]["r"]]
    pick(user, "changed-path", 0)  # the list of changed paths jumps the same way
    await eventually(lambda: len(sent("reveal")) == 2)
    assert sent("reveal")[1]["target"] == target


async def test_search_finds_keys_and_values_and_jumps_to_a_hit(user: User, sent: Sent) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, {"owners": [{"name": "Ada"}, {"name": "Grace", "team": "compilers"}]})
    await user.should_see("owners")
    user.find(marker="context-search").type("grace")  # no Enter: hits come as one types
    await user.should_see("1 match")
    await user.should_see("$.owners[1].name")
    pick(user, "search-hit", 0)
    await eventually(lambda: len(sent("reveal")) == 1)
    assert sent("reveal")[0]["target"] == Address(("owners", 1, "name")).encode()


async def test_copy_and_show_all_fetch_the_whole_value_from_the_server(user: User, sent: Sent) -> None:
    client = await open_inspector(user)
    long_text = "x" * 5000
    snapshot(client.conversation, {"doc": long_text, "nested": {"a": [1, 2]}})
    await user.should_see("doc")
    row = shown_rows(user)["$.doc"]
    assert row["x"] == 1 and row["n"] == 5000 and len(str(row["v"])) < 200  # cut, with its length
    version = view(user)["v"]
    user.find(ContextTree).trigger("value", {"v": version, "a": row["a"], "purpose": "full"})
    user.find(ContextTree).trigger(
        "value", {"v": version, "a": Address(("nested",)).encode(), "purpose": "copy"}
    )
    await eventually(lambda: len(sent("value")) == 2)
    values = sent("value")
    assert values[0]["text"] == long_text and values[0]["more"] == 0
    assert json.loads(str(values[1]["text"])) == {"a": [1, 2]}


async def test_a_reset_conversation_empties_the_panel(user: User) -> None:
    client = await open_inspector(user)
    snapshot(client.conversation, REPORT)
    await user.should_see("ctx_report · 1 snapshot")
    client.conversation.reset()
    await user.should_see("No context yet")
    snapshot(client.conversation, {"fresh": True}, "ctx_new")
    await user.should_see("fresh: true")


async def test_a_five_megabyte_snapshot_is_diffed_without_stalling_the_event_loop(user: User) -> None:
    client = await open_inspector(user)
    old: JsonObject = {"documents": [document(i, score=i / 7) for i in range(4500)]}
    # Every document rescored, retitled and tagged, one inserted: 150-200 ms of diff in pure Python.
    new_docs: list[JsonValue] = [
        {**document(i, score=i / 7 + 1), "title": f"doc {i}", "tag": "seen"} for i in range(4500)
    ]
    new_docs.insert(10, document(-1, score=0))
    new: JsonObject = {"documents": new_docs}
    assert len(jsonvalue.dumps_bytes(new)) > 5_000_000

    snapshot(client.conversation, old)
    await user.should_see("Snapshot 1 of 1")
    # The frame as the transport hands it over (its size measured here, not in the window), and a
    # collected heap: the window then holds what the panel does, not a pause of the test's own making.
    arrival = ev.ContextSnapshot("ctx_report", new, len(jsonvalue.dumps_bytes(new)))
    gc.collect()
    busy: list[float] = []  # CPU time the loop's thread spent between two ticks
    stop = asyncio.Event()

    async def ticker() -> None:
        # CPU time, not wall time: on a loaded machine the whole process may wait for a core, which
        # is no fault of the panel; work done on the loop's own thread is.
        last = time.thread_time()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = time.thread_time()
            busy.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    client.conversation.apply(arrival, time.monotonic(), 2)
    await user.should_see("+4501 added · −0 removed · ~9000 changed", retries=300)
    stop.set()
    await ticking
    # The panel gets the root and a window of the array placed on its first change: kilobytes, not 5 MB.
    await eventually(lambda: marked(user).get("$.documents[10]") == "added")
    assert len(str(tree(user).props["view"])) < 100_000
    assert changed_paths(user)[:3] == ["$.documents[0].title", "$.documents[0].score", "$.documents[0].tag"]
    # The diff ran beside the loop, which kept ticking (on the loop it would hold it for 150 ms+).
    assert max(busy) < 0.05, f"the event loop was held for {max(busy) * 1000:.0f} ms"


def document(n: int, score: float) -> JsonObject:
    return {"id": n, "title": f"document {n}", "body": "lorem ipsum dolor sit amet " * 40, "score": score}


async def test_tabs_showing_the_same_step_share_one_diff() -> None:
    cache = StepCache()
    conversation = Conversation()
    snapshot(conversation, REPORT)
    snapshot(conversation, REPORT_2, seq=2)
    history = conversation.contexts["ctx_report"]
    first, second = await asyncio.gather(
        cache.get("ctx_report", 1, history), cache.get("ctx_report", 1, history)
    )
    assert first is second and cache.computed == 1
    conversation.reset()
    snapshot(conversation, REPORT)
    snapshot(conversation, REPORT, seq=2)
    again = await cache.get("ctx_report", 1, conversation.contexts["ctx_report"])
    assert again is not first and not again.outline.changes  # a refilled history is diffed afresh


async def test_the_panel_follows_a_live_agent_session(user: User) -> None:
    sim = AgentSimulator(SimConfig(seed=4, time_scale=0.05, ping_interval=0.5))
    await sim.start()
    try:
        client = AgentClient(f"{sim.url}?session=inspector")
        client.start()
        await open_inspector(user, client)
        await eventually(lambda: client.connected_once)
        client.send_user_message("show the database schema")
        await user.should_see("ctx_schema · 2 snapshots", retries=500)
        await user.should_see("Snapshot 2 of 2", retries=300)
        await eventually(lambda: bool(changed_paths(user)))
        assert "$.total_tables" in changed_paths(user)
        await eventually(lambda: marked(user).get("$.total_tables") == "changed")
    finally:
        await sim.stop()
