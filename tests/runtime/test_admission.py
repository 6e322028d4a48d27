"""Connections open a few at a time (console/runtime/admission.py), against a real TCP server on
loopback that accepts and never answers a WebSocket handshake."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from console.runtime import admission
from console.runtime.wsopen import open_link
from tests.helpers import eventually


async def test_connections_open_a_few_at_a_time_and_a_silent_server_holds_the_rest_up_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admission, "HOLD_AT_MOST", 1.0)
    accepted = 0
    silent: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        silent.append(writer)  # never answers the handshake

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    attempts = [
        asyncio.create_task(open_link(f"ws://127.0.0.1:{port}/ws", print, open_timeout=10, max_size=1024))
        for _ in range(admission.OPENING + 10)
    ]
    try:
        await eventually(lambda: accepted >= admission.OPENING)
        await asyncio.sleep(0.3)
        assert accepted == admission.OPENING  # the others wait for a place
        # A handshake that does not finish gives its place back in time: the others go on.
        await eventually(lambda: accepted == len(attempts), seconds=5)
    finally:
        for attempt in attempts:
            attempt.cancel()
        for attempt in attempts:
            with contextlib.suppress(asyncio.CancelledError):
                await attempt
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()
