"""One WebSocket connection: an asyncio protocol around websockets' sans-I/O client.

websockets' asyncio connection hands every message to a reader task through a queue and a future,
and every send is a coroutine that waits for the write buffer. At 1,000 sessions that machinery cost
more CPU than decoding and applying the frames. Here each complete message goes from
`data_received` straight to a callback, in arrival order, and whatever the protocol has to write
(the frames we send, answers to WebSocket pings, the closing handshake) is written at once.
Frames are small; the kernel's and the transport's buffers absorb them, so there is no backpressure.

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
from collections.abc import Callable
from typing import cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

Message = str | bytes
CLOSE_TIMEOUT = 5.0  # seconds for the server to answer our close frame before the socket is cut
PING_INTERVAL = 20.0  # seconds of silence from the server before a WebSocket ping
PING_TIMEOUT = 20.0  # seconds after that ping before a silent connection is given up


class LinkFailed(InvalidHandshake):
    """The TCP connection ended before the WebSocket handshake completed."""


class Link(asyncio.Protocol):
    """A client connection: messages to `on_message` once started, in order; `send` to write one."""

    def __init__(self, protocol: ClientProtocol, on_message: Callable[[Message], None]) -> None:
        self.protocol = protocol
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.error: BaseException | None = None  # raised by `on_message`: the session's, not the link's
        self._transport: asyncio.Transport | None = None
        self._fragments: list[bytes] = []
        self._text = True  # the opcode of the message being reassembled
        self._early: list[Message] | None = []  # what arrived before `start`, None after it
        self.ping_interval = PING_INTERVAL
        self.ping_timeout = PING_TIMEOUT
        self._heard_at = time.monotonic()  # the last byte from the server
        self._pinged_at: float | None = None  # a ping waits for any answer since then
        self._close_timer: asyncio.TimerHandle | None = None  # cuts a closing handshake left unanswered

    def start(self) -> None:
        """The session is ready: deliver what came with the handshake, then every message on arrival."""
        early, self._early = self._early or [], None
        for message in early:
            self._hand_over(message)

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
        if self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(text.encode())
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
            self._transport.abort()

    def keepalive(self, now: float) -> None:
        """Ping a silent server; give up on one that stays silent (call it a few times a second)."""
        if self.protocol.state is not State.OPEN:
            return
        if self._pinged_at is None:
            if now - self._heard_at >= self.ping_interval:
                self.protocol.send_ping(b"keepalive")
                self._write()
                self._pinged_at = now
        elif now - self._pinged_at >= self.ping_timeout:
            self.abort()

    async def wait_closed(self) -> None:
        """Until the connection has ended; raises what `on_message` raised, if it did."""
        await asyncio.shield(self.lost)
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
        self.protocol.send_request(self.protocol.connect())
        self._write()

    def data_received(self, data: bytes) -> None:
        self._heard_at = time.monotonic()
        self._pinged_at = None  # any byte answers the ping: the server is there
        self.protocol.receive_data(data)
        events = self.protocol.events_received()
        self._write()
        for event in events:
            if isinstance(event, Frame):
                self._frame(event)
            elif not self.opened.done():  # the handshake's response
                if self.protocol.handshake_exc is None:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(self.protocol.handshake_exc)
            if self.error is not None:
                return

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self.protocol.events_received()
        self._write()

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.opened.done():
            self.opened.set_exception(LinkFailed(f"connection closed during the handshake: {exc or 'EOF'}"))
            self.opened.exception()  # retrieved: nobody may be waiting any more
        self._fragments.clear()
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.lost.set_result(None)

    # -- internals ----------------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        data = frame.data if type(frame.data) is bytes else bytes(frame.data)
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._deliver(data, opcode is Opcode.TEXT)
                return
            self._text = opcode is Opcode.TEXT
            self._fragments = [data]
        elif opcode is Opcode.CONT:
            self._fragments.append(data)
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._text)
        # PING, PONG and CLOSE: the protocol has answered them already.

    def _deliver(self, data: bytes, text: bool) -> None:
        if text:
            try:
                message: Message = data.decode()
            except UnicodeDecodeError:
                self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text frame")
                self._write()
                return
        else:
            message = data
        if self._early is not None:
            self._early.append(message)
            return
        self._hand_over(message)

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
        if self.protocol.state is State.CLOSING and self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.abort)
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()


async def open_link(
    url: str, on_message: Callable[[Message], None], *, open_timeout: float, max_size: int
) -> Link:
    """Connect and complete the handshake within `open_timeout` seconds."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, max_size=max_size)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(open_timeout):
        _, link = await loop.create_connection(
            lambda: Link(protocol, on_message),
            uri.host,
            uri.port,
            ssl=True if uri.secure else None,
            server_hostname=uri.host if uri.secure else None,
        )
        try:
            await link.opened
        except BaseException:
            link.abort()
            raise
    return link
