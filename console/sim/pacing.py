"""Timed waits for many simulated sessions on the console's own event loop, ended a batch at a time.

Every simulated agent waits between tokens. With a timer per wait, a loop that has fallen behind (a
thousand sessions on one core) finds all of them due at once and runs every session's next token,
and the console's handling of it, in one loop iteration: hundreds of milliseconds in which no page
update, PONG or timer runs. The pacer keeps the waits in one heap behind one timer and ends at most
`batch` of them per iteration, earliest first. An overloaded simulator then slows its own sessions
down, as a busy server would, instead of the loop everything else shares. A loop that keeps up sees
no difference: its waits end when they are due. A wait may also be a callback run in the release
itself (`call_at`: a run of tokens, console/sim/agent_tokens.py), which saves its task a wake-up.

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
from collections.abc import Callable
from typing import Final

BATCH: Final = 8  # waits ended per loop iteration; each one is about a token's work, 0.1-0.2 ms
# uvloop's clock and timers count whole milliseconds, so a timer may fire up to one early: a wait due
# within it has ended (otherwise the timer is set again for a moment that is already past, in a spin).
SLACK: Final = 0.001  # seconds
CATCH_UP: Final = 0.5  # seconds of lateness a timeline makes up; beyond, the time is let go


class Pacer:
    def __init__(self, batch: int = BATCH) -> None:
        self.batch = batch
        # A waiting coroutine's future, or a callback run in its place (a run of tokens: no task switch).
        self._due: list[tuple[float, int, asyncio.Future[None] | Callable[[], None]]] = []
        self._order = itertools.count()  # equal deadlines end in the order they were asked for
        self._handle: asyncio.Handle | None = None
        self._armed_for = math.inf  # the deadline the pending handle runs for
        # How far behind the waits end (`/health`): the sum of their lateness, and the script time
        # timelines let go (`CATCH_UP`). A simulator that keeps its scripts' rate lets none go.
        self.released = 0
        self.lateness = 0.0
        self.let_go = 0.0

    async def sleep(self, seconds: float) -> None:
        await self.until(asyncio.get_running_loop().time() + seconds)

    async def until(self, when: float) -> None:
        """Wait until the loop's clock reads `when` (a moment already past ends in the next release)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._push(when, future)
        await future  # cancelled: its entry is skipped when it comes due

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run `callback` when the loop's clock reads `when`, in a release with the waits then due. It
        counts as a wait ended, and must not raise."""
        self._push(when, callback)

    def _push(self, when: float, entry: asyncio.Future[None] | Callable[[], None]) -> None:
        heapq.heappush(self._due, (when, next(self._order), entry))
        if when < self._armed_for:
            self._arm(asyncio.get_running_loop(), when)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = math.inf
        for _, _, entry in self._due:
            if isinstance(entry, asyncio.Future):
                entry.cancel()
        self._due.clear()

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(when, self._release, loop)
        self._armed_for = when

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        # What the callbacks below push is armed for once, at the end: not a timer per token.
        self._handle, self._armed_for = None, -math.inf
        due = self._due
        now = loop.time() + SLACK
        released = 0
        try:
            while due and due[0][0] <= now and released < self.batch:
                when, _, entry = heapq.heappop(due)
                self.lateness += max(0.0, now - SLACK - when)
                self.released += 1
                if not isinstance(entry, asyncio.Future):
                    entry()
                    released += 1
                elif not entry.done():
                    entry.set_result(None)
                    released += 1
        finally:
            self._armed_for = math.inf
            if due and due[0][0] <= now:
                # More are due: the rest after this iteration's callbacks and I/O have had their turn.
                self._handle, self._armed_for = loop.call_soon(self._release, loop), now
            elif due:
                self._arm(loop, due[0][0])


class Timeline:
    """The moments one response's steps are due, each a delay after the previous one was due."""

    def __init__(self, pacer: Pacer, scale: float = 1.0, catch_up: float = CATCH_UP) -> None:
        self.pacer = pacer
        self.scale = scale
        self.catch_up = catch_up
        self.loop = asyncio.get_running_loop()
        self.due = self.loop.time()
        self.planned = 0.0  # the script time of the waits asked for (scaled)

    def advance(self, seconds: float) -> float:
        """The moment a step a script's (unscaled) delay after the previous one is due."""
        self.planned += seconds * self.scale
        planned, floor = self.due + seconds * self.scale, self.loop.time() - self.catch_up
        if planned < floor:
            self.pacer.let_go += floor - planned
        self.due = max(planned, floor)
        return self.due

    async def wait(self, seconds: float) -> None:
        """Wait a script's (unscaled) delay, counted from when the previous wait was due."""
        now = self.loop.time()
        self.advance(seconds)
        if self.due > now + SLACK:
            await self.pacer.until(self.due)
        elif seconds > 0:
            # Due already (the previous step ended late): the next release, with the other waits due.
            await self.pacer.until(now)

    def restart(self, late: float = 0.0) -> None:
        """From now on: after a wait for something outside the script (a client's ACK). `late`: how
        late the step before that wait went out; it is made up after it (up to `catch_up`), as after
        any other late wait, so that a tool call written late does not push the rest of the reply back."""
        self.due = self.loop.time() - min(max(0.0, late), self.catch_up)
