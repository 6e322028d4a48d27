"""Work a simulated agent server starts from a callback that must not wait for it (a close after missed
PONGs, a frame sent outside the chaos layer): kept referenced until done, cancelled when the server
stops, and ended quietly when its connection closes under it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from websockets.exceptions import ConnectionClosed


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            with contextlib.suppress(ConnectionClosed):
                await work

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
