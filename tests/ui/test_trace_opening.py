"""A long trace opened from a file: its page shows at once, with the first messages and how far the
replay is, and fills in slices while the event loop serves everything else; at the end it holds what
opening the file whole would have given, each message once."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from console import trace_io
from console.clients import Target
from console.dialects.agent.engine import AgentEngine
from console.jsonvalue import JsonObject
from console.session import Conversation
from console.supervisor import Supervisor
from console.trace_io import JsonlReplay, export_jsonl, open_trace
from console.ui import page, trace_opening
from console.ui.chat import MESSAGES_PER_PAGE
from console.ui.timeline import ROWS_FIRST, TimelineView
from console.ui.timeline_history import history_model
from console.ui.timeline_model import DEFAULT_MAX_ROWS
from tests.helpers import OPENED, eventually
from tests.ui.test_timeline import frame, token

pytestmark = [pytest.mark.nicegui_main_file(""), pytest.mark.usefixtures("close_sessions")]

PROMPTS = 30


def exported(prompts: int) -> str:
    """`prompts` prompts and replies, and one line no console wrote, in the middle."""
    engine = AgentEngine(Conversation())
    engine.connected(10.0)
    for n in range(prompts):
        engine.send_user_message(f"prompt {n:02d}.", 10.0 + n)
        for seq in range(1, 21):
            engine.receive(token(seq, f"r{n:02d}w{seq} ", f"s{n}"), 10.1 + n + seq / 100)
        engine.receive(frame(type="STREAM_END", seq=21, stream_id=f"s{n}"), 10.5 + n)
    lines = export_jsonl(engine.conversation, wall_offset=1_000_000.0).splitlines()
    lines.insert(len(lines) // 2, "{not json")
    return "\n".join(lines) + "\n"


def row_ids(state: JsonObject) -> list[int]:
    rows = state["rows"]
    assert isinstance(rows, list)
    return [row["i"] for row in rows if isinstance(row, dict) and isinstance(row["i"], int)]


def shown(user: User, text: str) -> int:
    """Elements on the page that hold `text`."""
    try:
        return len(user.find(content=text).elements)
    except AssertionError:  # none
        return 0


async def test_a_long_trace_shows_its_first_messages_and_its_progress_then_everything_once(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = exported(PROMPTS)
    whole = open_trace(text, "long.jsonl")
    # Small slices, and the replay held halfway until the test has looked at the page.
    monkeypatch.setattr(trace_io, "_CHUNK", 200)
    monkeypatch.setattr(trace_opening, "PAUSE", 0.0)
    halfway = asyncio.Event()
    step = JsonlReplay.step

    def held(source: JsonlReplay, budget: float | None = None) -> bool:
        if source.lines_read >= source.lines_total // 2 and not halfway.is_set():
            return False
        return step(source, 0.0)

    monkeypatch.setattr(JsonlReplay, "step", held)
    resets: list[JsonObject] = []  # what timeline views were sent to draw
    monkeypatch.setattr(TimelineView, "reset", lambda _view, state: resets.append(state))
    hub = Supervisor()
    OPENED.append(hub)
    on_screen = open_trace(exported(1), "short.jsonl")
    hub.add(Target("agent", on_screen.url), name="short", client=on_screen)
    page.register(hub)
    await user.open("/")
    await user.should_see("A replay of short.jsonl")

    upload = user.find(ui.upload).elements.pop()
    assert isinstance(upload, ui.upload)
    data = text.encode()
    await upload.handle_uploads([ui.upload.SmallFileUpload("long.jsonl", "application/x-ndjson", data)])
    # The page has switched to the trace before it is all replayed: its first prompt, and how far.
    await user.should_see("prompt 00.")
    await user.should_see(content="Replaying long.jsonl:", marker="replay-progress")
    (entry,) = [e for e in hub.sessions.values() if e.name == "trace long.jsonl"]
    opening = trace_opening.opening(entry.client.conversation)
    assert opening is not None and not opening.done.done()
    read, total = opening.progress()
    assert 0 < read < total
    assert shown(user, f"prompt {PROMPTS - 1:02d}.") == 0
    # Its timeline shows the newest rows replayed so far.
    views = user.find(TimelineView).elements
    assert len(views) == 1
    resets.clear()
    UserInteraction(user, views, None).trigger("ready")
    await eventually(lambda: bool(resets))
    preview = row_ids(resets[-1])
    assert preview and resets[-1]["preview"] is True
    assert max(preview) < len(whole.conversation.trace) - 1

    halfway.set()
    await user.should_see(content=f"A replay of long.jsonl ({len(whole.conversation.trace):,} events)")
    await user.should_see("1 line(s) could not be read")
    # The same session as the file opened whole, and the page shows its newest messages once each.
    replayed = entry.client.conversation
    assert replayed.transcript() == whole.conversation.transcript()
    assert [e.kind for e in replayed.trace] == [e.kind for e in whole.conversation.trace]
    assert opening.client.loaded.problems == whole.loaded.problems
    newest = PROMPTS - MESSAGES_PER_PAGE // 2
    await eventually(lambda: shown(user, f"prompt {newest:02d}.") == 1)
    for n in range(PROMPTS):
        assert shown(user, f"prompt {n:02d}.") == (1 if n >= newest else 0), n
    # And the rows of the whole trace, as a timeline of the file opened whole draws them.
    await eventually(lambda: "preview" not in resets[-1])
    whole_rows = history_model(whole.conversation, DEFAULT_MAX_ROWS, whole.wall_offset, 0).rows
    assert row_ids(resets[-1]) == [row.id for row in whole_rows][-ROWS_FIRST:]
    await user.should_not_see(marker="replay-progress")


async def test_other_work_runs_between_every_two_slices_and_no_slice_holds_the_loop_10_ms(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a trace replays, a session streaming on the same loop keeps its pace: something else runs
    between every two slices, and each slice takes a few milliseconds of CPU."""
    text = exported(600)
    events: list[str] = []  # "slice" and "other", in the order the loop ran them
    slices: list[float] = []  # CPU seconds of each slice
    step = JsonlReplay.step

    def timed(source: JsonlReplay, budget: float | None = None) -> bool:
        started = time.thread_time()
        done = step(source, budget)
        slices.append(time.thread_time() - started)
        events.append("slice")
        return done

    monkeypatch.setattr(JsonlReplay, "step", timed)

    async def other_session() -> None:
        while True:
            events.append("other")
            await asyncio.sleep(0.001)

    other = asyncio.create_task(other_session())
    try:
        client = await trace_opening.open_in_slices(text, "long.jsonl")
        opening = trace_opening.opening(client.conversation)
        assert opening is not None
        opening.drawn.set()  # as a page of the trace does once its timeline is drawn
        await asyncio.wait_for(opening.done, 30)
    finally:
        other.cancel()
    assert len(slices) > 5  # many slices, however fast the machine
    assert max(slices) < 0.010
    first, last = events.index("slice"), len(events) - 1 - events[::-1].index("slice")
    ran = events[first : last + 1]
    assert all(not (a == b == "slice") for a, b in itertools.pairwise(ran)), ran
    whole = open_trace(text, "long.jsonl")
    assert client.conversation.transcript() == whole.conversation.transcript()
