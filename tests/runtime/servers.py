"""Real websockets servers on loopback, started by a test and stopped when it ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from websockets.asyncio.server import Server, ServerConnection, serve

Handler = Callable[[ServerConnection], Awaitable[None]]
Start = Callable[[Handler], Awaitable[str]]


@contextlib.asynccontextmanager
async def loopback_servers() -> AsyncIterator[Start]:
    """`start(handler)` serves `handler` on a free loopback port and gives its ws:// URL; every server
    started is closed on the way out."""
    servers: list[Server] = []

    async def start(handler: Handler) -> str:
        srv = await serve(handler, "127.0.0.1", 0, close_timeout=0.5)
        servers.append(srv)
        port = next(iter(srv.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    try:
        yield start
    finally:
        for srv in servers:
            srv.close()
            await srv.wait_closed()
