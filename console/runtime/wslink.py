"""One WebSocket connection: an asyncio protocol around websockets' sans-I/O client.

websockets' asyncio connection hands every message to a reader task through a queue and a future,
and every send is a coroutine that waits for the write buffer. At 1,000 sessions that machinery cost
more CPU than decoding and applying the frames. Here each complete message goes to a callback, in
arrival order, and whatever the protocol has to write (the frames we send, answers to WebSocket pings,
the closing handshake) is written at once.

A flood must not hold the event loop: one read can bring thousands of small frames, and applying them
all in one callback stalled every other session for seconds. The bytes read are parsed and the
messages applied a slice at a time (`SLICE_SECONDS` of work per loop iteration); reading pauses while
more than `BACKLOG_BYTES` wait, so a flood costs bounded memory and the server's writes back up
instead; a link busy with a flood works a slice per turn of the loop, and everything else that is
ready runs between two of its slices. Parsing runs ahead of applying, and `peek` sees each message as
soon as it is parsed: that is how a heartbeat is answered before the flood queued in front of it has
been applied.

Bytes read become whole messages in `wsframes.Framer` (which frames data itself: websockets' parser
costs too much per frame at hundreds of sessions). A small read with nothing queued is applied at
once, without the queues of a slice, its messages handed over together (`on_messages`).

A dense stream is read a few frames at a time (`console/runtime/gather.py`): a link whose reads come
close together stops reading until the loop's next gathering tick, at most 50 ms away, so one read
and one turn of the loop carry what arrived meanwhile; a frame after a quiet spell is read at once.
A link nobody watches live (`watch` says so; a plain TCP stream, not TLS) goes further: its socket is
read by the loop's poller (`console/runtime/polled.py`), every tenth of a second (a fifth when there
are hundreds) together with every other such socket, so that one wake of the loop carries the frames
of many links.

A server that ignores our closing handshake (sent when we close, or when its data broke the protocol:
invalid UTF-8 in a text frame, a frame over the size limit) is cut off after `CLOSE_TIMEOUT` seconds,
so the client reconnects instead of waiting for it forever.

A peer that vanishes without closing the socket (a half-open TCP connection) is found by WebSocket
pings: after `PING_INTERVAL` seconds without a byte from the server the link pings, and if nothing at
all arrives in the `PING_TIMEOUT` seconds after that, it cuts the connection so the client reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Final, Protocol, cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import CloseCode
from websockets.protocol import State

from console.runtime import gather, polled
from console.runtime.wsframes import Framer, Message, masked_text

CLOSE_TIMEOUT = 5.0  # seconds for the server to answer our close frame before the socket is cut
PING_INTERVAL = 20.0  # seconds of silence from the server before a WebSocket ping
PING_TIMEOUT = 20.0  # seconds after that ping before a silent connection is given up
SLICE_SECONDS = 0.005  # work on received messages per loop iteration
PARSE_BYTES = 64 * 1024  # bytes parsed at a time
PARSE_SECONDS = 0.002  # parsing ahead per slice (at least one piece of PARSE_BYTES)
BACKLOG_BYTES = 4 * 1024 * 1024  # received and not applied yet, past which reading pauses
# Read at every write and frame sent: an enum member read from its class goes through the metaclass.
_OPEN: Final = State.OPEN
_CLOSING: Final = State.CLOSING
DIRECT_BYTES = 2048  # a read up to this size (a few frames), with nothing queued, is applied in its callback


class Watch(Protocol):
    """Whether someone watches the link's session live (an attribute: read at every read)."""

    @property
    def watched(self) -> bool: ...


class LinkFailed(InvalidHandshake):
    """The TCP connection ended before the WebSocket handshake completed."""


class Link(asyncio.Protocol):
    """A client connection: messages to `on_message` once started, in order; `send` to write one."""

    def __init__(
        self,
        protocol: ClientProtocol,
        on_message: Callable[[Message], None],
        peek: Callable[[Message], None] | None = None,
        max_size: int | None = None,
        watch: Watch | None = None,
        on_messages: Callable[[list[Message]], None] | None = None,
    ) -> None:
        # Read at every read, so set first: an instance keeps its attributes in the order they were
        # first set, and these then share the first cache lines of them (at hundreds of sessions a
        # link is cold in the caches when its next read comes).
        self._heard_at = time.monotonic()  # the last byte from the server
        self._pinged_at: float | None = None  # a ping waits for any answer since then
        self._handshaking = True  # until `opened` is done (an attribute: read at every read)
        self._polled = False  # the poller reads the socket: the transport does not
        # Says whether someone watches the session live (a page showing it stream): its frames are
        # then read at once. Asked at every read; without it, the link is always read at once.
        self.watch = watch
        self._read_at = 0.0  # monotonic time of the previous read
        self._started = False  # messages are held until the session is ready for them
        self._scheduled = False  # a slice is due
        self._raw: deque[bytes] = deque()  # read, not parsed yet
        self._backlog: deque[Message] = deque()  # parsed, not applied yet
        self.error: BaseException | None = None  # raised by `on_message`: the session's, not the link's
        self._direct = False  # parsing a read that is applied at once: no peeking ahead
        self._framer = Framer(
            protocol, max_size, emit=self._accept, write=self._write, handshake=self._opened
        )
        # Given, it takes the messages of a read applied at once (of at most `DIRECT_BYTES`) together,
        # in order, instead of `on_message` for each: a read on the poller's tick carries three or four.
        self.on_messages = on_messages
        self.protocol = protocol
        self.max_size = max_size
        self.on_message = on_message
        self.peek = peek  # sees each message when it is parsed, before the ones ahead are applied
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._pending_bytes = 0  # in `_raw` and `_backlog`
        self._paused = False  # reading paused: too much waits
        self._eof = False  # the server's end of the stream, to be parsed after what came before it
        self._idle = asyncio.Event()  # nothing waits to be applied
        self.ping_interval = PING_INTERVAL
        self.ping_timeout = PING_TIMEOUT
        self._close_timer: asyncio.TimerHandle | None = None  # cuts a closing handshake left unanswered
        self._gatherer = gather.gatherer()
        self._gathering = False  # reading stopped until the gatherer's tick: a dense stream
        self._reading = True  # what the transport was last told
        self._poller = polled.poller()
        self._fd: int | None = None  # the socket, if the poller may read it (a plain TCP stream)

    def start(self) -> None:
        """The session is ready: deliver what came with the handshake, then every message on arrival."""
        self._started = True
        if self.peek is not None:
            for message in list(self._backlog):
                self._peek(message)
        self._work()

    # -- what the client uses -----------------------------------------------------------------------

    @property
    def reason(self) -> str:
        """Why the connection ended, for the trace."""
        received = self.protocol.close_rcvd
        if received is not None:
            return f"closed by server ({received.code})"
        sent = self.protocol.close_sent
        if sent is not None and sent.code not in (CloseCode.NORMAL_CLOSURE, 4000):
            return f"closed by client ({sent.code}: {sent.reason})"
        return "connection lost"

    def send(self, text: str) -> bool:
        """Send a text message; False once the connection is closing (the caller keeps it)."""
        protocol = self.protocol
        if protocol.state is not _OPEN:
            return False
        transport = self._transport
        if transport is not None and not protocol.extensions and not protocol.expect_continuation_frame:
            # What `send_text` would write, framed here (`wsframes.masked_text`): the protocol holds
            # nothing unwritten (every call to it is followed by `_write`), so the order is kept.
            transport.write(masked_text(text.encode()))
            return True
        protocol.send_text(text.encode())
        self._write()
        return True

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """The closing handshake; the socket is cut if the server does not finish it in time."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._write()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.lost), CLOSE_TIMEOUT)
        self.abort()

    def abort(self) -> None:
        """Cut the connection as a network failure would (no close frame)."""
        if self._transport is not None:
            self._unpoll()
            self._transport.abort()

    def hold(self, size: int) -> None:
        """The session holds `size` more (or, negative, fewer) bytes of this link's messages that it
        has not applied yet: they count towards the backlog that pauses reading."""
        self._pending_bytes += size
        self._flow_control()

    def keepalive(self, now: float) -> None:
        """Ping a silent server; give up on one that stays silent (call it a few times a second)."""
        if self._pinged_at is None and not self._paused and now - self._heard_at < self.ping_interval:
            return  # heard from lately: the common case, at every tick of every session
        if self.protocol.state is not State.OPEN:
            return
        if self._paused:
            self._heard_at = now  # we stopped reading, not the server writing
        if self._pinged_at is None:
            if now - self._heard_at >= self.ping_interval:
                self.protocol.send_ping(b"keepalive")
                self._write()
                self._pinged_at = now
        elif now - self._pinged_at >= self.ping_timeout:
            self.abort()

    def keepalive_in(self, now: float) -> float:
        """Seconds from `now` until `keepalive` may have something to do (a ping due, or its answer
        overdue): when the link's tick is needed at the latest."""
        if self._pinged_at is not None:
            return self._pinged_at + self.ping_timeout - now
        return self._heard_at + self.ping_interval - now

    async def wait_closed(self) -> None:
        """Until the connection has ended and what it brought is applied; raises what `on_message`
        raised, if it did."""
        await asyncio.shield(self.lost)
        while self._started and self.error is None and (self._raw or self._backlog or self._eof):
            self._idle.clear()
            self._work()
            await self._idle.wait()
        if self.error is not None:
            raise self.error

    def fail(self, error: BaseException) -> None:
        """The session could not take a message: end the connection and report it."""
        if self.error is None:
            self.error = error
        self.abort()

    # -- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's do not derive from asyncio.Transport, hence not isinstance).
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if polled.AVAILABLE and sock is not None and transport.get_extra_info("sslcontext") is None:
            self._fd = sock.fileno()  # plain bytes on the socket: the poller may read them
        self.protocol.send_request(self.protocol.connect())
        self._write()

    def data_received(self, data: bytes) -> None:
        now = self._heard_at = time.monotonic()
        self._pinged_at = None  # any byte answers the ping: the server is there
        if self._handshaking:
            self._framer.feed_handshake(data)
            return
        if not self._polled or self.watch is None or self.watch.watched:
            self._pace(now)  # else read by the poller, and nobody watches yet: it stays so
        self._read_at = now
        if (
            self._started
            and not self._scheduled
            and not self._raw
            and not self._backlog
            and len(data) <= DIRECT_BYTES
            and self.error is None
        ):
            # The common case at hundreds of sessions: a frame or two, nothing waiting ahead of them
            # (so nothing to peek past either).
            # Nothing of it is counted as waiting (a large message is, when it is queued: `hold`
            # controls the flow then), so the flow needs no second look here.
            self._direct = True  # each message is applied as it is parsed (`_accept`)
            framer = self._framer
            try:
                if framer.fast:
                    framer.frames(data)
                else:
                    framer.receive(data)
            finally:
                self._direct = False
            return
        self._raw.append(data)
        self._pending_bytes += len(data)
        self._work()

    def eof_received(self) -> None:
        self._eof = True
        self._work()

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._unpoll()
        self._handshaking = False
        if not self.opened.done():
            self._end_of_stream()
            self.opened.set_exception(LinkFailed(f"connection closed during the handshake: {exc or 'EOF'}"))
            self.opened.exception()  # retrieved: nobody may be waiting any more
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._transport = None
        if not self._started or self.error is not None:
            self._end_of_stream()
        self.lost.set_result(None)
        self._work()

    # -- flow: a slice of work per loop iteration ---------------------------------------------------

    def _work(self) -> None:
        """Work on what was received now, unless a slice is due anyway."""
        if not self._scheduled:
            self._slice()

    def _slice(self) -> None:
        self._scheduled = False
        if not self._started or self.error is not None:
            self._idle.set()
            return
        started = time.perf_counter()
        deadline = started + SLICE_SECONDS
        parsed = 0
        # Parse ahead of applying, for a bounded time: heartbeats in what is parsed are seen at once.
        # Bounded by time, not bytes: 64 KB is 800 small frames but a few dozen large ones, and a
        # PING behind megabytes of large frames waited 64 KB a slice to be seen (3.2 s under load).
        while (
            self._raw
            and (not parsed or time.perf_counter() - started < PARSE_SECONDS)
            and len(self._backlog) < 100_000
            and self.error is None
        ):
            chunk = self._raw.popleft()
            if len(chunk) > PARSE_BYTES:
                chunk, rest = chunk[:PARSE_BYTES], chunk[PARSE_BYTES:]
                self._raw.appendleft(rest)
            self._pending_bytes -= len(chunk)
            parsed += len(chunk)
            self._framer.feed(chunk)
        if self._eof and not self._raw:
            self._end_of_stream()
        backlog = self._backlog
        while backlog and self.error is None:
            message = backlog.popleft()
            self._pending_bytes -= len(message)
            self._hand_over(message)
            if time.perf_counter() >= deadline:
                break
        more = (bool(self._raw) or bool(backlog)) and self.error is None
        if more:
            # The next slice in the next turn of the loop: whatever else is ready by then (other
            # sessions, pages, a scrape) runs in between. Not after a pause as long again: that left
            # the loop idle half the time of a flood with nothing else to do, and doubled how long
            # a PING behind the flood waited for the server's backed-up writes to be read.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._slice)
        else:
            self._idle.set()
        self._flow_control()

    def _flow_control(self) -> None:
        over = self._pending_bytes > BACKLOG_BYTES
        if over != self._paused:
            self._paused = over
            if over:
                self._unpoll()  # nobody reads until the backlog is applied
            self._read_or_not()

    def _pace(self, now: float) -> None:
        """After a read: how the next one comes (at once, at the gathering tick, by the poller)."""
        watch = self.watch
        if self._fd is not None and watch is not None and not watch.watched and not self._paused:
            if not self._polled:  # nobody watches live: read on the poller's tick with the others
                self._polled = True
                self._poller.add(self._fd, self)
                self._read_or_not()
            return
        if self._polled:  # watched again: reading is the transport's
            self._unpoll()
            self._read_or_not()
        if now - self._read_at < gather.WINDOW and not self._gathering:
            # A dense stream: the frames of the next few milliseconds are read together.
            self._gathering = True
            self._gatherer.wait(self._gathered)
            self._read_or_not()

    # -- the poller (console/runtime/polled.py) ------------------------------------------------------

    @property
    def closing(self) -> bool:
        """The transport is closing or gone: its socket must not be read any more."""
        transport = self._transport
        return transport is None or transport.is_closing()

    polled_read = data_received  # the poller's read is the transport's (one call less per read)

    def polled_end(self) -> None:
        self._polled = False
        self._read_or_not()

    def _unpoll(self) -> None:
        if self._polled:
            self._polled = False
            if self._fd is not None:
                self._poller.remove(self._fd, self)

    def _gathered(self) -> None:
        """The gatherer's tick: read what came meanwhile (a frame within `WINDOW` of now keeps the
        stream gathered: the read that follows at once is no sign of a quiet spell)."""
        self._gathering = False
        self._read_at = time.monotonic()
        self._read_or_not()

    def _read_or_not(self) -> None:
        """Tell the transport whether to read: not while too much waits, nor while gathering, nor
        while the poller reads for it."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        reading = not self._paused and not self._gathering and not self._polled
        if reading != self._reading:
            self._reading = reading
            if reading:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def _end_of_stream(self) -> None:
        if self._eof:
            self._eof = False
            self._framer.end_of_stream()

    # -- internals ----------------------------------------------------------------------------------

    def _opened(self, failure: BaseException | None) -> None:
        """The handshake's response was read: the link is open, or `failure` says why not."""
        self._handshaking = False
        if self.opened.done():
            return
        if failure is None:
            self.opened.set_result(None)
        else:
            self.opened.set_exception(failure)

    def _accept(self, messages: list[Message]) -> None:
        """Whole messages parsed: they wait their turn, and are peeked at now; in a read applied at
        once, nothing waits ahead of them, so they are applied now."""
        if self._direct:
            on_messages = self.on_messages
            if on_messages is None:
                for message in messages:
                    self._hand_over(message)
            elif self.error is None:
                try:
                    on_messages(messages)
                except Exception as exc:
                    self.fail(exc)
            return
        for message in messages:
            self._backlog.append(message)
            self._pending_bytes += len(message)
            if self._started and self.peek is not None:
                self._peek(message)

    def _peek(self, message: Message) -> None:
        assert self.peek is not None
        try:
            self.peek(message)
        except Exception as exc:
            self.fail(exc)

    def _hand_over(self, message: Message) -> None:
        if self.error is not None:
            return
        try:
            self.on_message(message)
        except Exception as exc:
            self.fail(exc)

    def _write(self) -> None:
        transport = self._transport
        if transport is None:
            return
        if self.protocol.state is _CLOSING and self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.abort)
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                self._unpoll()
                transport.close()
