"""The reducer's part for the memory window: which messages a conversation lets go, and what it keeps
of a message once its reply is over. Called by `Conversation` (console/session.py); the window's sizes
and what a view reads of it are in console/window.py.

A conversation keeps its newest `Window.messages` messages. Past that, the oldest go, one for each
message added, in order: the list is only ever cut at its front, so `messages[0]` is always the
conversation's message number `messages_let_go`. A message still in flight is never cut, and neither
is anything after it (the list would get a hole): a reply that streams, a prompt that waits for its
reply, a user message a dialect streams. Such a message ends soon (a stall interrupts it, a new reply
supersedes it), so the window is at most briefly over its size.

With a message go its entries in the conversation's indexes (by id, by stream, its tool calls and
components, the parts of a reasoning that never ended): they would otherwise keep every message alive, however short the list. A tool call still
waiting for its result stays findable (a late result still lands on its card; the waiting calls are
capped by `Limits.waiting_tool_calls`). A late event for a stream whose message went starts a new
message, as an event for an unknown stream does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.session_blocks import ComponentBlock, Message, TextBlock, ToolBlock
from console.session_changes import HistoryLetGo
from console.window import HISTORY_DROPPED, HISTORY_KEPT

if TYPE_CHECKING:
    from console.session import Conversation


def settle(message: Message) -> None:
    """The reply is over: each text block becomes one string. Streamed, a block is a list of its
    deltas (O(1) per token), and kept so each costs some 60 bytes beside its characters: ten times the
    text of a long reply, for every reply in the window."""
    for block in message.blocks:
        if isinstance(block, TextBlock):
            block.join()
        elif isinstance(block, ComponentBlock):
            for stream in block.streams.values():
                stream.join()


def let_go_messages(conv: Conversation) -> None:
    """A message was added: past the window, the oldest messages go (none in flight, none after one)."""
    messages = conv.messages
    over = len(messages) - conv.limits.window.messages
    if over <= 0:
        return
    count = 0
    while count < over and not _in_flight(conv, messages[count]):
        count += 1
    if not count:
        return
    gone = messages[:count]
    del messages[:count]
    for message in gone:
        _forget(conv, message)
    conv.messages_let_go += count
    history_let_go(conv, "messages", count)
    conv._emit(HistoryLetGo(tuple(message.id for message in gone)))


def _in_flight(conv: Conversation, message: Message) -> bool:
    if message.status in ("streaming", "queued"):
        return True
    # A prompt that went out and waits for its reply (placed right under it). Prompts are answered
    # oldest first, so walking from the front the first one waiting met is the oldest: O(1).
    unanswered = conv._unanswered
    return bool(unanswered) and unanswered[0] is message


def _forget(conv: Conversation, message: Message) -> None:
    """Take the message out of the conversation's indexes."""
    conv._by_id.pop(message.id, None)
    stream_id = message.stream_id
    if stream_id is not None and conv._by_stream.get(stream_id) is message:
        del conv._by_stream[stream_id]
    for block in message.blocks:
        if isinstance(block, ToolBlock):
            found = conv._tools.get(block.call_id)
            if found is not None and found[0] is message and block.call_id not in conv._waiting:
                del conv._tools[block.call_id]
        elif isinstance(block, ComponentBlock) and stream_id is not None:
            key = (stream_id, block.component_id)
            where = conv._components.get(key)
            if where is not None and where[0] is message:
                del conv._components[key]
            conv._open_components.pop(key, None)
            conv._reasoning.pop(block.component_id, None)  # reasoning that never said it was done


def forget_call(conv: Conversation, call_id: str) -> None:
    """A call stopped being waited for (answered, or past the cap): if its message already left memory,
    its card is no longer findable either."""
    found = conv._tools.get(call_id)
    if found is not None and conv._by_id.get(found[0].id) is not found[0]:
        del conv._tools[call_id]


def history_let_go(conv: Conversation, kind: str, count: int) -> None:
    """`count` items of `kind` (messages, trace rows, context versions) left memory: counted in the
    conversation's `folded`, and said once, in a notice, whatever goes and however often."""
    counts = conv.folded.counts
    counts[kind] = counts.get(kind, 0) + count
    if not conv.history_told:
        conv.history_told = True
        if conv.history_kept or conv.journal is not None:
            conv._notice("info", HISTORY_KEPT)
        else:
            conv._notice("warning", HISTORY_DROPPED)
