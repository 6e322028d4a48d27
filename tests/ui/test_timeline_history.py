"""A trace opened from a file comes with its timeline already built, in the thread that replayed it:
the page shows the same rows as a timeline built on the event loop, which no longer builds them."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from console.dialects.agent.engine import AgentEngine
from console.session import Conversation, TraceEntry
from console.trace_io import export_jsonl
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


async def test_a_trace_opened_from_a_file_shows_the_rows_its_loading_thread_built(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay, rows = await asyncio.to_thread(timeline_history.open_with_history, exported(), "six.jsonl")
    timeline_history.keep(replay.conversation, rows)
    fed: list[int] = []  # history fed on the event loop, by panels that had no model to take
    feed = TimelineModel.feed_history

    def counted(model: TimelineModel, entries: list[TraceEntry]) -> None:
        fed.append(len(entries))
        feed(model, entries)

    monkeypatch.setattr(TimelineModel, "feed_history", counted)
    panels: list[TimelinePanel] = []

    @ui.page("/replay")
    def replay_page() -> None:
        panels.append(TimelinePanel(replay))  # the page the trace opens on
        panels.append(TimelinePanel(replay))  # another tab on the same session

    await user.open("/replay")
    first, second = panels
    assert first.model is rows and second.model is not rows
    assert fed == [len(replay.conversation.trace)]  # the second tab's only
    wires = [Wire(panel.view, monkeypatch) for panel in panels]
    for panel in panels:
        UserInteraction(user, {panel.view}, None).trigger("ready")
    built, fresh = (wire.resets[0] for wire in wires)
    assert built["rows"] and built["rows"] == fresh["rows"]
    assert built["dropped"] == fresh["dropped"] == replay.loaded.dropped > 0
    assert built["older"] == fresh["older"]
