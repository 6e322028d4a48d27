"""Earlier messages of a chat that left memory, read back from the store a page at a time.

The chat draws what the conversation holds in memory (its newest `Window.messages`); "Show earlier
messages" then goes on into the store: the page before the oldest message drawn is rebuilt by a
replay of the journal through the same reducer, in a worker thread (`console.readback`), and drawn
above, a few messages per flush tick, newest first, while the browser keeps the message the user was
looking at in its place (`ChatHub.hold`). Messages read back are shown as they were, read-only: no
retry, no approval (their replies are history).

When more messages leave memory while older ones are shown, they stay on the page with those read
back (the page holds no gap), up to `KEPT` messages; past that, or when messages leave memory while
nothing read back is shown yet, the read-back ones go, and reading back starts from the new oldest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from nicegui import background_tasks, ui

from console import readback
from console.session import Conversation, Message

log = logging.getLogger(__name__)

STORED_PER_TICK: Final = 3
KEPT: Final = 500  # messages read back (or let go while they were read) a page keeps at most


class StoredMessages:
    """What a chat view shows of the messages its conversation's memory let go."""

    def __init__(
        self,
        conversation: Conversation,
        column: ui.element,
        draw: Callable[[Message], ui.element],
        changed: Callable[[], None],
    ) -> None:
        self.conversation = conversation
        self.column = column
        self._draw = draw  # makes a message's element (at the end of the column)
        self._changed = changed  # the view's earlier-button is stale (and its ticker should run)
        self.first: int | None = None  # the number of the oldest message drawn from the store
        self.queue: list[Message] = []  # read back, not drawn yet (oldest first)
        self.elements: list[ui.element] = []
        self.loading = False
        self.damage = ""
        self._generation = 0  # a reset or a let-go makes an answer still on its way obsolete

    @property
    def stored(self) -> bool:
        return readback.stored_history(self.conversation) is not None

    def before(self) -> int:
        """How many messages come before the oldest one drawn (all of them in the store)."""
        return self.conversation.messages_let_go if self.first is None else self.first

    def load(self, limit: int) -> None:
        if self.loading or not self.stored or not self.before():
            return
        self.loading = True
        self._changed()
        background_tasks.create(self._load(limit, self._generation), name="earlier messages")

    async def _load(self, limit: int, generation: int) -> None:
        try:
            page = await readback.messages_page(self.conversation, self.before(), limit)
        except Exception as exc:  # the store unreachable (Redis gone, say): said; the button asks again
            log.warning("earlier messages could not be read back: %s", exc)
            self.damage = str(exc) or type(exc).__name__
            self.loading = False
            self._changed()
            return
        self.loading = False
        if generation != self._generation or self.column.is_deleted:
            return  # the chat moved on meanwhile (a reset, more messages let go)
        self.queue = list(page.messages) + self.queue
        self.first = page.first
        self.damage = page.damage
        self._changed()

    def draw_some(self, count: int = STORED_PER_TICK) -> None:
        """The newest few messages of the queue go above those drawn (right under the button)."""
        with self.column:
            for _ in range(min(count, len(self.queue))):
                element = self._draw(self.queue.pop())
                element.move(target_index=1)
                self.elements.append(element)

    @property
    def reading(self) -> bool:
        """Messages read back are on the page (or on their way to it)."""
        return bool(self.elements or self.queue)

    def adopt(self, element: ui.element) -> None:
        """A message that just left memory stays on the page, under those read back (it is history
        now, and the page holds no gap); past `KEPT` such messages, they all go."""
        self.elements.append(element)
        if len(self.elements) > KEPT:
            self.forget()
            self._changed()

    def forget(self) -> None:
        """Memory let more go (or the chat was reset): the messages read back leave the page."""
        self._generation += 1
        for element in self.elements:
            if not element.is_deleted:  # a reset cleared the column already
                element.delete()
        self.elements.clear()
        self.queue.clear()
        self.first = None
        self.loading = False
