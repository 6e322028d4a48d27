"""What every transport's client shares, whatever carries its frames: one task runs the client's loop
(`run`), started once; `close` ends it and then closes the engine, so that a drop reported while the
loop winds down finds the session already on its way out and the CLOSED row comes last."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Generic, Protocol, TypeVar

from console.capabilities import Defaults
from console.runtime.reconnect import Clock


class ClosableEngine(Protocol):
    """What the shared lifecycle needs of any dialect's engine."""

    @property
    def connections(self) -> int: ...

    def close(self, now: float) -> None: ...


E = TypeVar("E", bound=ClosableEngine)


class ClientTask(Defaults, Generic[E]):
    """A session's client whose loop runs in one task; a transport subclasses it and writes `run`."""

    url: str
    engine: E
    _clock: Clock

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected_once(self) -> bool:
        return self.engine.connections > 0

    def task_name(self) -> str:
        return f"{type(self).__name__} {self.url}"

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.task_name())
        return self._task

    async def close(self) -> None:
        self._closed = True
        await self._closing()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.engine.close(self._clock())

    async def _closing(self) -> None:
        """What the transport does before its loop is cancelled (a WebSocket's closing handshake)."""

    async def run(self) -> None:
        raise NotImplementedError
