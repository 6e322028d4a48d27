"""A timeline's rows for what a session already holds when its panel opens, built off the loop for a
trace just opened.

A panel feeds the session's kept trace into its model before its view mounts (`TimelineModel.
feed_history`): for a replayed 100,000-event trace that is some 50,000 entries, a quarter to a third
of a second on the event loop. A trace just opened is a closed conversation nothing feeds any more,
so its model is built in a thread (`build_soon`) while the page shows the replayed session, and the
first panel that shows that conversation takes it (`take`) and sends its rows when it is there; any
other panel builds its own, on the loop. While a trace is still being replayed in slices
(console/ui/trace_opening.py), a panel shows `preview_model`, the newest entries' rows, instead.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from console.session import Conversation
from console.trace_io import ReplayClient
from console.ui.timeline_model import DEFAULT_MAX_ROWS, TimelineModel

# Entries the preview of a trace being replayed is built from (`preview_model`).
PREVIEW_ENTRIES = 2_500


@dataclass(frozen=True, slots=True)
class _Building:
    """A model on its way, for a panel with this row cap and clock."""

    max_rows: int
    wall_offset: float
    model: asyncio.Future[TimelineModel]


_built: weakref.WeakKeyDictionary[Conversation, _Building] = weakref.WeakKeyDictionary()


def history_model(
    conversation: Conversation, max_rows: int, wall_offset: float, dropped: int
) -> TimelineModel:
    """A model holding the rows of the conversation's kept trace; `dropped`: events let go before it."""
    model = TimelineModel(max_rows, wall_offset, prompts_before_trace(conversation, dropped))
    model.feed_history(list(conversation.trace))  # sent whole when the view is ready
    return model


def preview_model(conversation: Conversation, max_rows: int, wall_offset: float) -> TimelineModel:
    """A model of the newest `PREVIEW_ENTRIES` entries only: what a timeline shows of a trace still
    being replayed, built afresh each tick (a few milliseconds, some hundreds of rows)."""
    entries = conversation.trace[-PREVIEW_ENTRIES:]
    prompts = sum(1 for m in conversation.messages if m.role == "user")
    sent = sum(1 for e in entries if e.kind == "USER_MESSAGE" and e.direction == "out")
    model = TimelineModel(max_rows, wall_offset, max(0, prompts - sent))
    model.feed_history(entries)
    return model


def prompts_before_trace(conversation: Conversation, dropped: int) -> int:
    """Prompts whose USER_MESSAGE row the session no longer keeps (rows count prompts from there)."""
    if not dropped:
        return 0
    prompts = sum(1 for m in conversation.messages if m.role == "user")
    sent = sum(1 for e in conversation.trace if e.kind == "USER_MESSAGE" and e.direction == "out")
    return max(0, prompts - sent)


def build_soon(replay: ReplayClient) -> asyncio.Future[TimelineModel]:
    """The timeline model of a trace just opened, as a panel with the default row cap would build it,
    built in a thread; the first panel that shows its conversation takes it (`take`). Only for a
    conversation nothing feeds any more: the model holds its trace as the thread finds it.

    The thread starts once the caller's handler has run: the page of the replayed session is built
    on the loop first, without a thread holding the interpreter lock half of that time."""
    conversation = replay.conversation
    recording = replay.recording
    dropped = conversation.trace_dropped + (recording.dropped if recording is not None else 0)
    loop = asyncio.get_running_loop()
    model: asyncio.Future[TimelineModel] = loop.create_future()

    def start() -> None:
        job = loop.run_in_executor(
            None, history_model, conversation, DEFAULT_MAX_ROWS, replay.wall_offset, dropped
        )
        job.add_done_callback(lambda done: _settle(model, done))

    loop.call_soon(start)
    _built[conversation] = _Building(DEFAULT_MAX_ROWS, replay.wall_offset, model)
    return model


def _settle(model: asyncio.Future[TimelineModel], job: asyncio.Future[TimelineModel]) -> None:
    if model.done():
        return
    if job.cancelled():  # the executor shut down: the console is stopping
        model.cancel()
        return
    error = job.exception()
    if error is not None:
        model.set_exception(error)
    else:
        model.set_result(job.result())


def take(
    conversation: Conversation, max_rows: int, wall_offset: float
) -> asyncio.Future[TimelineModel] | None:
    """The model being built for `conversation`, if it is built as this panel would build it; once only."""
    building = _built.pop(conversation, None)
    if building is None or building.max_rows != max_rows or building.wall_offset != wall_offset:
        return None
    return building.model
