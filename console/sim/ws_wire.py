"""The simulators' only use of python-websockets beyond its documented API: writing a frame now, and
cutting a connection with no close frame.

`write_now` puts a text frame on the wire synchronously, instead of `await ws.send()`: a simulated
agent writes a frame per token for up to a thousand sessions per process, and written synchronously a
token goes out from the responder's own step without waking the connection's sender. The frame is
encoded here, header and payload in one buffer, and handed to the connection's transport: the
sans-I/O protocol object's `send_text()` builds a frame object and a list of buffers per frame, and
at a thousand sessions those were a fifth of what a simulated token cost (`python -m
tests.bench.sim_write`). It is safe because a server's data frames are never masked nor, here,
compressed or fragmented, and because the protocol object's own writes (close frames, PONGs to a
WebSocket ping) are flushed to the transport as soon as it makes them, so nothing of it waits behind
a frame written here. A simulated frame is small enough for the transport's buffer to absorb.
`abort` closes the TCP connection at once, as a network failure would: the documented `close()`
always performs the closing handshake first.

`Connection.protocol` and `.transport` exist from websockets 13 (the asyncio implementation) through
17 but are not documented, which is why pyproject.toml bounds websockets below the next major
version; tests/sim exercise both functions on every run.
"""

from __future__ import annotations

import struct
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State


def write_now(ws: ServerConnection, text: str) -> bool:
    """Write one text frame now; False (and nothing written) when the connection is closing."""
    if ws.protocol.state is not _OPEN or ws.transport.is_closing():
        return False
    ws.transport.write(text_frame(text.encode()))
    return True


def text_frame(payload: bytes) -> bytes:
    """A whole, unmasked text frame (RFC 6455 5.2) as a server sends it: the header, then the payload."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return _MEDIUM.pack(0x81, 126, size) + payload
    return _LONG.pack(0x81, 127, size) + payload


_OPEN: Final = State.OPEN  # a module constant: an enum member read from its class costs ~80 ns a frame
_MEDIUM: Final = struct.Struct("!BBH")
_LONG: Final = struct.Struct("!BBQ")


def abort(ws: ServerConnection) -> None:
    """Cut the connection with no close frame (a drop, as the network would do it)."""
    ws.transport.abort()
