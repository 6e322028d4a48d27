"""The simulators' only use of python-websockets beyond its documented API: writing a frame now, and
cutting a connection with no close frame.

`write_now` puts a text frame on the wire synchronously, through the connection's sans-I/O protocol
object and its `send_data()` flush, instead of `await ws.send()`. A simulated agent writes a frame per
token for up to a thousand sessions on the console's own event loop: written synchronously, a token
goes out from the responder's own step without waking the connection's sender, and the write costs
about half of `send()`'s coroutine, lock and buffer wait (`python -m tests.bench.sim_write`). A
simulated frame is small enough for the transport's buffer to absorb. `abort` closes the TCP
connection at once, as a network failure would: the documented `close()` always performs the closing
handshake first.

`Connection.protocol`, `.transport` and `.send_data()` exist from websockets 13 (the asyncio
implementation) through 17 but are not documented, which is why pyproject.toml bounds websockets
below the next major version; tests/sim exercise both functions on every run.
"""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State


def write_now(ws: ServerConnection, text: str) -> bool:
    """Write one text frame now; False (and nothing written) when the connection is closing."""
    if ws.protocol.state is not State.OPEN or ws.transport.is_closing():
        return False
    ws.protocol.send_text(text.encode())
    ws.send_data()
    return True


def abort(ws: ServerConnection) -> None:
    """Cut the connection with no close frame (a drop, as the network would do it)."""
    ws.transport.abort()
