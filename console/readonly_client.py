"""A session with no connection of its own: its conversation is filled from elsewhere (a trace file, spans
received over OTLP, another console's store). Nothing can be sent on it and nothing needs to run; its
task is an empty one, so that it is supervised like any other session."""

from __future__ import annotations

import asyncio

from console.capabilities import WATCHED, Defaults
from console.session import Conversation, Message


class ReadOnlyClient(Defaults):
    capabilities = WATCHED

    def __init__(self, url: str, task_name: str) -> None:
        self.url = url
        self._task_name = task_name
        self._task: asyncio.Task[None] | None = None

    @property
    def conversation(self) -> Conversation:
        raise NotImplementedError

    @property
    def idle(self) -> bool:
        return True

    @property
    def connected_once(self) -> bool:
        return True

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(_nothing(), name=self._task_name)
        return self._task

    async def close(self) -> None:
        pass

    def send_user_message(self, text: str) -> Message:
        raise NotImplementedError

    def retry(self, message_id: str) -> Message | None:
        return None

    def drop(self) -> None:
        """Nothing to drop (`capabilities.drop` is False): there is no connection of this session's own."""


async def _nothing() -> None:
    return None
