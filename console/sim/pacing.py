"""Timed waits for many simulated sessions on the console's own event loop, ended a batch at a time.

Every simulated agent waits between tokens. With a timer per wait, a loop that has fallen behind (a
thousand sessions on one core) finds all of them due at once and runs every session's next token,
and the console's handling of it, in one loop iteration: hundreds of milliseconds in which no page
update, PONG or timer runs. The pacer keeps the waits in one heap behind one timer and ends at most
`batch` of them per iteration, earliest first. An overloaded simulator then slows its own sessions
down, as a busy server would, instead of the loop everything else shares. A loop that keeps up sees
no difference: its waits end when they are due.

A response's waits follow its `Timeline`: each is due a delay after the moment the previous one was
due, not after the moment it ended. A wait that ends late (a busy loop, a descheduled process) then
shortens the next instead of pushing the rest of the reply back, so a thousand agents stream at the
rate their scripts say, the rate they have alone, as long as the machine keeps up on average.
Only `CATCH_UP` of lateness is made up: past that (an overloaded simulator), the lost time is let go
rather than sent as a burst.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from typing import Final

BATCH: Final = 8  # waits ended per loop iteration; each one is about a token's work, 0.1-0.2 ms
# uvloop's clock and timers count whole milliseconds, so a timer may fire up to one early: a wait due
# within it has ended (otherwise the timer is set again for a moment that is already past, in a spin).
SLACK: Final = 0.001  # seconds
CATCH_UP: Final = 0.5  # seconds of lateness a timeline makes up; beyond, the time is let go


class Pacer:
    def __init__(self, batch: int = BATCH) -> None:
        self.batch = batch
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # equal deadlines end in the order they were asked for
        self._handle: asyncio.Handle | None = None
        self._armed_for = math.inf  # the deadline the pending handle runs for

    async def sleep(self, seconds: float) -> None:
        await self.until(asyncio.get_running_loop().time() + seconds)

    async def until(self, when: float) -> None:
        """Wait until the loop's clock reads `when` (a moment already past ends in the next release)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._due, (when, next(self._order), future))
        if when < self._armed_for:
            self._arm(loop, when)
        await future  # cancelled: its entry is skipped when it comes due

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = math.inf
        for _, _, future in self._due:
            future.cancel()
        self._due.clear()

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(when, self._release, loop)
        self._armed_for = when

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle, self._armed_for = None, math.inf
        due = self._due
        now = loop.time() + SLACK
        released = 0
        while due and due[0][0] <= now and released < self.batch:
            future = heapq.heappop(due)[2]
            if not future.done():
                future.set_result(None)
                released += 1
        if not due:
            return
        if due[0][0] <= now:
            # More are due: the rest after this iteration's callbacks and I/O have had their turn.
            self._handle, self._armed_for = loop.call_soon(self._release, loop), now
        else:
            self._arm(loop, due[0][0])


class Timeline:
    """The moments one response's steps are due, each a delay after the previous one was due."""

    def __init__(self, pacer: Pacer, scale: float = 1.0, catch_up: float = CATCH_UP) -> None:
        self.pacer = pacer
        self.scale = scale
        self.catch_up = catch_up
        self.due = asyncio.get_running_loop().time()

    async def wait(self, seconds: float) -> None:
        """Wait a script's (unscaled) delay, counted from when the previous wait was due."""
        now = asyncio.get_running_loop().time()
        self.due = max(self.due + seconds * self.scale, now - self.catch_up)
        if self.due > now + SLACK:
            await self.pacer.until(self.due)
        elif seconds > 0:
            # Due already (the previous step ended late): the next release, with the other waits due.
            await self.pacer.until(now)

    def restart(self) -> None:
        """From now on: after a wait for something outside the script (a client's ACK)."""
        self.due = asyncio.get_running_loop().time()
