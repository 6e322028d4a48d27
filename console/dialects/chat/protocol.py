"""The chat WebSocket dialect (docs/protocols/chat.md), sans-I/O.

Client frame: `{"message", "chatId"}`. Server frames, one entry at a time:

    {"tag": "message" | "idea", "chunk": str, "chatId": str, "done"?: bool}
    {"chatId": str, "tag": "done"}            # after every response (optional: some servers send it)

"a chunk of the bot's response ... done: whether the current key-value entry (message or idea) is
complete". A response is zero or more ideas then one message; each entry arrives as chunks that
accumulate until one with `done: true`. The wire carries no entry or response ids, so the decoder
keeps that state itself and names each response with a stream id of its own.

Theory of operation
-------------------
`ChatDecoder(chat_id).decode(text)` returns the normalized events of one frame, for one chatId
(`decode_frame(frame)` does the same for a frame parsed already: a session parses each frame once, to
find the conversation it is for, and hands the parsed frame on):

* the first entry frame of a response opens it: `MessageStart(stream_id)`;
* message chunks are `TextDelta`s; the message chunk that says `done` ends the response
  (`StreamEnd`): "one message per response, after any ideas";
* idea chunks open an "idea" component (`ComponentStart`) unless one is open, then append their
  chunk to its text (`ComponentField("text", chunk, append=True)`: never the whole idea so far, which
  would make a long idea cost the square of its chunks); `done` closes it (`ComponentEnd`). An idea
  chunk right after a closed idea opens the next idea: that is how two ideas are told apart. Ideas
  are accepted after the message too (the dialect puts them before it): shown, not lost;
* the `done` tag (optional: sent by some servers) closes whatever is still open and ends the
  response (`StreamEnd`), whichever of the two comes first. A done tag right after a response that
  ended with its message is that response's, and decodes to nothing.

Nothing raises: a frame that is not JSON, not an object, for another chatId, of an unknown tag,
missing or mistyping a field, refused by the rules above or over the size limit becomes one
`ProtocolError`, and leaves the decoder's state as it was, so one bad frame never corrupts the
conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from console import jsonvalue
from console.dialects.fields import FrameError as FrameError  # part of this dialect's API
from console.dialects.fields import require_str, type_name
from console.events import (
    ComponentEnd,
    ComponentField,
    ComponentStart,
    Event,
    MessageStart,
    ProtocolError,
    StreamEnd,
    TextDelta,
    excerpt,
)
from console.jsonvalue import JsonObject

DEFAULT_MAX_FRAME = 1024 * 1024  # chunks are small by design; a megabyte frame is a broken server
IDEA_COMPONENT = "idea"
ENTRY_TAGS = frozenset({"message", "idea"})


def user_message(message: str, chat_id: str) -> str:
    """The client frame that asks for a response in conversation `chat_id`."""
    return jsonvalue.dumps({"message": message, "chatId": chat_id})


@dataclass(frozen=True, slots=True)
class ChatFrame:
    """A server frame that passed validation: `tag` is "message", "idea" or "done"."""

    tag: str
    chat_id: str
    chunk: str
    done: bool


def load_object(raw: str, max_size: int = DEFAULT_MAX_FRAME) -> JsonObject:
    """The JSON object of one frame; raises `FrameError` with the reason."""
    if len(raw) > max_size:
        raise FrameError(f"frame of {len(raw)} chars exceeds the {max_size}-char limit")
    try:
        value = jsonvalue.loads(raw)
    except jsonvalue.JsonDecodeError as exc:
        raise FrameError(f"malformed JSON: {exc}") from None
    if jsonvalue.nesting_exceeds(raw, value):
        raise FrameError(f"JSON nested deeper than {jsonvalue.MAX_DEPTH} levels")
    if not isinstance(value, dict):
        raise FrameError(f"frame is a JSON {type_name(value)}, not an object")
    return value


def parse_frame(raw: str, max_size: int = DEFAULT_MAX_FRAME) -> ChatFrame:
    """Validate one server frame's shape; raises `FrameError` with the reason."""
    return read_frame(load_object(raw, max_size))


def read_frame(value: JsonObject) -> ChatFrame:
    """Validate the shape of a server frame's JSON object; raises `FrameError` with the reason."""
    tag = require_str(value, "tag")
    chat_id = require_str(value, "chatId")
    if tag == "done":
        return ChatFrame("done", chat_id, "", True)
    if tag not in ENTRY_TAGS:
        raise FrameError(f"unknown tag '{tag}'")
    chunk = require_str(value, "chunk")
    done = value.get("done", False)
    # `done?: boolean`: null is read as absent, anything else that is not a boolean is a broken frame.
    if done is None:
        done = False
    if not isinstance(done, bool):
        raise FrameError(f"field 'done' must be a boolean, got {type_name(done)}")
    return ChatFrame(tag, chat_id, chunk, done)


@dataclass(slots=True)
class _Response:
    stream_id: str
    ideas: int = 0
    idea_open: bool = False
    message_done: bool = False

    @property
    def idea_id(self) -> str:
        return f"{self.stream_id}/idea-{self.ideas}"


class ChatDecoder:
    """Decodes the server frames of one conversation (one chatId) into normalized events."""

    def __init__(
        self, chat_id: str, *, stream_prefix: str | None = None, max_size: int = DEFAULT_MAX_FRAME
    ) -> None:
        self.chat_id = chat_id
        self.max_size = max_size
        self._prefix = stream_prefix if stream_prefix is not None else f"chat-{chat_id}"
        self._responses = 0
        self._current: _Response | None = None
        self._ended_by_message = False  # a done tag may still follow the response that just ended

    @property
    def stream_id(self) -> str | None:
        """The stream id of the response in progress, if one is."""
        return self._current.stream_id if self._current else None

    def interrupt(self) -> str | None:
        """Forget the response in progress (the connection was lost: this dialect cannot resume it).

        Returns its stream id so the caller can mark that message interrupted; the next frame opens a
        new response with a new stream id, so late text never lands in the abandoned message.
        """
        current, self._current = self._current, None
        return current.stream_id if current else None

    def decode(self, text: str | bytes) -> list[Event]:
        """The events of one server frame. Never raises."""
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        try:
            frame = parse_frame(raw, self.max_size)
        except FrameError as exc:
            return [ProtocolError(str(exc), excerpt(raw))]
        return self.decode_frame(frame, raw)

    def decode_frame(self, frame: ChatFrame, raw: str) -> list[Event]:
        """The events of one server frame parsed already (`raw` is its text, for an error's excerpt)."""
        try:
            if frame.chat_id != self.chat_id:
                raise FrameError(f"frame for chat '{frame.chat_id}', this conversation is '{self.chat_id}'")
            if frame.tag == "done" and self._current is None and self._ended_by_message:
                self._ended_by_message = False
                return []
            self._ended_by_message = False
            if frame.tag == "done":
                return self._end()
            if frame.tag == "message":
                return self._message(frame)
            return self._idea(frame)
        except FrameError as exc:
            return [ProtocolError(str(exc), excerpt(raw))]

    # -- state transitions: each checks before it changes anything ---------------------------

    def _open(self) -> tuple[_Response, list[Event]]:
        if self._current is not None:
            return self._current, []
        self._responses += 1
        self._current = _Response(f"{self._prefix}:{self._responses}")
        return self._current, [MessageStart(self._current.stream_id)]

    def _message(self, frame: ChatFrame) -> list[Event]:
        response, events = self._open()
        # An open idea is over once another entry begins: entries do not interleave on the wire.
        events += self._close_idea(response)
        if frame.chunk:
            events.append(TextDelta(response.stream_id, frame.chunk))
        if frame.done:  # the one message is complete: so is the response
            self._current = None
            self._ended_by_message = True
            events.append(StreamEnd(response.stream_id))
        return events

    def late_end(self) -> None:
        """A response given up on ended with its message (frames the engine set aside)."""
        self._current = None
        self._ended_by_message = True

    def expects_done_tag(self) -> bool:
        """The last response ended with its message, and a done tag for it may still come."""
        return self._current is None and self._ended_by_message

    def _idea(self, frame: ChatFrame) -> list[Event]:
        response, events = self._open()
        if not response.idea_open:
            response.ideas += 1
            response.idea_open = True
            events.append(ComponentStart(response.stream_id, response.idea_id, IDEA_COMPONENT))
            # The field exists from the first chunk on, even an empty one.
            events.append(ComponentField(response.stream_id, response.idea_id, "text", frame.chunk))
        elif frame.chunk:
            events.append(
                ComponentField(response.stream_id, response.idea_id, "text", frame.chunk, append=True)
            )
        if frame.done:
            events += self._close_idea(response)
        return events

    def _close_idea(self, response: _Response) -> list[Event]:
        if not response.idea_open:
            return []
        response.idea_open = False
        return [ComponentEnd(response.stream_id, response.idea_id)]

    def _end(self) -> list[Event]:
        if self._current is None:
            raise FrameError("done tag with no response in progress")
        response, self._current = self._current, None
        return [*self._close_idea(response), StreamEnd(response.stream_id)]


# -- the server's side of the dialect (used by the simulator) ------------------------------------


@dataclass(frozen=True, slots=True)
class UserMessage:
    message: str
    chat_id: str


def parse_user_message(raw: str | bytes, max_size: int = DEFAULT_MAX_FRAME) -> UserMessage:
    """Validate a client frame `{"message", "chatId"}`; raises `FrameError` with the reason."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    value = load_object(text, max_size)
    return UserMessage(require_str(value, "message"), require_str(value, "chatId"))


def entry_frame(tag: str, chunk: str, chat_id: str, done: bool = False) -> str:
    """One chunk of an idea or message entry; `done` only on the entry's last chunk, as the dialect says."""
    frame: JsonObject = {"tag": tag, "chunk": chunk, "chatId": chat_id}
    if done:
        frame["done"] = True
    return jsonvalue.dumps(frame)


def done_frame(chat_id: str) -> str:
    """The end-of-response frame."""
    return jsonvalue.dumps({"chatId": chat_id, "tag": "done"})
