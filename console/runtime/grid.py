"""Timers that may come a little late fire on a shared grid: one wake of the loop for all of them.

At hundreds of sessions the console's own timers woke the event loop a couple of hundred times a
second: the poller's tick, the engine ticker, every autopilot's think time, each at its own instant.
Each wake of a process costs tens of microseconds on a virtual machine (the kernel's wake-up, the
loop's turn, the callback's code and data cold again), more than a token costs to apply. A timer that
may wait up to a tenth of a second is set for the next point of a grid of `STEP` seconds instead
(`at`): all of them fire in the same turn of the loop, with their code still warm from each other.

Only what tolerates the wait goes on the grid: the poller's tick (whose frames wait a tick anyway),
the engine ticks (an urgent deadline is still checked within a tick of when it began) and the
autopilots' think times (a second or two, drawn at random), which use points halfway between the
poller's (`offset`): at a thousand sessions their prompts in the poller's own turn made that turn
long enough to raise the loop's lag p99 from ~20 to ~60 ms. A page's timers, the loop-lag probe and
anything a user waits for keep their own instants.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final

STEP: Final = 0.1  # seconds between two points of the grid (the poller's tick)
SOONEST: Final = 0.001  # the loop's timers are counted in milliseconds: a point this close is now


def at(loop: asyncio.AbstractEventLoop, delay: float = SOONEST, offset: float = 0.0) -> float:
    """The first point of the grid at least `delay` seconds from now (and after now), in the loop's
    time: every timer set for a point gets the very same deadline. With an `offset` (under `STEP`),
    the points of a grid shifted by it: timers that share a wake with each other, not with the poller."""
    when = loop.time() + max(delay, SOONEST) - offset
    return math.ceil(round(when / STEP, 6)) * STEP + offset
