"""The chat panel: messages as ordered blocks, streamed text, tool cards, notices.

Built once from the session model, then kept current from the model's change stream: a change touches
only the element it is about. Text deltas are not sent one by one: they collect per text run and go to
the browser in one message per flush tick (`FLUSH_INTERVAL`), appended there by `StreamText`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from nicegui import ui

from console.session import (
    BlockAdded,
    BlockUpdated,
    Change,
    ComponentBlock,
    Conversation,
    HistoryLetGo,
    Message,
    MessageAdded,
    MessageStatusChanged,
    NoticeAdded,
    Reset,
    TextAppended,
    TextBlock,
    ToolArgsAppended,
    ToolBlock,
    TraceAdded,
)
from console.ui.cards import Answer, ComponentCard, ToolCard, wall_elapsed
from console.ui.chat_history import StoredMessages
from console.ui.chat_hub import ChatHub
from console.ui.scope import on_leave
from console.ui.stream_text import StreamText
from console.ui.testid import testid
from console.ui.ticker import Ticker

# 10 Hz: smooth to the eye, one websocket message per tick. Each message costs some 60 bytes besides
# its characters: at 13 Hz a reply at 200 tokens/s cost 0.85 bytes per character in headers alone.
FLUSH_INTERVAL = 0.1
STATUS_AFTER_TEXT = 0.05  # seconds; more than one NiceGUI outbox cycle
# Messages drawn when a page opens, and per "show earlier": a long conversation (a replayed trace
# of hours) would otherwise build thousands of elements before the page can show anything.
MESSAGES_PER_PAGE = 20
# A page of messages is drawn newest first, this many per flush tick: each chunk is one short task
# for the browser instead of one long one for the whole page.
MESSAGES_PER_TICK = 3
# Notice labels kept in the chat: a flood of ERROR frames must not grow the page (the timeline and the
# session's notice board keep the count).
NOTICES_SHOWN = 20

ROLE_NAMES = {"user": "You", "assistant": "Agent"}
# A prompt longer than this is shown folded, with "show more" (a pasted document would otherwise be a
# bubble thousands of pixels tall).
LONG_PROMPT_CHARS = 1200
LONG_PROMPT_LINES = 14
# Copies what the browser holds: the text as received, never resent by the server.
COPY_JS = (
    "(e) => navigator.clipboard.writeText([...e.target.closest('.ac-msg')"
    ".querySelectorAll('[data-testid=message-text]')].map(t => t.acSource ?? t.innerText).join(''))"
)
# Folds and unfolds in the browser: a class on the card, never changed by the server.


def is_long_prompt(text: str) -> bool:
    return len(text) > LONG_PROMPT_CHARS or text.count("\n") >= LONG_PROMPT_LINES


BlockView = StreamText | ToolCard | ComponentCard


class MessageView:
    def __init__(
        self,
        message: Message,
        on_retry: Callable[[Message], None] | None,  # None: the session cannot ask again
        on_answer: Answer | None = None,
        markdown: bool = True,
    ) -> None:
        self.message = message
        self.on_retry = on_retry
        self.on_answer = on_answer
        self.markdown = markdown  # replies rendered as Markdown (else shown as received)
        self.blocks: list[BlockView] = []
        with testid(ui.element("div").classes("ac-msg"), "message") as self.root:
            self._status_props()
            with ui.element("div").classes("ac-msg-head"):
                ui.label(ROLE_NAMES.get(message.role, message.role)).classes("font-semibold")
                # A title, not a tooltip element: one Quasar component less per message to mount.
                self.copy = ui.button(icon="content_copy").props(
                    'flat dense round size=sm title="Copy" aria-label="Copy message"'
                )
            self.body = ui.element("div").classes("ac-body")
            if message.role == "user" and is_long_prompt(message.text):
                self._fold_long()
        self.footer: ui.element | None = None  # made when there is something to say under the message
        self.copy.on("click", js_handler=COPY_JS)
        for block in message.blocks:
            self.add_block(block)
        self.update_status()

    def _fold_long(self) -> None:
        """Show the start of a long prompt; the rest on "show more" (in the browser, no round trip)."""
        self.root.classes("ac-msg-long")
        more = testid(ui.element("button").classes("ac-more"), "show-more").props(
            'type=button aria-expanded="false"'
        )
        with more:
            ui.label("Show more").classes("ac-more-closed")
            ui.label("Show less").classes("ac-more-open")
        more.on(
            "click",
            js_handler="(e) => { const m = e.currentTarget.closest('.ac-msg');"
            " e.currentTarget.setAttribute('aria-expanded', String(m.classList.toggle('ac-expanded'))); }",
        )

    def _status_props(self) -> None:
        m = self.message
        self.root.props.update(
            {
                "data-role": m.role,
                "data-message-id": m.id,
                "data-status": m.status,
                "data-stream-id": m.stream_id or "",
            }
        )

    def add_block(self, block: TextBlock | ToolBlock | ComponentBlock) -> BlockView:
        view: BlockView
        with self.body:
            if isinstance(block, TextBlock):
                index = len(self.blocks)
                done = index < len(self.message.blocks) - 1 or self.message.status != "streaming"
                markdown = self.markdown and self.message.role == "assistant"
                view = testid(StreamText(block.text, markdown=markdown, done=done), "message-text").props(
                    "dir=auto"
                )
                if markdown:
                    view.classes("ac-md")
            elif isinstance(block, ToolBlock):
                view = ToolCard(block, self.on_answer)
            else:
                view = ComponentCard(block)
        # Panels that point at a block (the timeline) find it by message and block index.
        root = view if isinstance(view, StreamText) else view.root
        root.props["data-block"] = len(self.blocks)
        self.blocks.append(view)
        return view

    def update_status(self) -> None:
        self._status_props()
        if self.message.status != "streaming":
            # A reply that ended or broke off leaves no clock running on a card still waiting.
            for view in self.blocks:
                if isinstance(view, ToolCard) and view.block.result is None:
                    view.elapsed.stop(wall_elapsed(view.block.called_at, None))
        if self.footer is not None:
            self.footer.clear()
        asking = any(isinstance(v, ToolCard) and v.block.approval is not None for v in self.blocks)
        if self.message.status in ("interrupted", "error") and not asking:
            if self.footer is None:
                with self.root:
                    self.footer = ui.element("div")
            failed = self.message.status == "error"
            with self.footer, testid(ui.element("div").classes("ac-interrupted"), "interrupted"):
                ui.icon("error" if failed else "warning", size="1.1em")
                note = f": {self.message.note}" if self.message.note else ""
                ui.label(f"{'Failed' if failed else 'Interrupted'}{note}")
                if self.message.retried:  # asked again once: the button does not invite a second time
                    testid(ui.label("— asked again below"), "retried")
                elif (on_retry := self.on_retry) is not None:
                    retry = ui.button("Retry", icon="refresh", on_click=lambda: on_retry(self.message))
                    testid(retry, "retry-button").props("flat dense size=sm")


class ChatView:
    """The chat of one conversation, for one browser tab."""

    def __init__(
        self,
        conversation: Conversation,
        on_retry: Callable[[str], object] | None,  # None: the session cannot ask again
        on_answer: Answer | None = None,
        *,
        markdown: bool = True,
        filling: asyncio.Future[None] | None = None,
    ) -> None:
        self.conversation = conversation
        # A conversation filled faster than anyone reads (a trace being replayed, until `filling` is
        # done): drawn as it is when the page opens and once more when it is full, not change by change
        # (the replay's messages would each be built, then let go by the page's window).
        self._filling = filling if filling is not None and not filling.done() else None
        self.on_retry = on_retry
        self.on_answer = on_answer
        self.markdown = markdown
        self.views: dict[str, MessageView] = {}
        self._pending: dict[int, list[str]] = {}
        # Component cards are redrawn once per flush tick, not per field: a streamed idea of 20,000
        # chunks costs the page what its ticks cost.
        self._stale: dict[int, ComponentCard] = {}
        # Notices to draw at the next tick, the latest of each (level, text): a flood of ERROR frames
        # costs the tick one label update per distinct text, never one per frame.
        self._notices: OrderedDict[tuple[str, str], NoticeAdded] = OrderedDict()
        self._notice_labels: OrderedDict[tuple[str, str], ui.label] = OrderedDict()
        with ui.element("div").classes("ac-chat-scroll w-full grow min-h-0") as self.scroller:
            testid(self.scroller, "chat-scroll")
            self.column = testid(ui.element("div").classes("ac-chat"), "chat")
            self.hub = ChatHub(self.scroller)
        # A flush tick runs after a change, never on an idle page.
        self.ticker = Ticker(FLUSH_INTERVAL, self.flush)
        self.stored = StoredMessages(self.conversation, self.column, self._stored_view, self._stored_changed)
        self._render_all()
        unsubscribe = self.conversation.subscribe(self._on_change)
        on_leave(unsubscribe)
        if self._filling is not None:
            self._filling.add_done_callback(self._filled)

    def _filled(self, _: asyncio.Future[None]) -> None:
        self._filling = None
        if not self.column.is_deleted:
            self._render_all()

    def _render_all(self) -> None:
        self.column.clear()
        self.views.clear()
        self._pending.clear()
        self._stale.clear()
        messages = self.conversation.messages
        self._first = len(messages)  # the oldest message drawn
        self._wanted = max(0, len(messages) - MESSAGES_PER_PAGE)  # the oldest message to draw
        with self.column:
            self._earlier = testid(ui.button(on_click=self._show_earlier), "chat-earlier")
            self._earlier.props("flat dense no-caps size=sm").classes("self-center")
        self.stored.forget()  # a reset: what was read back goes with the rest
        self._store_asked = False
        # The newest message comes with the page (or with the part of it being replaced), the rest of
        # the page after it: whatever else is being built in the same step then stays a short task.
        self._draw_earlier(1)
        # Notices are the session's state: a page opened later shows the ones still on the board.
        self._notice_labels.clear()
        self._notices.clear()
        for notice in self.conversation.notices:
            self._queue_notice(NoticeAdded(notice.level, notice.text, notice.repeats))
        self.ticker.wake(wait=True)  # the rest of the page of messages, after the page itself

    def _show_earlier(self) -> None:
        self.hub.hold()  # the messages in view stay where they are while earlier ones go in above
        if self._wanted == 0:  # all of memory is wanted: the page before comes from the store
            self._store_asked = True
            self._load_stored()
            return
        self._wanted = max(0, self._wanted - MESSAGES_PER_PAGE)
        self._draw_earlier()
        self.ticker.wake()

    def _load_stored(self) -> None:
        """The page asked for from the store, once memory's messages are all drawn (they go right
        under the button; those read back above them)."""
        if self._store_asked and self._first == 0:
            self._store_asked = False
            self.stored.load(MESSAGES_PER_PAGE)

    def _stored_view(self, message: Message) -> ui.element:
        """A message read back from the store: as it was, read-only (no retry, no approval)."""
        return MessageView(message, None, None, self.markdown).root

    def _stored_changed(self) -> None:
        self._sync_earlier()
        self.ticker.wake()

    def _sync_earlier(self) -> None:
        """The button above the messages: how many earlier ones there are, and where they are."""
        stored = self.stored
        more = self._wanted + (stored.before() if stored.stored else 0)
        dropped = self.conversation.messages_let_go if not stored.stored and not self._wanted else 0
        if stored.loading:
            text = "Reading earlier messages back from the store…"
        elif dropped:
            text = f"{dropped:,} earlier messages left memory and were dropped (no store keeps them)"
        elif stored.damage and not stored.queue:
            text = f"Earlier messages could not all be read back: {stored.damage}"
        else:
            text = f"Show earlier messages ({more:,} more)"
        self._earlier.set_text(text)
        self._earlier.set_enabled(not dropped and not stored.loading)
        self._earlier.set_visibility(bool(more or dropped or stored.loading))

    def _draw_earlier(self, count: int = MESSAGES_PER_TICK) -> None:
        """Draw the next few messages still wanted above the oldest one drawn (flush draws the rest)."""
        start = max(self._wanted, self._first - count)
        with self.column:
            for offset, message in enumerate(self.conversation.messages[start : self._first]):
                self._add_message(message)
                self.views[message.id].root.move(target_index=1 + offset)  # after the button
        self._first = start
        self._sync_earlier()

    # -- model -> view --------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        # The two changes of every token first: a trace row is the timeline's (nothing
        # to draw here, no tick to wake), and a text delta only joins its run's pending text.
        if type(change) is TraceAdded or self._filling is not None:
            return
        self.ticker.wake()
        if isinstance(change, TextAppended):
            view = self._block_view(change.message, change.block_index)
            if isinstance(view, StreamText):
                pending = self._pending.get(view.id)
                if pending is None:
                    self._pending[view.id] = [change.text]
                else:
                    pending.append(change.text)
            return
        match change:
            case MessageAdded(message=m, after=after):
                with self.column:
                    self._add_message(m)
                self._place_after(m.id, after)
            case BlockAdded(message=m, block_index=i):
                message_view = self.views.get(m.id)
                if message_view is not None and len(message_view.blocks) == i:
                    # The text above the new block is complete: render the last of it before the
                    # block is drawn, so it never reflows under a card (the freeze).
                    self._finish_text(message_view, i - 1)
                    message_view.add_block(m.blocks[i])
            case ToolArgsAppended(message=m, block_index=i, text=text):
                view = self._block_view(m, i)
                if isinstance(view, ToolCard) and view.args_stream is not None:
                    self._pending.setdefault(view.args_stream.id, []).append(text)
            case BlockUpdated(message=m, block_index=i):
                view = self._block_view(m, i)
                if isinstance(view, ToolCard):
                    view.update()
                elif isinstance(view, ComponentCard):
                    self._stale[id(view)] = view
            case MessageStatusChanged(message=m):
                if m.id in self.views:
                    # Text goes out as messages and status as element updates, which NiceGUI sends
                    # first: send the text now and the status just after, so "done" never shows
                    # before the last words.
                    self.flush()
                    if m.status != "streaming":
                        self._finish_text(self.views[m.id], len(m.blocks) - 1)
                    asyncio.get_running_loop().call_later(STATUS_AFTER_TEXT, self._update_status, m.id)
            case NoticeAdded():
                self._queue_notice(change)
            case Reset():
                self._render_all()
            case HistoryLetGo(message_ids=ids):
                self._let_go(ids)
            case _:
                pass

    def _update_status(self, message_id: str) -> None:
        view = self.views.get(message_id)  # gone when its message left memory meanwhile
        if view is not None:
            view.update_status()

    def _let_go(self, message_ids: tuple[str, ...]) -> None:
        """The oldest messages left the session's memory: their elements leave the page too (a page
        open for hours holds what memory holds, not every message it ever showed)."""
        count = len(message_ids)
        self._first = max(0, self._first - count)  # positions in `conversation.messages` moved up
        self._wanted = max(0, self._wanted - count)
        # Messages read back are on the page: those that just left join them (as history), else
        # there would be a gap between the two.
        reading = self.stored.reading
        for message_id in message_ids:
            view = self.views.pop(message_id, None)
            if view is None:
                continue
            for block in view.blocks:
                self._stale.pop(id(block), None)
                text = block if isinstance(block, StreamText) else getattr(block, "args_stream", None)
                if text is not None:
                    self._pending.pop(text.id, None)
            if reading:
                self.stored.adopt(view.root)
            else:
                view.root.delete()
        if not reading:
            self.stored.forget()  # a page on its way would sit above a gap
        self._sync_earlier()

    def _block_view(self, message: Message, index: int) -> BlockView | None:
        view = self.views.get(message.id)
        if view is None or index >= len(view.blocks):
            return None
        return view.blocks[index]

    def _finish_text(self, message_view: MessageView, index: int) -> None:
        view = message_view.blocks[index] if 0 <= index < len(message_view.blocks) else None
        if isinstance(view, StreamText) and not view.props["done"]:
            self.flush()
            view.mark_done()
            self.hub.finish([view.id])

    def _add_message(self, message: Message) -> None:
        retry = self._retry if self.on_retry is not None else None
        self.views[message.id] = MessageView(message, retry, self.on_answer, self.markdown)

    def _place_after(self, message_id: str, after: str | None) -> None:
        """A reply to an earlier prompt goes right under it (queued prompts stay below)."""
        anchor = self.views.get(after) if after else None
        if anchor is not None:
            children = self.column.default_slot.children
            self.views[message_id].root.move(target_index=children.index(anchor.root) + 1)

    def _queue_notice(self, notice: NoticeAdded) -> None:
        pending = self._notices
        key = (notice.level, notice.text)
        pending[key] = notice
        pending.move_to_end(key)
        if len(pending) > NOTICES_SHOWN:  # more distinct texts in one tick than are ever shown
            pending.popitem(last=False)

    def _draw_notices(self) -> None:
        """A notice already shown gets its new count where it stands; a new one is added at the end."""
        labels = self._notice_labels
        pending, self._notices = self._notices, OrderedDict()
        for key, notice in pending.items():
            text = notice.text if notice.repeats == 1 else f"{notice.text} (×{notice.repeats})"
            label = labels.get(key)
            if label is not None:
                label.set_text(text)
                continue
            with self.column:
                label = ui.label(text).classes("ac-notice")
            testid(label, "notice").props.update({"data-level": notice.level, "dir": "auto"})
            labels[key] = label
            if len(labels) > NOTICES_SHOWN:
                labels.popitem(last=False)[1].delete()

    def _retry(self, message: Message) -> None:
        if self.on_retry is not None:
            self.on_retry(message.id)

    def flush(self) -> None:
        """Draw the next few messages still wanted; send this tick's text deltas in one message."""
        if self.stored.queue:
            self.stored.draw_some()
            if self.stored.queue:
                self.ticker.wake(wait=True)
        if self._first > self._wanted:
            self._draw_earlier()
            if self._first > self._wanted:
                self.ticker.wake(wait=True)
            else:
                self._load_stored()
        if self._stale:
            stale, self._stale = self._stale, {}
            for card in stale.values():
                for element_id, delta in card.update():
                    self._pending.setdefault(element_id, []).append(delta)
        if self._notices:
            self._draw_notices()
        if not self._pending:
            return
        batch = [(element_id, "".join(parts)) for element_id, parts in self._pending.items()]
        self._pending.clear()
        self.hub.apply(batch)
