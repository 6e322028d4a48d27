"""Many sessions at once: each runs as its own task, is restarted when it crashes, and reports its health.

Theory of operation
-------------------
A session is a `SessionClient` in the hub, driven by the task `client.start()` returns. Clients handle
the network themselves (reconnect, backoff, resume); what reaches the supervisor is a *crash*: the
client's task ended with an exception, which is a bug, not weather. The supervisor watches every task
with `asyncio.wait` (never by awaiting it, so cancelling a watcher never cancels a session). A crashed
session shows as `crashed` with its reason; after a backoff (1, 2, 4, … 30 s, reset once a client has
run for `stable_after`) a fresh client for the same target takes its place, and its conversation opens
with a notice saying why. A task that ends because its client was closed is not a crash.

Health comes from each session's change stream: a listener counts received events, text deltas,
reconnections and errors and keeps the tail of the reply in progress; a sampler turns the counters into
rates once a second. Nothing here waits on a session: listeners and samplers are O(1) per event and per
session, every close is bounded by `CLOSE_TIMEOUT` and runs concurrently with the others, and a failure
while reading one session is logged and skipped. One slow or failing session never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

from console.clients import SessionClient, Target, make_client
from console.connection import ConnectionState
from console.monitor import (
    ClientFactory,
    Clock,
    Driver,
    Health,
    Monitor,
    Summary,
)
from console.runtime.reconnect import exponential
from console.sessions import SessionEntry, SessionHub

log = logging.getLogger(__name__)

S = ConnectionState
CLOSE_TIMEOUT: Final = 5.0  # a client that takes longer to close is abandoned, not waited for
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    stable_after: float = 60.0  # a client that ran this long before crashing restarts the schedule

    def delays(self) -> Iterator[float]:
        return exponential(self.initial, self.factor, self.cap)


def _crash_reason(task: asyncio.Task[None]) -> str | None:
    """Why the task ended, if that was a crash; None when it was closed or cancelled."""
    if task.cancelled():
        return None
    exc = task.exception()
    if exc is None:
        return None
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_BY_HUB: weakref.WeakKeyDictionary[SessionHub, Supervisor] = weakref.WeakKeyDictionary()


class Supervisor:
    def __init__(
        self,
        hub: SessionHub | None = None,
        *,
        policy: RestartPolicy | None = None,
        factory: ClientFactory = make_client,
        sample_interval: float = 1.0,
        close_timeout: float = CLOSE_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self.hub = hub or SessionHub()
        self.close_timeout = close_timeout
        self.policy = policy or RestartPolicy()
        self.factory = factory
        self.sample_interval = sample_interval
        self.clock = clock
        self.samples = 0  # bumped by every sampling round: rates and histories changed
        self._sampled_at = clock()
        self.membership = 0  # bumped when a session is added or removed
        self._monitors: dict[str, Monitor] = {}
        self._sampler: asyncio.Task[None] | None = None
        self._closing = False
        # Told of every client a session gets (opened, or replaced after a crash), and of removals
        # (not of the sessions a closing console stops): the journal follows sessions through these.
        self.on_client: list[Callable[[SessionEntry], None]] = []
        self.on_removed: list[Callable[[str], None]] = []
        _BY_HUB[self.hub] = self
        self.sync()

    @classmethod
    def for_hub(cls, hub: SessionHub) -> Supervisor:
        """The hub's supervisor, created (adopting the hub's sessions) on first use."""
        return _BY_HUB.get(hub) or cls(hub)

    # -- sessions ------------------------------------------------------------------------------

    def add(
        self,
        target: Target,
        name: str | None = None,
        *,
        client: SessionClient | None = None,
        factory: ClientFactory | None = None,
        session_id: str | None = None,
    ) -> SessionEntry:
        """Open a session and supervise it; `factory` makes its replacement after a crash."""
        client = client or (factory or self.factory)(target)
        entry = self.hub.add(target, name=name, client=client, session_id=session_id)
        self._adopt(entry, factory or self.factory)
        return entry

    async def remove(self, session_id: str) -> None:
        monitor = self._monitors.pop(session_id, None)
        if monitor is not None and not self._closing:
            self._tell(self.on_removed, session_id)
        if monitor is not None:
            monitor.removed = True
            monitor.detach()
            self.membership += 1
            if monitor.watcher is not None:
                monitor.watcher.cancel()
            if monitor.driver is not None:
                await self._bounded(monitor.driver.stop(), f"stopping the driver of {session_id}")
        await self._bounded(self.hub.remove(session_id), f"closing session {session_id}")

    def attach(self, session_id: str, driver: Driver) -> None:
        monitor = self._monitors.get(session_id)
        if monitor is None:
            raise KeyError(session_id)
        monitor.driver = driver
        monitor.version += 1

    def driver(self, session_id: str) -> Driver | None:
        monitor = self._monitors.get(session_id)
        return monitor.driver if monitor else None

    def drivers(self) -> list[Driver]:
        return [m.driver for m in self._monitors.values() if m.driver is not None]

    def touch(self, session_id: str) -> None:
        """Something a card shows changed outside the change stream (a driver paused)."""
        monitor = self._monitors.get(session_id)
        if monitor is not None:
            monitor.version += 1

    # -- reading -------------------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return list(self._monitors)

    def version(self, session_id: str) -> int:
        monitor = self._monitors.get(session_id)
        return -1 if monitor is None else monitor.poll()

    def health(self, session_id: str) -> Health | None:
        monitor = self._monitors.get(session_id)
        if monitor is None:
            return None
        try:
            return monitor.health(self.clock())
        except Exception:
            log.exception("reading the health of session %s failed", session_id)
            return None

    def healths(self) -> list[Health]:
        return [h for h in (self.health(sid) for sid in list(self._monitors)) if h is not None]

    def summary(self, healths: list[Health] | None = None) -> Summary:
        healths = self.healths() if healths is None else healths
        by_state: dict[str, int] = {}
        for h in healths:
            by_state[h.state] = by_state.get(h.state, 0) + 1
        return Summary(
            sessions=len(healths),
            by_state=by_state,
            events_per_s=sum(h.events_per_s for h in healths),
            tokens_per_s=sum(h.tokens_per_s for h in healths),
            errors=sum(h.errors for h in healths),
            crashes=sum(h.crashes for h in healths),
            reconnects=sum(h.reconnects for h in healths),
            failing=sum(1 for h in healths if h.failing),
        )

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Sample in the background, so histories fill while nobody looks (idempotent; needs a loop)."""
        if self._sampler is None or self._sampler.done():
            self._sampler = asyncio.get_running_loop().create_task(self._sample_forever(), name="sampler")
        for monitor in self._monitors.values():
            self._ensure_watcher(monitor)

    def sync(self) -> None:
        """Follow sessions added to or removed from the hub directly."""
        for session_id, entry in list(self.hub.sessions.items()):
            monitor = self._monitors.get(session_id)
            if monitor is None or monitor.entry is not entry:
                self._adopt(entry, self.factory)
            elif monitor.client is not entry.client and monitor.restart_at is None:
                monitor.observe(entry.client)
        for session_id in [sid for sid in self._monitors if sid not in self.hub.sessions]:
            monitor = self._monitors.pop(session_id)
            monitor.removed = True
            monitor.detach()
            if monitor.watcher is not None:
                monitor.watcher.cancel()
            self.membership += 1

    def maybe_sample(self) -> bool:
        """Sample if a round is due (for views when no sampler runs, e.g. in tests); True if it did."""
        # 0.9: a timer may fire a hair early, and a skipped round would leave a hole in the histories.
        if self.clock() - self._sampled_at < 0.9 * self.sample_interval:
            return False
        self.sync()
        self.sample()
        return True

    def sample(self) -> None:
        """One sampling round: rates over the time since the last one."""
        now = self._sampled_at = self.clock()
        for monitor in list(self._monitors.values()):
            try:
                monitor.sample(now)
            except Exception:
                log.exception("sampling session %s failed", monitor.entry.id)
        self.samples += 1

    async def close(self) -> None:
        self._closing = True
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        await asyncio.gather(*(self.remove(sid) for sid in list(self._monitors)))
        await self.hub.close()

    def _adopt(self, entry: SessionEntry, factory: ClientFactory) -> None:
        old = self._monitors.get(entry.id)
        if old is not None:
            old.detach()
        monitor = Monitor(entry, factory, self.clock)
        self._monitors[entry.id] = monitor
        self._tell(self.on_client, entry)
        self.membership += 1
        self._ensure_watcher(monitor)

    def _ensure_watcher(self, monitor: Monitor) -> None:
        if monitor.watcher is not None and not monitor.watcher.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # adopted before the loop runs: `start()` begins watching
        monitor.watcher = loop.create_task(self._watch(monitor), name=f"watch {monitor.entry.id}")

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sample_interval)
            self.maybe_sample()

    async def _watch(self, monitor: Monitor) -> None:
        delays = self.policy.delays()
        while not self._gone(monitor):
            client = monitor.entry.client
            started = self.clock()
            task = client.start()
            await asyncio.wait({task})
            reason = _crash_reason(task)
            if reason is None or self._gone(monitor):
                return  # closed on purpose
            if self.clock() - started >= self.policy.stable_after:
                delays = self.policy.delays()
            await self._restart(monitor, client, reason, next(delays))

    async def _restart(self, monitor: Monitor, crashed: SessionClient, reason: str, delay: float) -> None:
        entry = monitor.entry
        log.error("session %s crashed (%s); restarting in %.1f s", entry.id, reason, delay)
        monitor.crashed(reason, self.clock() + delay)
        with contextlib.suppress(Exception):
            crashed.conversation.notice("error", f"session crashed ({reason}); restarting in {delay:.0f} s")
        await asyncio.sleep(delay)
        if self._gone(monitor):
            return
        await self._bounded(crashed.close(), f"closing the crashed client of {entry.id}")
        try:
            replacement = monitor.factory(entry.target)
        except Exception as exc:
            # No client to run: stay crashed; the next round of the watch loop backs off again.
            log.exception("cannot make a new client for session %s", entry.id)
            monitor.crash_reason = f"cannot restart: {exc}"
            return
        # Nothing received is lost to a crash: the new client goes on with the old conversation.
        entry.client = replacement
        self._tell(self.on_client, entry)  # journaled from here, the take-over included
        replacement.conversation.continue_from(crashed.conversation)
        monitor.observe(replacement)
        monitor.restarted()
        replacement.conversation.notice("warning", f"restarted after a crash: {reason}")

    def _tell(self, hooks: list[Callable[[T], None]], value: T) -> None:
        for hook in hooks:
            try:
                hook(value)
            except Exception:
                log.exception("a session hook failed")

    def _gone(self, monitor: Monitor) -> bool:
        return self._closing or monitor.removed or self.hub.get(monitor.entry.id) is not monitor.entry

    async def _bounded(self, work: Awaitable[None], what: str) -> None:
        """Await `work` for at most `close_timeout`; whatever goes wrong is logged, never raised."""
        try:
            await asyncio.wait_for(work, self.close_timeout)
        except TimeoutError:
            log.warning("%s took over %.1f s; abandoned", what, self.close_timeout)
        except Exception:
            log.exception("%s failed", what)
