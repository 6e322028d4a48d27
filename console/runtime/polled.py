"""Links nobody watches live, read on one shared tick: one wake of the loop for the frames of many.

At hundreds of sessions each link gets a frame every few tens of milliseconds, so nearly every frame
woke the event loop on its own: an `epoll_wait`, a `read`, a transport callback and a pass of the
receive path with cold caches, for one small frame. Pausing the transport between ticks does not
help: a paused socket stays in the loop's epoll set until its next byte wakes the loop to remove it.

A link whose session nobody watches live (no page shows its text or trace as it streams; the
overview's cards redraw at 4 Hz anyway) hands its socket to the `Poller` of its loop: its transport
stops reading, and the socket joins a second epoll set that the loop never waits on. Every `SECONDS`
(at the points of the loop's grid, `console/runtime/grid.py`, where the other timers that may wait
fire too) the poller asks that set, without waiting, which sockets have bytes, reads each once and
gives the bytes to its link; so one wake carries the frames of many sockets, and each read the frames of
several. A frame waits at most `SECONDS` (plus the slices of the tick's work ahead of it): a tenth of
a second is far inside every protocol deadline (a PONG within 3 s, a TOOL_ACK within 2 s).

With more than `CROWD` such links, every other point of the grid: `CROWDED_SECONDS`, a fifth of a
second, still far inside those deadlines and under the overview's redraw (4 Hz), the only view of such
a session (a page that shows one stream makes it watched: read at once). Each read has a fixed cost
whatever it carries, the system call and the ACK the kernel sends when it empties the queue (~7 µs on
a virtual machine, more than applying a token): at 300 streaming sessions a tick of 0.1 s read ~2.6
frames a read, ~1,800 reads a second, and twice the frames a read cut ~15% of the console's CPU per
token. A few sessions keep the tenth of a second: their reads cost little, however small.

The poller only reads. Anything else goes back to the transport: at the end of the stream (or an
error) the link's transport reads again and meets the end itself; a read that fills `READ_BYTES`
(a flood, a large snapshot) does too, so a busy link gets the transport's full rate and the link's
own flow control. A tick's reads are applied a slice at a time (`SLICE_SECONDS`): a thousand links
ready at once never hold the loop for longer than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import time
import weakref
from collections import deque
from typing import Final, Protocol

from console.runtime import grid

SECONDS: Final = 0.1  # the longest a frame of a link nobody watches waits to be read
CROWD: Final = 100  # with more links than this, the poller ticks every `CROWDED_SECONDS`
CROWDED_SECONDS: Final = 0.2
READ_BYTES: Final = 64 * 1024  # one read per ready socket per tick; a full one hands the link back
SLICE_SECONDS: Final = 0.004  # reads applied per turn of the loop
AVAILABLE: Final = hasattr(select, "epoll")  # Linux; elsewhere every link reads on its own


class Polled(Protocol):
    """A link whose socket the poller reads."""

    @property
    def closing(self) -> bool:
        """Its transport is closing or gone: the socket (or its number) is no longer the link's."""

    def polled_read(self, data: bytes) -> None:
        """Bytes read from the socket, in order."""

    def polled_end(self) -> None:
        """The poller let go of the socket (the end of the stream, an error, a full read): the link's
        transport must read again."""


class Poller:
    """The sockets of the unwatched links of one event loop, read on a shared tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll: select.epoll | None = None  # made on first use, closed when the last link leaves
        self._links: dict[int, Polled] = {}
        self._ready: deque[int] = deque()  # sockets the last tick found ready, not read yet
        self._timer: asyncio.TimerHandle | None = None  # the next tick
        self._draining = False  # the rest of a tick's reads is due in the next turn of the loop

    def __len__(self) -> int:
        return len(self._links)

    def add(self, fd: int, link: Polled) -> None:
        """Read `fd` for `link` from the next tick on (its transport must have stopped reading)."""
        if self._epoll is None:
            self._epoll = select.epoll()
        try:
            self._epoll.register(fd, select.EPOLLIN)
        except FileExistsError:  # the number of a socket closed before its link heard of it
            self._epoll.modify(fd, select.EPOLLIN)
        self._links[fd] = link
        if self._timer is None and not self._draining:
            self._timer = self._loop.call_at(grid.at(self._loop), self._tick)

    def remove(self, fd: int, link: Polled) -> None:
        """Stop reading `fd` for `link` (nothing happens if another link holds that number now)."""
        if self._links.get(fd) is not link:
            return
        del self._links[fd]
        epoll = self._epoll
        if epoll is not None:
            with contextlib.suppress(OSError):  # closed already: the kernel has let go of it
                epoll.unregister(fd)
            if not self._links:
                epoll.close()
                self._epoll = None

    def _tick(self) -> None:
        self._timer = None
        epoll = self._epoll
        if epoll is None:
            return
        self._ready.extend(fd for fd, _ in epoll.poll(0))  # never waits: what is ready now
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        self._draining = False
        deadline = time.perf_counter() + SLICE_SECONDS
        ready = self._ready
        while ready:
            fd = ready.popleft()
            link = self._links.get(fd)
            if link is None:
                continue  # left since the tick
            if link.closing:  # closed by its transport: the number may already be another socket's
                self.remove(fd, link)
                continue
            try:
                data = os.read(fd, READ_BYTES)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                data = b""  # reset: the transport meets the end on its next read
            if data:
                link.polled_read(data)
            if (not data or len(data) == READ_BYTES) and self._links.get(fd) is link:
                self.remove(fd, link)
                link.polled_end()
            if ready and time.perf_counter() >= deadline:
                self._draining = True
                self._loop.call_soon(self._drain)
                return
        if self._links and self._timer is None:
            # A point of the grid (console/runtime/grid.py) at least half a step short of the interval
            # (a tick's drain may end late in its turn): the next point, or the one after it.
            seconds = CROWDED_SECONDS if len(self._links) > CROWD else SECONDS
            self._timer = self._loop.call_at(grid.at(self._loop, seconds - grid.STEP / 2), self._tick)


_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Poller] = weakref.WeakKeyDictionary()


def poller() -> Poller:
    """The running loop's poller."""
    loop = asyncio.get_running_loop()
    found = _POLLERS.get(loop)
    if found is None:
        found = _POLLERS[loop] = Poller(loop)
    return found
