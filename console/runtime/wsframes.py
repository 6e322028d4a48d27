"""Bytes read on a WebSocket client connection -> whole messages, in order (`Framer`).

Data frames are framed here, not by websockets' parser (a generator per frame, the largest cost of a
token at hundreds of sessions): once the handshake is done, a complete, unfragmented, unmasked text
or binary frame is cut out of the bytes read with a few integer operations. Every other frame (a
control frame, a fragment, anything unusual or over the size limit) goes to websockets' protocol,
whose parser is always at a frame boundary when it gets one, so it answers pings, closes and fails
the connection as before.

A text frame that is not UTF-8 fails the connection (close 1007) and nothing read after it counts,
as websockets would have it. The other way, a text frame we send is framed here too (`masked_text`):
its header, its mask and its masked text in one buffer. The connection (`wslink.Link`) owns the socket: the framer asks it to
write whatever the protocol has to send.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension: its own Python version
    from websockets.utils import apply_mask

Message = str | bytes
END_OF_HEADERS = b"\r\n\r\n"
MASKS_BYTES = 4096  # random bytes drawn at a time for the masks of the frames we send


class Masks:
    """The 4-byte masks of a client's frames (RFC 6455 5.3: unpredictable), drawn from the system's
    random source a block at a time: websockets draws each one with a system call."""

    def __init__(self) -> None:
        self._block = b""
        self._at = MASKS_BYTES

    def next(self) -> bytes:
        at = self._at
        if at >= MASKS_BYTES:
            self._block, at = os.urandom(MASKS_BYTES), 0
        self._at = at + 4
        return self._block[at : at + 4]


MASKS = Masks()


def masked_text(payload: bytes) -> bytes:
    """One unfragmented text frame from the client, as websockets' `send_text` writes it with no
    extension: FIN and TEXT, the length, the mask, the masked payload; in one buffer and a few calls
    (websockets builds a frame object, checks it and writes it through a stream, per frame)."""
    length = len(payload)
    if length < 126:
        head = bytes((0x81, 0x80 | length))
    elif length < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    mask = MASKS.next()
    return head + mask + apply_mask(payload, mask)


class Framer:
    """Feeds the bytes read to the fast framing or websockets' protocol; the whole messages go to `emit`
    (those of one read together, in order), the handshake's outcome to `handshake` (None: accepted)."""

    def __init__(
        self,
        protocol: ClientProtocol,
        max_size: int | None,
        *,
        emit: Callable[[list[Message]], None],
        write: Callable[[], None],
        handshake: Callable[[BaseException | None], None],
    ) -> None:
        self.protocol = protocol
        self.max_size = max_size
        self.emit = emit
        self.write = write
        self.handshake = handshake
        self.fast = False  # data frames are framed here (see the module docstring)
        self.broken = False  # a text frame was not UTF-8: the connection is being failed
        self._rest = bytearray()  # the start of a frame not complete yet (fast framing)
        self._wanted = 0  # bytes `_rest` must reach before it is worth parsing again
        self._fragments: list[bytes] = []
        self._text = True  # the opcode of the message being reassembled

    def feed(self, data: bytes) -> None:
        if self.fast:
            self.frames(data)
        else:
            self.receive(data)

    def feed_handshake(self, data: bytes) -> None:
        """A read before the handshake completed: its response, and whatever came with it."""
        self.receive(data)
        # Framing is ours from here if websockets' parser was left at a frame boundary: the
        # response ended this read and nothing of it waits in the parser's buffer.
        self.fast = data.endswith(END_OF_HEADERS) and not self.protocol.reader.buffer

    def end_of_stream(self) -> None:
        self.protocol.receive_eof()
        self.protocol.events_received()
        self.write()
        self._fragments.clear()

    def receive(self, data: bytes) -> None:
        """Bytes for websockets' protocol: the handshake, control frames, anything unusual."""
        self.protocol.receive_data(data)
        events = self.protocol.events_received()
        self.write()
        for event in events:
            if isinstance(event, Frame):
                self._frame(event)
            else:  # the handshake's response
                self.handshake(self.protocol.handshake_exc)

    def frames(self, data: bytes) -> None:
        """Cut the complete data frames out of `data` (after what `_rest` holds) and deliver them."""
        if self._rest:
            self._rest += data
            if len(self._rest) < self._wanted:
                return  # a large frame still arriving: not parsed again per read
            data, self._rest = bytes(self._rest), bytearray()
        self._wanted = 0
        end = len(data)
        pos = 0
        limit = self.max_size
        out: list[Message] = []  # the messages of this read, handed over together
        while end - pos >= 2:
            first, second = data[pos], data[pos + 1]
            length = second & 0x7F
            head = 2
            if length == 126:
                head = 4
                if end - pos < head:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            elif length == 127:
                head = 10
                if end - pos < head:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            stop = pos + head + length
            opcode = first & 0x0F
            plain = first & 0xF0 == 0x80 and not second & 0x80  # FIN, no RSV bits, not masked
            if plain and opcode >= 8 and length <= 125:
                # A control frame (ping, pong, close): websockets answers it, from a frame boundary,
                # after the messages before it.
                if stop > end:
                    break
                if out:
                    self.emit(out)
                    out = []
                self.receive(data[pos:stop])
                pos = stop
                if self.protocol.state is not State.OPEN:
                    self.fast = False
                    if pos < end:
                        self.receive(data[pos:])
                    return
                continue
            if not plain or opcode not in (1, 2) or (limit is not None and length > limit):
                # Fragments, reserved bits, a masked frame or one too large: websockets' rules
                # (a fragmented message, a protocol error, close 1009) for the rest of the connection.
                if out:
                    self.emit(out)
                self.fast = False
                self.receive(data[pos:])
                return
            if stop > end:
                self._wanted = stop - pos
                break
            payload = data[pos + head : stop]
            pos = stop
            if opcode == 1:
                try:
                    out.append(payload.decode())
                except UnicodeDecodeError:  # the messages before it count; nothing after it does
                    if out:
                        self.emit(out)
                    self._not_utf8()
                    self.fast = False
                    return
            else:
                out.append(payload)
        if pos < end:
            self._rest += data[pos:]
        if out:
            self.emit(out)

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
        if self.broken:
            return  # parsed with the bad frame, in the same read: websockets discards what follows it
        if text:
            try:
                message: Message = data.decode()
            except UnicodeDecodeError:
                self._not_utf8()
                return
        else:
            message = data
        self.emit([message])

    def _not_utf8(self) -> None:
        """A text frame was not UTF-8: the connection is failed (close 1007)."""
        self.broken = True
        self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text frame")
        self.write()
