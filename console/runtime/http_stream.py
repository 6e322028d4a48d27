"""What the HTTP-stream transports (SSE conversation streams, AG-UI runs) share: one httpx client per
session, a task that runs the shared reconnect loop (`reconnect.py`) around the dialect's attempt, and
the response in flight, which `drop()` closes under the reader as a network failure would."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, TypeVar

import httpx

from console.runtime.client_task import ClientTask
from console.runtime.reconnect import Clock, Ended, Policy, Schedule, backoff, classify, reconnect
from console.session import Conversation


class StreamEngine(Protocol):
    """What the shared part of the loop needs of a dialect's engine."""

    @property
    def conversation(self) -> Conversation: ...

    @property
    def connections(self) -> int: ...

    def close(self, now: float) -> None: ...

    def disconnected(self, now: float, reason: str, retry_in: float) -> None: ...

    def give_up(self, now: float, reason: str, policy: Policy) -> None: ...


E = TypeVar("E", bound=StreamEngine)


def describe(exc: BaseException) -> str:
    """An I/O failure as the session tells it: the exception's type, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def failed(exc: Exception, connected: bool = False) -> Ended:
    """An attempt ended by an exception: retried or not as `classify` says; anything else is a bug."""
    policy = classify(exc)
    if policy is None:
        raise exc
    return Ended(describe(exc), connected=connected, policy=policy)


class HttpStreamClient(ClientTask[E]):
    """A session whose agent answers over HTTP responses read as streams; `run()` is the dialect's loop."""

    def __init__(
        self,
        url: str,
        engine: E,
        *,
        backoff_factory: Schedule = backoff,
        read_timeout: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.url = url
        self.engine = engine
        self._backoff_factory = backoff_factory
        self._timeout = httpx.Timeout(10.0, read=read_timeout)
        self._clock = clock
        self._response: httpx.Response | None = None

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    def drop(self) -> None:
        response = self._response
        if response is not None:
            # Closing the response under the reader ends the stream as a network failure would.
            asyncio.get_running_loop().create_task(response.aclose())

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            await reconnect(
                lambda: self._attempt(http),
                self.engine,
                schedule=self._backoff_factory,
                clock=self._clock,
                closed=lambda: self._closed,
            )

    async def _attempt(self, http: httpx.AsyncClient) -> Ended:
        """Connect, serve the connection until it ends, and say how (the dialect's part)."""
        raise NotImplementedError
