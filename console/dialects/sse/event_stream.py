"""Event-stream framing, sans-I/O (https://html.spec.whatwg.org/multipage/server-sent-events.html).

`SSEDecoder.decode(chunk)` returns the events a chunk of text completed: CRLF, CR or LF line ends,
multi-line `data:`, `id:`, `retry:`, comments, a field split across chunks. It knows nothing of
conversations.

A line, and the data of one event, are bounded (`max_line`, `max_event`): a server that sends a line
that never ends would otherwise be buffered whole (hundreds of megabytes). Past a bound the decoder
drops what it buffered and sets `broken` to the reason, after returning the events completed before
it; it takes nothing more from this stream. The transport treats the stream as broken (a protocol
error on the timeline, then a reconnection with backoff); `flush` makes the decoder ready for the next.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import NoReturn

DEFAULT_MAX_LINE = 8 * 1024 * 1024 + 1024  # an 8 MB data field (a photo as a data: URL) must pass
DEFAULT_MAX_EVENT = 8 * 1024 * 1024 + 1024


class _TooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. `id` is the last event id in force (it persists across events);
    `retry` is set when this event's block carried a valid `retry:` field."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Incremental event-stream decoder: `decode(chunk)` returns the events the chunk completed.

    A CR ending a chunk ends the line at once (no waiting for the next chunk to see whether an LF
    follows); an LF opening the next chunk is then skipped as the second half of that CRLF.
    """

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE, max_event: int = DEFAULT_MAX_EVENT) -> None:
        self.max_line = max_line
        self.max_event = max_event
        self._partial: list[str] = []  # the line being received
        self._partial_size = 0
        self._data_size = 0
        self.broken: str | None = None  # why this stream can be framed no further
        self._skip_lf = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._retry_pending: int | None = None
        self._has_fields = False
        self._id_buffer = ""
        self.last_event_id = ""
        self.retry: int | None = None  # the reconnection time the server asked for, in ms
        self.comments = 0

    @property
    def pending(self) -> bool:
        """Whether an event has begun but not been dispatched (the stream would end mid-event)."""
        return bool(self._partial) or self._has_fields

    def decode(self, chunk: str) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if self.broken is None:
            with contextlib.suppress(_TooLarge):  # `broken` says why; the events before it stand
                self._decode(chunk, events)
        return events

    def _decode(self, chunk: str, events: list[ServerSentEvent]) -> None:
        if not self._started and chunk:
            self._started = True
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            chunk = chunk.removeprefix("\ufeff")
        if self._skip_lf and chunk:
            self._skip_lf = False
            chunk = chunk.removeprefix("\n")
        start = 0
        length = len(chunk)
        while start < length:
            end = _line_end(chunk, start)
            if end < 0:
                self._hold(chunk[start:])
                break
            piece = chunk[start:end]
            if self._partial:
                self._hold(piece)
                piece = "".join(self._partial)
                self._partial.clear()
                self._partial_size = 0
            elif len(piece) > self.max_line:
                self._too_large(f"a line of {len(piece):,} characters", self.max_line)
            event = self._line(piece)
            if event is not None:
                events.append(event)
            start = end + 1
            if chunk[end] == "\r":
                if start < length and chunk[start] == "\n":
                    start += 1
                elif start == length:
                    self._skip_lf = True

    def _hold(self, piece: str) -> None:
        """Keep the start of a line whose end has not come yet, within the line limit."""
        self._partial_size += len(piece)
        if self._partial_size > self.max_line:
            self._too_large(f"a line of over {self._partial_size:,} characters", self.max_line)
        self._partial.append(piece)

    def _too_large(self, what: str, limit: int) -> NoReturn:
        self._partial.clear()
        self._partial_size = 0
        self._reset_event()
        self.broken = f"{what} exceeds the {limit:,}-character limit"
        raise _TooLarge

    def flush(self) -> list[ServerSentEvent]:
        """End of stream. "If the file ends in the middle of an event, before the final empty line, the
        incomplete event is not dispatched": so this returns no event, and resets for a new stream (the
        last event id and retry are kept, as a reconnect needs them)."""
        self._partial.clear()
        self._partial_size = 0
        self.broken = None
        self._skip_lf = False
        self._started = False
        self._id_buffer = self.last_event_id  # the id of an event never dispatched does not count
        self._reset_event()
        return []

    def _reset_event(self) -> None:
        self._event = ""
        self._data.clear()
        self._data_size = 0
        self._retry_pending = None
        self._has_fields = False

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._has_fields = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self.max_event:
                self._too_large(f"an event of over {self._data_size:,} characters of data", self.max_event)
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
            self._retry_pending = self.retry
        # Any other field is ignored, as the spec says.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        # The id takes effect at the blank line, even for an event without data: a reconnect must not
        # claim an event whose block never completed.
        self.last_event_id = self._id_buffer
        has_data = bool(self._data)
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self.last_event_id,
            retry=self._retry_pending,
        )
        self._reset_event()
        # "If the data buffer is an empty string, set the data buffer and the event type buffer to the
        # empty string and return." (a `data:` line with no value still counts as data.)
        return event if has_data else None


def _line_end(text: str, start: int) -> int:
    lf = text.find("\n", start)
    cr = text.find("\r", start, lf if lf >= 0 else len(text))
    return cr if cr >= 0 else lf
