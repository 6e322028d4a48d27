"""How many connections the console opens at once.

Starting 100 sessions started 100 connections in one turn of the event loop: 100 connects, then 100
handshake responses parsed together, a turn of 100-170 ms in which no PONG went out and no page was
served. So a connection waits for one of `OPENING` places before it connects and keeps it until its
handshake is done: a turn then parses at most that many responses. A place is also given back after
`HOLD_AT_MOST` seconds whatever the handshake is doing, so that servers that never answer hold up
the others that long and no longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Final

OPENING: Final = 16  # handshakes in flight per event loop
HOLD_AT_MOST: Final = 0.25  # seconds a slow handshake keeps its place

_PLACES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def opening() -> AsyncIterator[None]:
    """Holds a place among the connections being opened for the body of the `async with`."""
    loop = asyncio.get_running_loop()
    places = _PLACES.get(loop)
    if places is None:
        places = _PLACES[loop] = asyncio.Semaphore(OPENING)
    await places.acquire()
    held = True

    def give_back() -> None:
        nonlocal held
        if held:
            held = False
            places.release()

    timer = loop.call_later(HOLD_AT_MOST, give_back)
    try:
        yield
    finally:
        timer.cancel()
        give_back()
