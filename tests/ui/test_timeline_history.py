"""A trace opened from a file has its timeline built in a thread while its page shows: the page shows
the same rows as a timeline built on the event loop, and waits for them rather than answering early."""

from __future__ import annotations

import asyncio
import threading

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from console.dialects.agent.engine import AgentEngine
from console.jsonvalue import JsonValue
from console.session import Conversation, TraceEntry
from console.trace_io import export_jsonl, open_trace
from console.ui import timeline_history
from console.ui.timeline import TimelinePanel
from console.ui.timeline_model import TimelineModel
from tests.ui.test_timeline import Wire, frame, token

pytestmark = pytest.mark.nicegui_main_file("")


def exported() -> str:
    """Six prompts and replies, of which the session kept the last 40 trace entries."""
    engine = AgentEngine(Conversation(trace_limit=40))
    engine.connected(10.0)
    for n in range(6):
        engine.send_user_message(f"question {n}", 10.0 + n)
        for seq in range(1, 9):
            engine.receive(token(seq, f"w{seq} ", f"s{n}"), 10.1 + n + seq / 100)
        engine.receive(frame(type="STREAM_END", seq=9, stream_id=f"s{n}"), 10.5 + n)
    assert engine.conversation.trace_dropped > 0
    return export_jsonl(engine.conversation, wall_offset=1_000_000.0)


async def test_a_trace_opened_from_a_file_shows_the_rows_a_thread_built_for_it(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay = await asyncio.to_thread(open_trace, exported(), "six.jsonl")
    fed: list[int] = []  # history fed on the event loop, by panels that had no model to take
    feed = TimelineModel.feed_history

    def counted(model: TimelineModel, entries: list[TraceEntry]) -> None:
        if threading.current_thread() is threading.main_thread():
            fed.append(len(entries))
        feed(model, entries)

    monkeypatch.setattr(TimelineModel, "feed_history", counted)
    coming = timeline_history.build_soon(replay)
    panels: list[TimelinePanel] = []

    @ui.page("/replay")
    def replay_page() -> None:
        panels.append(TimelinePanel(replay))  # the page the trace opens on
        panels.append(TimelinePanel(replay))  # another tab on the same session

    await user.open("/replay")
    first, second = panels
    assert fed == [len(replay.conversation.trace)]  # the second tab's only
    wires = [Wire(panel.view, monkeypatch) for panel in panels]
    for panel in panels:
        UserInteraction(user, {panel.view}, None).trigger("ready")
    # The first panel sends its rows once the thread's model is there.
    for _ in range(100):
        if all(wire.resets for wire in wires):
            break
        await asyncio.sleep(0.02)
    assert first.model is await coming and second.model is not first.model
    built, fresh = (wire.resets[0] for wire in wires)
    assert built["rows"] and built["rows"] == fresh["rows"]
    assert built["dropped"] == fresh["dropped"] == replay.loaded.dropped > 0
    assert built["older"] == fresh["older"]


async def test_a_search_typed_before_the_model_is_built_answers_from_the_whole_trace(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay = await asyncio.to_thread(open_trace, exported(), "six.jsonl")
    release = threading.Event()
    build = timeline_history.history_model

    def slow(conversation: Conversation, max_rows: int, wall_offset: float, dropped: int) -> TimelineModel:
        release.wait(5)
        return build(conversation, max_rows, wall_offset, dropped)

    monkeypatch.setattr(timeline_history, "history_model", slow)
    timeline_history.build_soon(replay)
    panels: list[TimelinePanel] = []

    @ui.page("/replay")
    def replay_page() -> None:
        panels.append(TimelinePanel(replay))

    await user.open("/replay")
    (panel,) = panels
    answers: list[JsonValue] = []
    monkeypatch.setattr(panel.view, "text_matches", lambda text, ids: answers.append(ids))
    UserInteraction(user, {panel.view}, None).trigger("search", "w8")
    await asyncio.sleep(0.1)
    assert answers == []  # not "nothing matches" from an empty timeline: it waits for the rows
    release.set()
    for _ in range(100):
        if answers:
            break
        await asyncio.sleep(0.02)
    assert answers and answers[0]  # the token rows of the replies that still hold "w8 "
