"""uvicorn's server loop, ticking once a second instead of ten times.

uvicorn's `Server.main_loop` sleeps 0.1 s between two `on_tick`s, which refresh the Date header
(every tenth tick) and look for a shutdown request: ten wakes a second of an otherwise idle console,
each costing tens of microseconds of a virtual machine's CPU. Here it sleeps `REST` seconds and tells
`on_tick` it is every tenth tick, so the Date header stays current to the second; a shutdown signal
(`handle_exit`) wakes it at once, so Ctrl-C and SIGTERM stop the console as promptly as before. A
shutdown asked for by setting `should_exit` (NiceGUI's `app.shutdown`) is seen within `REST`.

This replaces a method of uvicorn's (through NiceGUI's subclass, which `ui.run` builds): the
contract relied on (`on_tick(counter)` returning whether to exit, `handle_exit(sig, frame)`) is
pinned by uvicorn's version bound in pyproject.toml, and a test starts the real server with it.
"""

from __future__ import annotations

import asyncio
import weakref
from types import FrameType
from typing import Final

import uvicorn
from nicegui.server import Server

REST: Final = 1.0  # seconds between two ticks
TICKS_PER_REST: Final = 10  # uvicorn's ticks are 0.1 s: its header refreshes when counter % 10 == 0
_COUNTER_WRAP: Final = 864000  # as uvicorn wraps its counter

_original_handle_exit = uvicorn.Server.handle_exit
_sleeping: weakref.WeakKeyDictionary[uvicorn.Server, asyncio.Future[None]] = weakref.WeakKeyDictionary()


def install() -> None:
    """Every server `ui.run` starts from now on ticks once a second."""
    for name, method in _METHODS.items():
        setattr(Server, name, method)


async def _main_loop(self: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    counter = 0
    should_exit = await self.on_tick(counter)
    while not should_exit:
        counter = (counter + TICKS_PER_REST) % _COUNTER_WRAP
        wake: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(REST, _settle, wake)
        _sleeping[self] = wake
        try:
            await wake
        finally:
            timer.cancel()
            _sleeping.pop(self, None)
        should_exit = await self.on_tick(counter)


def _handle_exit(self: uvicorn.Server, sig: int, frame: FrameType | None) -> None:
    _original_handle_exit(self, sig, frame)
    wake = _sleeping.get(self)
    if wake is not None:
        # Called from a signal handler: the loop is woken through its thread-safe door.
        wake.get_loop().call_soon_threadsafe(_settle, wake)


def _settle(wake: asyncio.Future[None]) -> None:
    if not wake.done():
        wake.set_result(None)


_METHODS: Final = {"main_loop": _main_loop, "handle_exit": _handle_exit}
