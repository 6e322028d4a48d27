"""A loopback server of the toy dialect: answers `say <prompt>` with its words, one part each, then `end`."""

from __future__ import annotations

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve

from tests.dialects.toy import protocol


class ToyServer:
    def __init__(self) -> None:
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> ToyServer:
        self._server = await serve(self._session, "127.0.0.1", 0)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, connection: ServerConnection) -> None:
        try:
            async for frame in connection:
                kind, prompt = protocol.parse(frame)
                if kind != "SAY":
                    continue
                for word in f"you said: {prompt}".split(" "):
                    await connection.send(protocol.part(word + " "))
                await connection.send(protocol.END)
        except websockets.ConnectionClosed:
            pass
