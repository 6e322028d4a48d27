"""The one owner of a console's sessions: it opens, restarts and removes them, runs each as its own task,
restarts it when it crashes, reports its health, and tells subscribers of every change.

Theory of operation
-------------------
A session is a `SessionEntry` (console/sessions.py): an id that never changes and the client of the
moment, driven by the task `client.start()` returns. Everything that opens or removes a session goes
through the supervisor (the command line, the Add-session dialog, a trace opened from a file, spans
received over OTLP, a restored or followed journal); pages are handed the supervisor, hold a session id,
and follow `subscribe` to learn when the session's client is replaced (`ClientReplaced`) or the session
goes (`SessionRemoved`).

Clients handle the network themselves (reconnect, backoff, resume); what reaches the supervisor is a
*crash*: the client's task ended with an exception, which is a bug, not weather. The supervisor watches every task
with `asyncio.wait` (never by awaiting it, so cancelling a watcher never cancels a session). A crashed
session shows as `crashed` with its reason; after a backoff (1, 2, 4, … 30 s, reset once a client has
run for `stable_after`) a fresh client for the same target takes its place, and its conversation opens
with a notice saying why. `restart` does the same at once, on request. A task that ends because its
client was closed is not a crash; one that ends because its client was replaced hands the watch over to
the new client.

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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

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
from console.sessions import (
    ClientReplaced,
    SessionEntry,
    SessionEvent,
    SessionOpened,
    SessionRemoved,
    free_id,
    slug,
)

log = logging.getLogger(__name__)

S = ConnectionState
CLOSE_TIMEOUT: Final = 5.0  # a client that takes longer to close is abandoned, not waited for
Listener = Callable[[SessionEvent], None]


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


class Supervisor:
    def __init__(
        self,
        *,
        policy: RestartPolicy | None = None,
        factory: ClientFactory = make_client,
        sample_interval: float = 1.0,
        close_timeout: float = CLOSE_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self.close_timeout = close_timeout
        self.policy = policy or RestartPolicy()
        self.factory = factory
        self.sample_interval = sample_interval
        self.clock = clock
        self.samples = 0  # bumped by every sampling round: rates and histories changed
        self._sampled_at = clock()
        self.membership = 0  # bumped when a session is added or removed
        self._sessions: dict[str, SessionEntry] = {}
        self._monitors: dict[str, Monitor] = {}
        self._listeners: list[Listener] = []
        self._sampler: asyncio.Task[None] | None = None
        self._closing = False

    # -- sessions ------------------------------------------------------------------------------

    @property
    def sessions(self) -> Mapping[str, SessionEntry]:
        """Every session by id, in the order they were opened (read-only: change them through here)."""
        return self._sessions

    def get(self, session_id: str) -> SessionEntry | None:
        return self._sessions.get(session_id)

    def add(
        self,
        target: Target,
        name: str | None = None,
        *,
        client: SessionClient | None = None,
        factory: ClientFactory | None = None,
        session_id: str | None = None,  # a session restored under the id it had
        owner: str | None = None,  # the visitor who opened it (a trace): shown to nobody else
    ) -> SessionEntry:
        """Open a session and supervise it; `factory` makes its replacement on a restart."""
        make = factory or self.factory
        client = client or make(target)
        new_id = free_id(session_id or slug(name or target.dialect), self._sessions)
        entry = SessionEntry(new_id, name or new_id, target, client, owner)
        self._sessions[new_id] = entry
        monitor = self._monitors[new_id] = Monitor(entry, make, self.clock)
        self.membership += 1
        self._tell(SessionOpened(entry))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop yet: `start()` begins the watch, which starts the client
        else:
            client.start()
        self._ensure_watcher(monitor)
        return entry

    async def remove(self, session_id: str) -> None:
        entry = self._sessions.pop(session_id, None)
        monitor = self._monitors.pop(session_id, None)
        if entry is None or monitor is None:
            return
        self.membership += 1
        monitor.removed = True
        monitor.detach()
        if not self._closing:  # sessions a closing console stops are not removed: they are restored
            self._tell(SessionRemoved(session_id))
        if monitor.watcher is not None:
            monitor.watcher.cancel()
        if monitor.driver is not None:
            await self._bounded(monitor.driver.stop(), f"stopping the driver of {session_id}")
        await self._bounded(entry.client.close(), f"closing session {session_id}")

    async def restart(self, session_id: str, reason: str = "restarted on request") -> bool:
        """A fresh client for the session's target takes over its conversation; False when there is no
        such session, it has no connection of its own to make again (a trace, spans received), a
        restart after a crash is already due, or no client could be made."""
        monitor = self._monitors.get(session_id)
        if monitor is None or monitor.restart_at is not None or monitor.replacing:
            return False
        if not monitor.entry.client.capabilities.drop:
            return False
        replaced = await self._replace(monitor, reason)
        self._ensure_watcher(monitor)  # the watch may have ended with the old client
        return replaced

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Be told of every session opened, restarted (its client replaced) or removed; returns the
        unsubscribe. Told synchronously, in the supervisor's task: a listener that builds UI schedules it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

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
        return list(self._sessions)

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

    def maybe_sample(self) -> bool:
        """Sample if a round is due (for views when no sampler runs, e.g. in tests); True if it did."""
        # 0.9: a timer may fire a hair early, and a skipped round would leave a hole in the histories.
        if self.clock() - self._sampled_at < 0.9 * self.sample_interval:
            return False
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
        await asyncio.gather(*(self.remove(sid) for sid in list(self._sessions)))

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
            if monitor.replacing or monitor.entry.client is not client:
                # Restarted on request: the new client is watched from here (or by a new watch).
                if monitor.replacing:
                    return
                continue
            reason = _crash_reason(task)
            if reason is None or self._gone(monitor):
                return  # closed on purpose
            if self.clock() - started >= self.policy.stable_after:
                delays = self.policy.delays()
            await self._after_crash(monitor, client, task.exception(), reason, next(delays))

    async def _after_crash(
        self, monitor: Monitor, crashed: SessionClient, crash: BaseException | None, reason: str, delay: float
    ) -> None:
        entry = monitor.entry
        log.error("session %s crashed (%s); restarting in %.1f s", entry.id, reason, delay)
        monitor.crashed(reason, self.clock() + delay)
        with contextlib.suppress(Exception):
            crashed.conversation.notice("error", f"session crashed ({reason}); restarting in {delay:.0f} s")
        await asyncio.sleep(delay)
        if not self._gone(monitor):
            await self._replace(monitor, f"restarted after a crash: {reason}", crash)

    async def _replace(self, monitor: Monitor, reason: str, crash: BaseException | None = None) -> bool:
        """Close the session's client and give the session a new one, going on with its conversation.
        `crash`: what the old client's task died of (closing it raises that again; it was told already)."""
        entry = monitor.entry
        old = entry.client
        monitor.replacing = True
        try:
            await self._bounded(old.close(), f"closing the old client of {entry.id}", expected=crash)
            if self._gone(monitor):
                return False
            try:
                replacement = monitor.factory(entry.target)
            except Exception as exc:
                # No client to run: stay crashed; the next round of the watch loop backs off again.
                log.exception("cannot make a new client for session %s", entry.id)
                monitor.crash_reason = f"cannot restart: {exc}"
                return False
            # Nothing received is lost: the new client goes on with the old conversation. Listeners are
            # told first, so the journal records the take-over; pages rebuild after it (scheduled).
            entry.client = replacement
            self._tell(ClientReplaced(entry))
            replacement.conversation.continue_from(old.conversation)
            monitor.observe(replacement)
            monitor.restarted()
            replacement.conversation.notice("warning", reason)
            replacement.start()
            return True
        finally:
            monitor.replacing = False

    def _tell(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a session listener failed")

    def _gone(self, monitor: Monitor) -> bool:
        return self._closing or monitor.removed or self._sessions.get(monitor.entry.id) is not monitor.entry

    async def _bounded(self, work: Awaitable[None], what: str, expected: BaseException | None = None) -> None:
        """Await `work` for at most `close_timeout`; whatever goes wrong is logged (unless `expected`),
        never raised."""
        try:
            await asyncio.wait_for(work, self.close_timeout)
        except TimeoutError:
            log.warning("%s took over %.1f s; abandoned", what, self.close_timeout)
        except Exception as exc:
            if exc is not expected:
                log.exception("%s failed", what)
