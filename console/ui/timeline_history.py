"""A timeline's rows for what a session already holds when its panel opens, built off the loop for a
trace just opened.

A panel feeds the session's kept trace into its model before its view mounts (`TimelineModel.
feed_history`): for a replayed 100,000-event trace that is some 50,000 entries, a quarter to a third
of a second on the event loop. A trace being opened is replayed in a thread anyway, and nothing else
sees its conversation yet, so its model is built there too (`open_with_history`) and handed to the
first panel that shows that conversation (`take`); any other panel builds its own, on the loop.
"""

from __future__ import annotations

import weakref

from console.session import Conversation
from console.trace_io import ReplayClient, open_trace
from console.ui.timeline_model import DEFAULT_MAX_ROWS, TimelineModel

_built: weakref.WeakKeyDictionary[Conversation, TimelineModel] = weakref.WeakKeyDictionary()


def history_model(
    conversation: Conversation, max_rows: int, wall_offset: float, dropped: int
) -> TimelineModel:
    """A model holding the rows of the conversation's kept trace; `dropped`: events let go before it."""
    model = TimelineModel(max_rows, wall_offset, prompts_before_trace(conversation, dropped))
    model.feed_history(list(conversation.trace))  # sent whole when the view is ready
    return model


def prompts_before_trace(conversation: Conversation, dropped: int) -> int:
    """Prompts whose USER_MESSAGE row the session no longer keeps (rows count prompts from there)."""
    if not dropped:
        return 0
    prompts = sum(1 for m in conversation.messages if m.role == "user")
    sent = sum(1 for e in conversation.trace if e.kind == "USER_MESSAGE" and e.direction == "out")
    return max(0, prompts - sent)


def open_with_history(text: str, name: str) -> tuple[ReplayClient, TimelineModel]:
    """`open_trace`, and the model of its timeline as a panel with the default row cap would build it.
    Call it in a thread: it is the whole of opening a trace."""
    replay = open_trace(text, name)
    recording = replay.recording
    dropped = replay.conversation.trace_dropped + (recording.dropped if recording is not None else 0)
    return replay, history_model(replay.conversation, DEFAULT_MAX_ROWS, replay.wall_offset, dropped)


def keep(conversation: Conversation, model: TimelineModel) -> None:
    """Hold a model built for `conversation` until a panel takes it (or the conversation is gone)."""
    _built[conversation] = model


def take(conversation: Conversation, max_rows: int, wall_offset: float) -> TimelineModel | None:
    """The model kept for `conversation`, if it was built as this panel would build it; once only."""
    model = _built.pop(conversation, None)
    if model is None or model.max_rows != max_rows or model.wall_offset != wall_offset:
        return None
    return model
