"""The reducer's part for contexts: the versions of each context a conversation keeps for the
inspector's scrubber (a snapshot, or a state patched by deltas in `session_runs`).

Contexts are ordered least recently updated first: past the cap on contexts, the least recent one is
let go with a notice; the versions of all of them together stay within the memory window
(console/window.py), the oldest let go first and said once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console import events as ev
from console import jsonvalue
from console import session_window as memory
from console.session_blocks import ContextEntry
from console.session_changes import ContextAdded

if TYPE_CHECKING:
    from console import session as model


def snapshot(conv: model.Conversation, event: ev.ContextSnapshot, at: float, seq: int | None) -> None:
    entry = ContextEntry(at, seq, jsonvalue.dumps_kept(event.data), event.size)
    history = history_of(conv, event.context_id)
    keep(conv, history, entry)
    conv._emit(ContextAdded(event.context_id, len(history) - 1))


def history_of(conv: model.Conversation, context_id: str) -> list[ContextEntry]:
    """The history of a context, now the most recently updated one."""
    contexts = conv.contexts
    history = contexts.pop(context_id, None)
    if history is None:
        history = []
        if len(contexts) >= conv.limits.contexts:
            oldest = next(iter(contexts))
            del contexts[oldest]
            conv._live_states.pop(oldest, None)  # its parsed state too (a patched context's)
            conv._folded("contexts", f"over {conv.limits.contexts} contexts: the least recent are let go")
    contexts[context_id] = history
    return history


def keep(conv: model.Conversation, history: list[ContextEntry], entry: ContextEntry) -> None:
    """A new version of a context, kept within the window."""
    history.append(entry)
    before = conv._snapshots.let_go
    if conv._snapshots.added(conv.contexts, history, entry):
        memory.history_let_go(conv, "context versions", conv._snapshots.let_go - before)
