"""The reconnect loop every dialect's client runs, its backoff, and which failures are worth retrying.

Theory of operation
-------------------
A client gives `reconnect()` one coroutine, `attempt`: connect (or probe), serve the connection until
it ends, and say how it ended (`Ended`). The loop reports the end to the engine
(`disconnected(now, reason, retry_in)`), waits, and tries again, until the client is closed or a
failure is one that retrying cannot mend (`give_up`). Every dialect — WebSocket (agent, chat) and
HTTP stream (sse, agui) — runs this one loop; only `attempt` differs.

Delays (`backoff`) follow python-websockets' reasoning: when an upstream restarts, every session
attached to it drops at the same instant, and a fixed schedule would bring them all back at the same
instants too, a thundering herd at every step. The first delay is therefore random (uniform in
`[floor, floor + spread)`; the small floor keeps a drop on screen for a moment and does not knock on
a server in the very instant it let us go); later delays grow exponentially from `initial` up to `cap`, each session keeping the
offset its random start gave it. A good connection resets the schedule, so the next drop starts with
a random delay again. A delay a dialect asks for itself (a server's SSE `retry:` hint) is stretched
by up to as much again after a good connection, for the same reason; a reconnection the engine asks
for (a replay of missing frames) goes at once: it concerns one session, not a herd.

`classify()` is the one table of failures: a network failure, a timeout, a broken handshake or a
server error (5xx, 408, 425, 429) is retried; a refused credential (401, 403, 407) is AUTH; any
other status (another 4xx, a redirect, a 204), a malformed address or an unsupported scheme is
GIVE_UP — the same request would fail the same way; python-websockets' `connect` draws the same
line. Exceptions outside the table are bugs, not network weather: they propagate (the supervisor
shows the session as crashed and restarts it).
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

import httpx
import websockets

from console.frozen import frozen
from console.runtime.policy import Policy as Policy  # named here by the transports

Clock = Callable[[], float]
Schedule = Callable[[], Iterator[float]]


def exponential(initial: float = 0.5, factor: float = 2.0, cap: float = 10.0) -> Iterator[float]:
    """initial, initial × factor, … capped at `cap` (the supervisor's restart schedule)."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * factor, cap)


def backoff(
    initial: float = 0.5,
    factor: float = 2.0,
    cap: float = 10.0,
    *,
    floor: float = 0.1,
    spread: float = 1.0,
    rng: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Reconnection delays: a random first one in [floor, floor + spread), then 0.5, 1, 2, 4, 8, 10, … s."""
    yield floor + rng() * spread
    yield from exponential(initial, factor, cap)


def status_policy(status: int) -> Policy:
    """What an HTTP status that refused a connection (or a stream) means for trying again."""
    if status >= 500 or status in (408, 425, 429):
        return Policy.RETRY  # the server's trouble, a timeout, "too early", "too many": later may work
    if status in (401, 403, 407):
        return Policy.AUTH
    # Any other 4xx; a redirect (not followed); a 2xx that is not the stream or the upgrade asked
    # for — 204 is the WHATWG's way for a server to say "stop reconnecting".
    return Policy.GIVE_UP


# First match wins: the specific kinds come before the families they belong to.
_PERMANENT: tuple[type[BaseException], ...] = (
    websockets.InvalidURI,
    httpx.InvalidURL,
    httpx.UnsupportedProtocol,
    ssl.SSLCertVerificationError,  # the certificate will not have changed by the next attempt
)
_TRANSIENT: tuple[type[BaseException], ...] = (
    websockets.InvalidHandshake,  # a handshake cut short or garbled (status refusals are above)
    httpx.HTTPError,
    OSError,
    TimeoutError,
    EOFError,
)


def classify(exc: BaseException) -> Policy | None:
    """Whether a failed connection is worth retrying; None when `exc` is no I/O failure at all."""
    if isinstance(exc, _PERMANENT):
        return Policy.GIVE_UP
    if isinstance(exc, websockets.InvalidStatus):
        return status_policy(exc.response.status_code)
    if isinstance(exc, httpx.HTTPStatusError):
        return status_policy(exc.response.status_code)
    if isinstance(exc, _TRANSIENT):
        return Policy.RETRY
    return None


@frozen
class Ended:
    """How one attempt ended."""

    reason: str  # for the trace and the connection indicator
    connected: bool = False  # it made a good connection: the next delay starts the schedule afresh
    policy: Policy = Policy.RETRY
    delay: float | None = None  # the dialect's own delay for the next attempt (0: at once)
    report: bool = True  # False: not a failure (a replay the user asked for): try again at once


class Reconnecting(Protocol):
    """What the loop tells a dialect's engine."""

    def disconnected(self, now: float, reason: str, retry_in: float) -> None: ...

    def give_up(self, now: float, reason: str, policy: Policy) -> None: ...


async def reconnect(
    attempt: Callable[[], Awaitable[Ended]],
    engine: Reconnecting,
    *,
    schedule: Schedule,
    clock: Clock,
    closed: Callable[[], bool],
    rng: Callable[[], float] = random.random,
) -> None:
    """Run `attempt` until the client is closed or a failure cannot be mended by trying again."""
    delays = schedule()
    while not closed():
        ended = await attempt()
        if closed():
            return
        if ended.policy is not Policy.RETRY:
            engine.give_up(clock(), ended.reason, ended.policy)
            return
        if ended.connected or not ended.report:
            delays = schedule()
        if not ended.report:
            continue
        delay = ended.delay
        if delay is None:
            delay = next(delays)
        elif ended.connected:
            delay *= 1.0 + rng()  # the server's own delay, spread like our first one
        engine.disconnected(clock(), ended.reason, delay)
        await asyncio.sleep(delay)
