"""The timeline's rows (pure model) and its panel in a page (NiceGUI User fixture).

What the browser renders is tested in tests/e2e/test_timeline_browser.py; here: which rows a session
produces, how they link, what crosses the wire and when, raw frames on demand, export and open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.jsonvalue import JsonObject, JsonValue
from console.session import Conversation, TextBlock
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import Supervisor
from console.trace_io import ReplayClient, export_jsonl, open_trace
from console.ui import page
from console.ui.timeline import TimelinePanel, TimelineView
from console.ui.timeline_model import TimelineModel
from console.ui.timeline_rows import Row
from tests.helpers import eventually, running

pytestmark = pytest.mark.nicegui_main_file("")


def frame(**fields: object) -> str:
    return json.dumps(fields)


def token(seq: int, text: str, sid: str = "s1") -> str:
    return frame(type="TOKEN", seq=seq, text=text, stream_id=sid)


def call(seq: int, call_id: str, sid: str = "s1") -> str:
    return frame(type="TOOL_CALL", seq=seq, call_id=call_id, tool_name="lookup", args={}, stream_id=sid)


def result(seq: int, call_id: str, sid: str = "s1") -> str:
    return frame(type="TOOL_RESULT", seq=seq, call_id=call_id, result={"v": 1}, stream_id=sid)


def engine_with_prompt() -> AgentEngine:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("report please", 0.0)
    return engine


def rows_of(conversation: Conversation, max_rows: int = 1000) -> TimelineModel:
    model = TimelineModel(max_rows=max_rows)
    for entry in conversation.trace:
        model.feed(entry)
    model.take_ops()
    return model


def kinds(model: TimelineModel) -> list[str]:
    return [row.kind for row in model.rows]


def the(model: TimelineModel, kind: str, n: int = 0) -> Row:
    return [row for row in model.rows if row.kind == kind][n]


# -- rows -----------------------------------------------------------------------------------------


def test_tokens_of_a_stream_form_one_row_per_text_run_split_only_by_tool_calls() -> None:
    engine = engine_with_prompt()
    engine.receive(token(1, "Revenue "), 0.10)
    engine.receive(frame(type="PING", seq=2, challenge="c1"), 0.15)  # a heartbeat does not split a run
    engine.receive(token(3, "grew "), 0.20)
    engine.receive(call(4, "tc1"), 0.30)
    engine.receive(result(5, "tc1"), 1.30)
    engine.receive(token(6, "23%"), 1.40)
    engine.receive(token(7, "."), 1.60)
    engine.receive(frame(type="STREAM_END", seq=8, stream_id="s1"), 1.70)
    model = rows_of(engine.conversation)
    assert kinds(model) == [
        "CONNECTED",
        "USER_MESSAGE",
        "TOKEN",
        "PING",
        "PONG",
        "TOOL_CALL",
        "TOOL_ACK",
        "TOOL_RESULT",
        "TOKEN",
        "STREAM_END",
    ]
    first, second = the(model, "TOKEN", 0), the(model, "TOKEN", 1)
    reply = engine.conversation.messages[-1]
    runs = [b.text for b in reply.blocks if isinstance(b, TextBlock)]
    assert [first.text(), second.text()] == runs == ["Revenue grew ", "23%."]
    assert (first.tokens, first.ordinal, second.tokens, second.ordinal) == (2, 0, 2, 1)
    assert second.end - second.at == pytest.approx(0.2)  # "Streamed 2 tokens (200 ms)"
    assert not first.streaming and not second.streaming
    assert the(model, "USER_MESSAGE").ordinal == 0


def test_a_token_row_keeps_growing_with_token_ops_not_new_rows() -> None:
    engine = engine_with_prompt()
    model = TimelineModel()
    seen = 0

    def feed_new() -> list[JsonValue]:
        nonlocal seen
        for entry in engine.conversation.trace[seen:]:
            model.feed(entry)
        seen = len(engine.conversation.trace)
        return model.take_ops()[0]

    feed_new()
    engine.receive(token(1, "Hel"), 0.1)
    added = feed_new()
    assert [op[0] for op in added if isinstance(op, list)] == ["a"]
    engine.receive(token(2, "lo"), 0.2)
    engine.receive(token(3, "!"), 0.3)
    grown = feed_new()
    row_id = the(model, "TOKEN").id
    # The tick's tokens travel as one part (consecutive seqs from 2), with the row's new count.
    assert grown == [["t", row_id, 2, "lo!", 300.0, 3, 6]]
    engine.receive(frame(type="STREAM_END", seq=4, stream_id="s1"), 0.4)
    ended = feed_new()
    assert ["u", row_id, {"o": False}] in ended


def test_a_long_token_row_sends_its_preview_then_counts_and_all_of_its_text_once_expanded() -> None:
    engine = engine_with_prompt()
    model = TimelineModel()
    seen = 0

    def feed_new() -> list[JsonValue]:
        nonlocal seen
        for entry in engine.conversation.trace[seen:]:
            model.feed(entry)
        seen = len(engine.conversation.trace)
        return model.take_ops()[0]

    word = "abcdefghij"  # ten characters a token
    engine.receive(token(1, word), 0.01)
    feed_new()  # the row, with its first token
    for seq in range(2, 31):
        engine.receive(token(seq, word), seq / 100)
    ops = feed_new()
    row = the(model, "TOKEN")
    sent = [op for op in ops if isinstance(op, list) and op[0] == "t"]
    # The chat shows the text: the row's growth carries its preview (160 characters), then counts.
    assert "".join(str(op[3]) for op in sent) == word * 15
    assert sent[-1][5:] == [30, 300]
    wired = model.wire(row)["parts"]
    assert wired == [[1, (word * 16)[:160]], [30, ""]]
    engine.receive(token(31, "klmno"), 0.40)
    assert feed_new()[0] == ["t", row.id, 31, "", 400.0, 31, 305]

    # Expanded: its whole text, then every token's.
    assert model.watch(row) == [1, word * 30 + "klmno", 31]
    engine.receive(token(32, "pq"), 0.41)
    assert feed_new()[0] == ["t", row.id, 32, "pq", 410.0, 32, 307]
    model.unwatch(row.id)
    engine.receive(token(33, "rs"), 0.42)
    assert feed_new()[0] == ["t", row.id, 33, "", 420.0, 33, 309]

    # A row that opens and grows within one tick goes once, as it is then: no token twice.
    for seq, text in enumerate(["one ", "two ", "three"], start=34):
        engine.receive(token(seq, text, sid="s2"), 0.5 + seq / 1000)
    ops = feed_new()
    added = [op[1] for op in ops if isinstance(op, list) and op[0] == "a"]
    assert [a["parts"] for a in added if isinstance(a, dict) and "parts" in a] == [
        [[34, "one two three"], [36, ""]]
    ]
    assert not [op for op in ops if isinstance(op, list) and op[0] == "t"]

    # Search reaches the text the browser does not have.
    assert model.matching("jklmnopq") == [row.id]
    assert model.matching("zzz") == []


def test_a_long_rows_tokens_cost_one_count_per_tick_and_it_goes_before_the_row_stops() -> None:
    engine = engine_with_prompt()
    model = TimelineModel()
    seen = 0

    def feed_new() -> bool:
        """Feed what came; whether the browser now has more to hear than counts."""
        nonlocal seen
        for entry in engine.conversation.trace[seen:]:
            model.feed(entry)
        seen = len(engine.conversation.trace)
        return model.news

    engine.receive(token(1, "x" * 200), 0.01)  # the preview is full with the first token
    assert feed_new()
    model.take_ops()
    quiet = []
    for seq in range(2, 42):
        engine.receive(token(seq, "abcde"), seq / 100)
        quiet.append(feed_new())
    assert not any(quiet)  # only counts: they can wait for the slower counts tick
    row = the(model, "TOKEN")
    assert model.take_ops()[0] == [["t", row.id, 41, "", 410.0, 41, 400]]
    engine.receive(token(42, "fghij"), 0.42)
    engine.receive(frame(type="STREAM_END", seq=43, stream_id="s1"), 0.43)
    assert feed_new()
    # The count says "streaming" in the browser: it goes before the row stops, not after.
    assert model.take_ops()[0][:2] == [["t", row.id, 42, "", 420.0, 42, 405], ["u", row.id, {"o": False}]]


def test_a_dropped_duplicate_is_not_counted_and_shows_what_was_dropped() -> None:
    engine = engine_with_prompt()
    engine.receive(token(1, "Hel"), 0.1)
    engine.receive(token(2, "lo"), 0.2)
    engine.receive(token(2, "lo"), 0.3)  # duplicate
    engine.receive(token(4, "ld"), 0.4)  # held: 3 is missing
    engine.receive(token(3, " wor"), 0.5)
    model = rows_of(engine.conversation)
    assert kinds(model) == ["CONNECTED", "USER_MESSAGE", "TOKEN", "DUPLICATE", "HELD"]
    row = the(model, "TOKEN")
    assert row.tokens == 4
    assert row.text() == engine.conversation.messages[-1].text == "Hello world"  # in seq order
    dup = the(model, "DUPLICATE")
    assert dup.summary == "dropped duplicate seq 2: TOKEN 'lo'"
    assert engine.conversation.trace[dup.source].raw == token(2, "lo")


def test_tool_rows_link_to_their_call_whichever_arrives_first() -> None:
    engine = engine_with_prompt()
    engine.receive(call(1, "tc1"), 0.5)
    engine.receive(result(2, "tc1"), 1.75)
    model = rows_of(engine.conversation)
    tool_call, ack, res = the(model, "TOOL_CALL"), the(model, "TOOL_ACK"), the(model, "TOOL_RESULT")
    assert ack.link == res.link == tool_call.id
    assert tool_call.pair == ack.pair == res.pair == "tc1"
    assert res.note == "+1.25 s" and tool_call.note == "result in 1.25 s"
    assert res.summary == "lookup · tc1"

    # A result ahead of its call (reordered upstream) is linked when the call shows up.
    reordered = TimelineModel()
    conversation = Conversation()
    conversation.record(0.0, "in", "TOOL_RESULT", "tc9", seq=2, stream_id="s", ref="tc9")
    conversation.record(0.2, "in", "TOOL_CALL", "search", seq=1, stream_id="s", ref="tc9")
    for entry in conversation.trace:
        reordered.feed(entry)
    ops, _ = reordered.take_ops()
    late_call, early_result = the(reordered, "TOOL_CALL"), the(reordered, "TOOL_RESULT")
    assert early_result.link == late_call.id
    assert early_result.note == "200 ms before its call"
    assert late_call.note == "result 200 ms earlier"
    assert [
        "u",
        early_result.id,
        {"l": late_call.id, "p": "tc9", "note": early_result.note, "x": "search · tc9"},
    ] in ops


def test_a_pong_shows_its_latency_after_the_ping() -> None:
    conversation = Conversation()
    conversation.record(1.0, "in", "PING", "challenge 'a'", seq=3)
    conversation.record(1.004, "out", "PONG", "echo 'a'")
    model = rows_of(conversation)
    ping, pong = the(model, "PING"), the(model, "PONG")
    assert pong.link == ping.id
    assert pong.note == "+4 ms" and ping.note == "pong in 4 ms"


def test_past_the_row_cap_the_oldest_rows_go_and_are_counted_by_kind() -> None:
    engine = engine_with_prompt()
    seq = 0
    for n in range(6):
        seq += 1
        engine.receive(frame(type="PING", seq=seq, challenge=f"c{n}"), n * 0.1)
    seq += 1
    engine.receive(token(seq, "still "), 1.0)
    model = rows_of(engine.conversation, max_rows=4)
    assert len(model.rows) == 4
    assert model.older == {"CONNECTED": 1, "USER_MESSAGE": 1, "PING": 5, "PONG": 4}
    assert model.first_id == model.rows[0].id
    assert kinds(model) == ["PONG", "PING", "PONG", "TOKEN"]
    # The token row went out of the window while its run goes on: a new row, same text run.
    for n in range(5):
        seq += 1
        engine.receive(frame(type="PING", seq=seq, challenge=f"d{n}"), 1.1 + n * 0.1)
    model = rows_of(engine.conversation, max_rows=4)
    seq += 1
    engine.receive(token(seq, "going"), 2.0)
    model.feed(engine.conversation.trace[-1])
    model.take_ops()
    assert the(model, "TOKEN").ordinal == 0 and the(model, "TOKEN").text() == "going"


# -- the panel in a page ---------------------------------------------------------------------------

PANELS: list[TimelinePanel] = []


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=3, time_scale=0.1, ping_interval=0.5))) as simulator:
        yield simulator


class Wire:
    """What the panel sends to its browser view."""

    def __init__(self, view: TimelineView, monkeypatch: pytest.MonkeyPatch) -> None:
        self.resets: list[JsonObject] = []
        self.pushes: list[JsonObject] = []
        self.raw: list[tuple[int, str]] = []
        monkeypatch.setattr(view, "reset", self.resets.append)
        monkeypatch.setattr(view, "push", self.pushes.append)
        monkeypatch.setattr(view, "show_raw", lambda row_id, text: self.raw.append((row_id, text)))

    def ops(self) -> list[list[JsonValue]]:
        out: list[list[JsonValue]] = []
        for batch in self.pushes:
            ops = batch["ops"]
            assert isinstance(ops, list)
            out.extend(op for op in ops if isinstance(op, list))
        return out


async def open_panel(
    user: User,
    client: AgentClient | ReplayClient,
    max_rows: int = 5_000,
    on_open_trace: Callable[[ReplayClient], None] | None = None,
) -> TimelinePanel:
    PANELS.clear()

    @ui.page("/timeline")
    def timeline_page() -> None:
        PANELS.append(TimelinePanel(client, max_rows=max_rows, on_open_trace=on_open_trace))

    await user.open("/timeline")
    return PANELS[0]


async def live_client(sim: AgentSimulator) -> AgentClient:
    client = AgentClient(f"{sim.url}?session=timeline", AgentEngine(config=EngineConfig(gap_timeout=1.0)))
    client.start()
    await eventually(lambda: client.connected_once)
    return client


async def test_the_view_gets_the_rows_so_far_then_one_batch_per_tick(
    user: User, sim: AgentSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await live_client(sim)
    try:
        panel = await open_panel(user, client)
        wire = Wire(panel.view, monkeypatch)
        user.find(TimelineView).trigger("ready")
        assert len(wire.resets) == 1
        first = wire.resets[0]["rows"]
        assert isinstance(first, list) and first and isinstance(first[0], dict)
        assert first[0]["k"] == "CONNECTED"

        started = asyncio.get_running_loop().time()
        client.send_user_message("summarize the q3 report")
        await eventually(lambda: len(client.conversation.messages) == 2 and client.idle, 20)
        await asyncio.sleep(0.3)
        elapsed = asyncio.get_running_loop().time() - started
        # Batched per tick: far fewer messages than events, never more than one per tick.
        events = len(client.conversation.trace)
        assert len(wire.pushes) <= elapsed / 0.15 + 2
        assert len(wire.pushes) < events / 2
        ops = wire.ops()
        added = [op[1] for op in ops if op[0] == "a"]
        kinds_added = [row["k"] for row in added if isinstance(row, dict)]
        assert {"USER_MESSAGE", "TOKEN", "TOOL_CALL", "TOOL_ACK", "TOOL_RESULT", "STREAM_END"} <= set(
            kinds_added
        )
        # Tokens arrive as growth of their row, and no raw frame crosses the wire unasked.
        tokens = sum(1 for e in client.conversation.trace if e.kind == "TOKEN")
        # Each token row's last count: of its last growth, or of the row as added (with the tokens
        # of its first tick in it).
        counts: dict[int, int] = {}
        for row in added:
            if isinstance(row, dict) and isinstance(row_id := row["i"], int):
                count = row.get("n")
                counts[row_id] = count if isinstance(count, int) else 1
        for op in ops:
            if op[0] == "t" and isinstance(op[1], int) and isinstance(op[5], int):
                counts[op[1]] = op[5]
        token_rows = [row["i"] for row in added if isinstance(row, dict) and row["k"] == "TOKEN"]
        assert sum(counts[i] for i in token_rows if isinstance(i, int)) == tokens
        assert len([op for op in ops if op[0] == "t"]) < tokens - len(token_rows)  # merged per tick
        assert 'raw":"' not in json.dumps(wire.pushes) and '"raw": "' not in json.dumps(wire.pushes)

        # The raw frame of a row comes on demand.
        tool_call = next(row for row in panel.model.rows if row.kind == "TOOL_CALL")
        user.find(TimelineView).trigger("raw", tool_call.id)
        assert len(wire.raw) == 1 and wire.raw[0][0] == tool_call.id
        assert json.loads(wire.raw[0][1])["call_id"] == tool_call.ref
        text_row = next(row for row in panel.model.rows if row.grouped)
        user.find(TimelineView).trigger("raw", text_row.id)
        frames = [json.loads(line) for line in wire.raw[1][1].splitlines()]
        assert "".join(f["text"] for f in frames) == text_row.text()
    finally:
        await client.close()


async def test_export_downloads_the_trace_and_open_replays_it_as_a_session(
    user: User, sim: AgentSimulator
) -> None:
    client = await live_client(sim)
    opened: list[ReplayClient] = []
    try:
        await open_panel(user, client, on_open_trace=opened.append)
        client.send_user_message("summarize the q3 report")
        await eventually(lambda: len(client.conversation.messages) == 2 and client.idle, 20)
        user.find(marker="timeline-export").click()
        response = await user.download.next()
        text = response.text
        header = json.loads(text.splitlines()[0])
        assert header["format"] == "agent-console-trace"

        upload = user.find(ui.upload).elements.pop()
        assert isinstance(upload, ui.upload)
        data = text.encode()
        await upload.handle_uploads([ui.upload.SmallFileUpload("q3.jsonl", "application/x-ndjson", data)])
        await eventually(lambda: bool(opened))
        replay = opened[0]
        assert replay.name == "q3.jsonl"
        assert replay.conversation.transcript() == client.conversation.transcript()

        await upload.handle_uploads([ui.upload.SmallFileUpload("notes.txt", "text/plain", b"hello\n")])
        await user.should_see("Cannot open notes.txt")
        assert len(opened) == 1
    finally:
        await client.close()


async def test_a_replayed_trace_shows_its_recorded_times_and_what_the_session_had_let_go(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = AgentEngine(Conversation(trace_limit=4))
    engine.connected(10.0)
    engine.send_user_message("hi", 10.5)
    for seq, text in enumerate(["a", "b", "c", "d"], start=1):
        engine.receive(token(seq, text), 11.0 + seq / 10)
    assert engine.conversation.trace_dropped == 2
    replay = open_trace(export_jsonl(engine.conversation, wall_offset=1_000_000.0), "cut.jsonl")
    panel = await open_panel(user, replay)
    wire = Wire(panel.view, monkeypatch)
    user.find(TimelineView).trigger("ready")
    state = wire.resets[0]
    assert state["dropped"] == 2
    rows = state["rows"]
    assert isinstance(rows, list)
    first = rows[0]
    assert isinstance(first, dict)
    # The oldest entry kept was received at monotonic 11.1 s, i.e. at wall clock 1_000_011.1 s.
    assert first["w"] == pytest.approx(1_000_011_100.0, abs=1)
    assert state["t0"] == first["w"]


async def test_an_opened_trace_is_a_session_page_with_its_chat_and_timeline(user: User) -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("summarize the q3 report", 0.1)
    engine.receive(token(1, "Revenue grew "), 0.2)
    engine.receive(call(2, "tc1"), 0.3)
    engine.receive(result(3, "tc1"), 0.9)
    engine.receive(token(4, "23%."), 1.0)
    engine.receive(frame(type="STREAM_END", seq=5, stream_id="s1"), 1.1)
    replay = open_trace(export_jsonl(engine.conversation), "q3.jsonl")
    hub = Supervisor()
    entry = hub.add(Target("agent", replay.url), name="trace q3", client=replay)
    page.register(hub)
    try:
        await user.open(f"/session/{entry.id}")
        await user.should_see("summarize the q3 report")
        await user.should_see("lookup")  # the tool card
        timeline = [e for e in user.current_layout.descendants() if isinstance(e, TimelineView)]
        assert len(timeline) == 1
        cards = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "tool-card"]
        assert [c.props["data-call-id"] for c in cards] == ["tc1"]
    finally:
        await hub.close()
