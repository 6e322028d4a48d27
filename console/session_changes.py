"""The changes a conversation announces to its views, one small value each, so that a view updates in
place (append this text to that block) instead of drawing everything again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeAlias

from console.connection import LinkStatus
from console.frozen import frozen
from console.limits import Level
from console.session_blocks import Message
from console.session_trace import TraceEntry

log = logging.getLogger(__name__)


@frozen
class MessageAdded:
    message: Message
    after: str | None = None  # placed right after this message, not at the end (a reply to an earlier prompt)


@frozen
class TextAppended:
    message: Message
    block_index: int
    text: str


@frozen
class BlockAdded:
    message: Message
    block_index: int


@frozen
class BlockUpdated:
    message: Message
    block_index: int


@frozen
class ToolArgsAppended:
    """More streamed arguments of the tool card at `block_index`."""

    message: Message
    block_index: int
    text: str


@frozen
class MessageStatusChanged:
    message: Message


@frozen
class ContextAdded:
    context_id: str
    index: int


@frozen
class TraceAdded:
    entry: TraceEntry


@frozen
class NoticeAdded:
    """A notice was posted; `repeats` > 1 when it counts the last one again instead of adding one."""

    level: Level
    text: str
    repeats: int = 1


@frozen
class HistoryLetGo:
    """The oldest messages left memory (console/session_window.py): a view lets go of their elements."""

    message_ids: tuple[str, ...]


@frozen
class Reset:
    """Everything was cleared (e.g. a conversation replayed from its start): views start over."""


@frozen
class ConnectionChanged:
    status: LinkStatus


Change: TypeAlias = (
    Reset
    | ConnectionChanged
    | MessageAdded
    | TextAppended
    | BlockAdded
    | BlockUpdated
    | ToolArgsAppended
    | MessageStatusChanged
    | ContextAdded
    | TraceAdded
    | NoticeAdded
    | HistoryLetGo
)
Listener = Callable[[Change], None]


def tell(listeners: tuple[Listener, ...], change: Change) -> None:
    for listener in listeners:
        try:
            listener(change)
        except Exception:
            # A broken view must not break the session that feeds it.
            log.exception("a conversation listener failed on %s", type(change).__name__)
