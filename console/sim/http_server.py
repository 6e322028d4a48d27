"""The socket side of the simulators that speak HTTP themselves (SSE, AG-UI): listen on one address,
track the open connections so that stopping cuts them as a dying server would, run until cancelled.
What each request gets is the subclass's `_connection`."""

from __future__ import annotations

import asyncio
import contextlib
import socket


class StreamServer:
    """`port = await sim.start()`, `await sim.stop()`; `serve_forever()` for a standalone simulator."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, family=socket.AF_INET)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._connection(reader, writer)
        except ConnectionError:
            pass  # the client went away: nothing to tell it
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(ConnectionError):
                writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
