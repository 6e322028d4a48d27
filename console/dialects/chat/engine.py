"""The client side of the chat dialect (docs/protocols/chat.md), sans-I/O: several conversations on one connection.

Like the agent engine, the transport feeds it what happens (`connected`, `receive`, `disconnected`,
`tick` with the current monotonic time) and sends whatever `data_to_send()` returns.

Theory of operation
-------------------
A session holds several conversations, each named on the wire by a random `chatId` of its own and
kept in its own `Conversation`; one of them is *active* (what `conversation` returns, where
`send_user_message` goes, what a new page shows first). The connection is shared, so the conversations
are one session (console/session_model.py): one link, and one trace that every conversation's timeline
shows (lifecycle rows are recorded once).

* Prompts of one conversation go one at a time: one typed while its reply streams waits for the reply
  to end: its message done (one message per response, after any ideas) or a done tag,
  whichever comes first (the done tag is optional). Conversations do not wait
  for each other (the wire routes by chatId).
* Server frames are routed by chatId to that conversation's decoder. A frame no conversation owns,
  malformed JSON, an unknown tag, a missing field, a chunk for a conversation that asked nothing, or a
  message chunk after the message was done is a `PROTOCOL_ERROR` row on the timeline (of the
  conversation it names, else of the active one) and changes no conversation.
* The dialect has no resume: when the connection drops mid-response, that response is marked
  interrupted at once, keeping what arrived, and the user can retry it. Prompts not yet sent wait for
  the reconnection.
* A response that makes no progress for `idle_timeout` is marked interrupted too. The server may still
  send the rest on this connection (it answers one request at a time), so the frames up to its done tag
  are then set aside as late rows instead of landing in the next reply.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from console import events as ev
from console.connection import ConnectionState
from console.dialects.chat import protocol as proto
from console.jsonvalue import JsonObject
from console.limits import Level
from console.link import LinkEvent
from console.runtime.engine import LinkedEngine, PromptQueue, retry_prompt
from console.session import Block, ComponentBlock, Conversation, Message
from console.trace_kinds import TraceKind, as_kind

S = ConnectionState
E = LinkEvent
log = logging.getLogger(__name__)

NEW_CHAT_TITLE = "New chat"
TITLE_LENGTH = 48


@dataclass(frozen=True, slots=True)
class ChatEngineConfig:
    idle_timeout: float = 60.0
    max_frame: int = proto.DEFAULT_MAX_FRAME


def random_chat_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class _Chat:
    """One conversation and what the client keeps about it on the wire."""

    chat_id: str
    conversation: Conversation
    decoder: proto.ChatDecoder
    prompts: PromptQueue  # in flight: a prompt was sent and its message (or done tag) has not come
    progress_at: float = 0.0
    abandoned: int = 0  # responses given up on this connection whose frames may still come

    @property
    def in_flight(self) -> bool:
        return self.prompts.in_flight

    @property
    def idle(self) -> bool:
        return self.prompts.idle


ChatsListener = Callable[[], None]


class ChatEngine(LinkedEngine):
    def __init__(
        self,
        config: ChatEngineConfig | None = None,
        *,
        new_id: Callable[[], str] = random_chat_id,
    ) -> None:
        self.config = config or ChatEngineConfig()
        self._new_id = new_id
        self._chats: dict[str, _Chat] = {}
        self._listeners: list[ChatsListener] = []
        first = self._create()
        self.active_id = first.chat_id
        # The conversations are one session: one trace, one link (console/session_model.py).
        super().__init__(first.conversation)
        self.frames_in = 0

    # -- conversations ----------------------------------------------------------------------------

    @property
    def conversations(self) -> dict[str, Conversation]:
        """Every conversation by chat id, oldest first."""
        return {chat_id: chat.conversation for chat_id, chat in self._chats.items()}

    @property
    def conversation(self) -> Conversation:
        """The active conversation."""
        return self._chats[self.active_id].conversation

    def new_chat(self) -> str:
        """Start a conversation with a fresh chat id and make it the active one."""
        chat = self._create()
        self._link.watch(chat.conversation)
        self.active_id = chat.chat_id
        self._changed()
        return chat.chat_id

    def activate(self, chat_id: str) -> None:
        if chat_id not in self._chats:
            raise KeyError(f"no conversation with chat id '{chat_id}'")
        if chat_id != self.active_id:
            self.active_id = chat_id
            self._changed()

    def title(self, chat_id: str) -> str:
        """What the conversation list calls a conversation: the start of its first prompt."""
        chat = self._chats.get(chat_id)
        first = next((m for m in chat.conversation.messages if m.role == "user"), None) if chat else None
        if first is None:
            return NEW_CHAT_TITLE
        text = re.sub(r"\s+", " ", first.text).strip() or NEW_CHAT_TITLE
        if len(text) <= TITLE_LENGTH:
            return text
        cut = text[: TITLE_LENGTH - 1]
        space = cut.rfind(" ")
        # End on a whole word unless that would leave too little of the prompt.
        return (cut[:space] if space > TITLE_LENGTH // 2 else cut).rstrip(" ,;:") + "…"

    def is_idle(self, chat_id: str) -> bool:
        return self._chats[chat_id].idle

    def subscribe(self, listener: ChatsListener) -> Callable[[], None]:
        """Be told when the list of conversations, a title, the active one or a reply state changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _create(self) -> _Chat:
        chat_id = self._new_id()
        while chat_id in self._chats:
            chat_id = self._new_id()
        conversation = Conversation()
        decoder = proto.ChatDecoder(chat_id, max_size=self.config.max_frame)
        chat = _Chat(chat_id, conversation, decoder, PromptQueue(conversation))
        self._chats[chat_id] = chat
        return chat

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                # A broken view must not break the session that feeds it.
                log.exception("a conversation-list listener failed")

    # -- what the transport asks ----------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No prompt waiting or in flight and no reply streaming, in any conversation."""
        return all(chat.idle for chat in self._chats.values())

    @property
    def ticking(self) -> bool:
        """A reply in flight may stall (`tick`'s one rule)."""
        return any(chat.in_flight for chat in self._chats.values())

    # -- lifecycle --------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        # Frames meant for the dead connection go: their requests were marked interrupted.
        self._outbox.clear()
        super().connected(now)

    def _reconnected(self, now: float) -> None:
        # This dialect has nothing to resume: a reconnection is open at once.
        self._link.handle(E.CONNECTED)
        self._record(now, "RECONNECTED", "reconnected (this dialect cannot resume a response)")

    def _after_connect(self, now: float) -> None:
        for chat in self._chats.values():
            self._flush_queue(chat, now)

    def _dropped(self, now: float, reason: str) -> None:
        for chat in self._chats.values():
            chat.abandoned = 0  # a new connection never carries the rest of an old response
            if chat.in_flight:
                self._interrupt(chat, now, "connection lost", "INTERRUPTED")

    # -- the user ---------------------------------------------------------------------------------

    def send_user_message(self, text: str, now: float, chat_id: str | None = None) -> Message:
        """Send `text` in conversation `chat_id` (the active one by default)."""
        chat = self._chats[chat_id or self.active_id]
        first = not any(m.role == "user" for m in chat.conversation.messages)
        message = chat.prompts.add(text, now, link_up=self.live)
        self._flush_queue(chat, now)
        if first:
            self._changed()  # the conversation's title is its first prompt
        return message

    def retry(self, message_id: str, now: float, chat_id: str | None = None) -> Message | None:
        """Ask again what an interrupted reply answered (message ids are per conversation): once."""
        chat = self._chats[chat_id or self.active_id]
        prompt = retry_prompt(chat.conversation, message_id)
        return None if prompt is None else self.send_user_message(prompt, now, chat.chat_id)

    def _flush_queue(self, chat: _Chat, now: float) -> None:
        message = chat.prompts.take(link_up=self.live)
        if message is None:
            return
        text = message.text
        chat.progress_at = now
        frame = proto.user_message(text, chat.chat_id)
        self._outbox.append(frame)
        chat.conversation.record(now, "out", "USER_MESSAGE", text, raw=frame)
        self._changed()

    # -- frames -----------------------------------------------------------------------------------

    def receive(self, raw: str | bytes, now: float) -> None:
        self.frames_in += 1
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        # Parsed once, here: the decoder takes the parsed frame, and a frame of the wrong shape is
        # reported in the conversation its object names.
        try:
            value = proto.load_object(text, self.config.max_frame)
        except proto.FrameError as exc:
            self._error(self._chats[self.active_id], now, str(exc), text)
            return
        try:
            frame = proto.read_frame(value)
        except proto.FrameError as exc:
            self._error(self._owner_of(value), now, str(exc), text)
            return
        chat = self._chats.get(frame.chat_id)
        if chat is None:
            reason = f"frame for chat '{frame.chat_id}', which no conversation of this session owns"
            self._error(self._chats[self.active_id], now, reason, text)
            return
        if frame.tag == "done" and chat.decoder.expects_done_tag():
            # The response already ended with its message; this tag is its end too, not an error.
            chat.decoder.decode_frame(frame, text)
            chat.conversation.record(
                now, "in", "DONE", "end of a response that ended with its message", raw=text
            )
        elif chat.abandoned:
            self._late(chat, frame, now, text)
        elif not chat.in_flight:
            reason = f"'{frame.tag}' frame after the response was done: no request in progress"
            self._error(chat, now, reason, text)
        elif frame.tag == "done" and chat.decoder.stream_id is None:
            chat.conversation.record(now, "in", "DONE", "empty response", raw=text)
            self._interrupt(chat, now, "the agent sent an empty response", "EMPTY_RESPONSE")
            self._after_reply(chat, now)
        else:
            self._apply(chat, frame, text, now)

    def _apply(self, chat: _Chat, frame: proto.ChatFrame, text: str, now: float) -> None:
        events = chat.decoder.decode_frame(frame, text)
        for event in events:
            if isinstance(event, ev.ProtocolError):
                self._error(chat, now, event.reason, event.excerpt)
                return
        sid = chat.decoder.stream_id
        ended = next((e for e in events if isinstance(e, ev.StreamEnd)), None)
        # A text frame's row holds its text alone: the timeline joins a reply's rows into one run.
        summary = frame.chunk if frame.tag != "done" else (ended.stream_id if ended else "")
        chat.conversation.record(
            now,
            "in",
            as_kind(frame.tag.upper()),
            summary,
            raw=text,
            stream_id=sid or (ended.stream_id if ended else None),
        )
        if ended is not None and frame.tag != "done":
            chat.conversation.record(
                now,
                "client",
                "STREAM_END",
                f"{ended.stream_id}: its last frame said done",
                stream_id=ended.stream_id,
            )
        for event in events:
            chat.conversation.apply(event, now)
        chat.progress_at = now
        if ended is not None:
            chat.prompts.in_flight = False
            self._after_reply(chat, now)

    def _late(self, chat: _Chat, frame: proto.ChatFrame, now: float, text: str) -> None:
        chat.conversation.record(
            now, "in", "LATE", f"'{frame.tag}' frame of a response given up earlier: not shown", raw=text
        )
        if frame.tag == "done" or (frame.tag == "message" and frame.done):
            chat.abandoned -= 1
            if frame.tag == "message":
                chat.decoder.late_end()  # a done tag for it may follow: that is its end too

    def _error(self, chat: _Chat, now: float, reason: str, raw: str) -> None:
        # The session's one trace: the row says which conversation the frame concerns.
        chat.conversation.record(now, "in", "PROTOCOL_ERROR", reason, raw=ev.excerpt(raw), ref=chat.chat_id)

    def _owner_of(self, value: JsonObject) -> _Chat:
        """The conversation a bad frame's object names, if it names one; else the active one."""
        chat_id = value.get("chatId")
        if isinstance(chat_id, str) and chat_id in self._chats:
            return self._chats[chat_id]
        return self._chats[self.active_id]

    # -- time -------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for chat in self._chats.values():
            if chat.in_flight and now - chat.progress_at >= self.config.idle_timeout:
                if self.live:
                    chat.abandoned += 1  # its frames may still come on this connection
                self._interrupt(chat, now, f"no data for {self.config.idle_timeout:.0f} s", "STALLED")
                self._after_reply(chat, now)

    # -- helpers ----------------------------------------------------------------------------------

    def _interrupt(self, chat: _Chat, now: float, reason: str, kind: TraceKind) -> None:
        """The reply in progress will not finish: keep what arrived, mark it interrupted, allow retry."""
        chat.decoder.interrupt()
        message = chat.conversation.mark_interrupted(reason, now)
        chat.prompts.in_flight = False
        chat.conversation.record(
            now, "client", kind, f"reply interrupted: {reason}", ref=message.id if message else None
        )
        self._changed()

    def _after_reply(self, chat: _Chat, now: float) -> None:
        self._flush_queue(chat, now)
        self._changed()

    # The link's rows go to the session's one trace (`Lifecycle._record`); a notice goes to each
    # conversation, as notices are a conversation's.

    def _notify(self, level: Level, text: str) -> None:
        for chat in self._chats.values():
            chat.conversation.notice(level, text)


# -- saved ideas ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedIdea:
    text: str
    message_id: str
    component_id: str


def saved_ideas(conversation: Conversation) -> list[SavedIdea]:
    """The ideas of a conversation that arrived whole, in order (an idea cut by a drop is not saved)."""
    return [
        idea
        for message in conversation.messages
        for block in message.blocks
        if (idea := saved_idea(message, block))
    ]


def saved_idea(message: Message, block: Block) -> SavedIdea | None:
    """The saved idea `block` is: an idea component that arrived whole, with text."""
    if isinstance(block, ComponentBlock) and block.type == proto.IDEA_COMPONENT and block.complete:
        text = block.fields.get("text")
        if isinstance(text, str) and (text := text.strip()):
            return SavedIdea(text, message.id, block.component_id)
    return None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def markdown_escape(text: str) -> str:
    """Upstream text as literal Markdown: one line, with the characters that would format escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text).strip())


def ideas_markdown(title: str, ideas: list[SavedIdea]) -> str:
    lines = [f"# Ideas: {markdown_escape(title)}", ""]
    lines += [f"- {markdown_escape(idea.text)}" for idea in ideas] or ["_No ideas saved yet._"]
    return "\n".join(lines) + "\n"
