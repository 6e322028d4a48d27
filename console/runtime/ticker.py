"""One timer drives the engine ticks of every WebSocket client of an event loop.

A timer per client (a `wait_for` on a wake-up event) cost a task and a cancellation per tick: at
1,000 sessions and 20 ticks a second that alone took the whole core. One pass over the clients costs
a few microseconds per session ticked.

Each client is ticked only as often as its rules need: every `interval` while a deadline of a second
or two may come due (an ack held behind a gap, a resumption, a gap, a prompt waiting), and otherwise
when its next rule may come due, as its tick says (a reply's stall, the link's keepalive: seconds
away); each tick returns how soon it needs the next (None: every `REST_INTERVAL`). At 300 streaming
sessions ticking each one ten times a second was a tenth of the console's CPU, and a tick a second
still a twentieth, for rules whose deadlines are known.

The timer runs every `interval` while some client needs a tick within `REST_INTERVAL`, and rests
otherwise, firing every `REST_INTERVAL`: each wake of an idle process costs it tens of microseconds on a
virtual machine. Whatever gives a client a deadline between its ticks (a prompt sent, a connection
made or lost, a frame held behind a gap) makes it due at the next run (`hurry`), or by the deadline
it names (`due_within`), so an urgent deadline is never checked later than one `interval` after it
began. Runs fall on the points of the loop's grid (console/runtime/grid.py), in the same wake of the
loop as the poller's tick. A run looks only at the clients that are due (a heap of due times): a pass
over all of them, cold in the caches at 300 sessions, cost more than their ticks.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
import weakref
from collections.abc import Callable

from console.runtime import grid

log = logging.getLogger(__name__)

# Ticks a client; returns the seconds until it needs the next one, or None while time alone can make
# nothing due (it is ticked every `REST_INTERVAL` then).
Tick = Callable[[], float | None]

# Seconds between ticks while no client has such work: the links' keepalive (a ping after 20 s of
# silence) is all a tick does then, and a second late is nothing to it.
REST_INTERVAL = 1.0


class _Client:
    __slots__ = ("due", "order", "tick")

    def __init__(self, tick: Tick, order: int) -> None:
        self.tick = tick
        self.order = order  # clients due in the same run tick in the order they came
        self.due = 0.0  # monotonic time of the next tick it needs (`_GONE` once removed)


_GONE = math.inf


class Ticker:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.rest = max(interval, REST_INTERVAL)
        self._ticks: dict[Tick, _Client] = {}
        # (due, order, client), a heap: a run looks at the clients that are due, not at every client
        # (at 300 sessions a pass over all of them, cold in the caches, cost more than the ticks).
        # An entry whose due is no longer its client's (ticked again, hurried, removed) is skipped.
        self._queue: list[tuple[float, int, _Client]] = []
        self._added = 0
        self._handle: asyncio.TimerHandle | None = None  # a timer callback: no task step per tick
        self.resting = False  # the next run is `rest` away: `hurry` brings it forward

    def add(self, tick: Tick) -> None:
        self._added += 1
        client = self._ticks[tick] = _Client(tick, self._added)
        heapq.heappush(self._queue, (client.due, client.order, client))
        self.hurry()

    def remove(self, tick: Tick) -> None:
        client = self._ticks.pop(tick, None)
        if client is not None:
            client.due = _GONE

    def hurry(self, tick: Tick | None = None) -> None:
        """A client (`tick`, or any) may have work now: it is ticked at most `interval` from now."""
        if tick is not None and (client := self._ticks.get(tick)) is not None and client.due != 0.0:
            client.due = 0.0
            heapq.heappush(self._queue, (0.0, client.order, client))
        if self._handle is not None:
            if not self.resting:
                return
            self._handle.cancel()
        self.resting = False
        self._handle = self._call(0.0)

    def due_within(self, tick: Tick, seconds: float) -> None:
        """`tick` needs a tick at most `seconds` from now: its next one is brought forward if it was
        due later (a rule whose deadline is known, not work for the next run: no hurry)."""
        client = self._ticks.get(tick)
        if client is None:
            return
        due = time.monotonic() + seconds
        if client.due <= due:
            return  # due sooner already (or being ticked now: its tick sets its next due)
        client.due = due
        heapq.heappush(self._queue, (due, client.order, client))
        if seconds < self.rest and self.resting:
            self.hurry()  # the ticker rests a second at a time: due sooner than that

    def _run(self) -> None:
        self._handle = None
        now = time.monotonic()
        soon = now + self.interval / 2  # a timer fires a little early or late: due within half a run
        queue = self._queue
        due: list[_Client] = []
        while queue and queue[0][0] <= soon:
            when, _, client = heapq.heappop(queue)
            if client.due == when:
                client.due = -1.0  # taken: a second entry of it in the queue is stale
                due.append(client)
        due.sort(key=_order)
        for client in due:
            if client.due == _GONE:
                continue  # removed by a tick before it in this run
            try:
                wait = client.tick()
            except Exception:
                # One session's failure must not stop the clock of the others.
                log.exception("a websocket client's tick failed")
                wait = self.interval
            if client.due == _GONE:
                continue  # its tick removed it
            client.due = now + (self.rest if wait is None else wait)
            heapq.heappush(queue, (client.due, client.order, client))
        while queue and queue[0][2].due != queue[0][0]:
            heapq.heappop(queue)  # stale: the next due is the first true entry
        # Busy: a client needs a tick within the rest interval (one watching its rules); else rest.
        busy = bool(queue) and queue[0][0] - now < self.rest
        if self._ticks and self._handle is None:
            self.resting = not busy
            delay = self.interval if busy else self.rest
            self._handle = self._call(delay)

    def _call(self, delay: float) -> asyncio.TimerHandle:
        """The next run `delay` seconds from now (0: the soonest a hurried client may wait). If the
        interval allows, at the point of the loop's grid nearest after it (console/runtime/grid.py),
        so that it shares a wake of the loop with the poller's tick."""
        loop = asyncio.get_running_loop()
        if self.interval < grid.STEP:
            return loop.call_later(delay or self.interval, self._run)
        return loop.call_at(grid.at(loop, delay - self.interval / 2), self._run)


def _order(client: _Client) -> int:
    return client.order


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Ticker]] = (
    weakref.WeakKeyDictionary()
)


def ticker(interval: float) -> Ticker:
    """The running loop's ticker for clients ticking every `interval`."""
    per_loop = _TICKERS.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(interval)
    if found is None:
        found = per_loop[interval] = Ticker(interval)
    return found
