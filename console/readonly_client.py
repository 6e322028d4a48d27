"""A session with no connection of its own: its conversation is filled from elsewhere (a trace file, spans
received over OTLP, another console's store). Nothing can be sent on it and nothing needs to run; its
task is an empty one, so that it is supervised like any other session. What it can do is declared by
`capabilities` (console/capabilities.py): a subclass says what differs (a recording is not live)."""

from __future__ import annotations

import asyncio

from console.capabilities import WATCHED, Defaults
from console.session import Conversation, Message


class TakesNoPrompts(RuntimeError):
    """Something was sent to a session that takes no prompts (`capabilities.prompts` is False)."""


class ReadOnlyClient(Defaults):
    capabilities = WATCHED

    def __init__(self, url: str, task_name: str, conversation: Conversation, refusal: str) -> None:
        self.url = url
        self._task_name = task_name
        self._task: asyncio.Task[None] | None = None
        self._conversation = conversation
        self._refusal = refusal  # why nothing can be sent, in a sentence

    @property
    def conversation(self) -> Conversation:
        return self._conversation

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
        raise TakesNoPrompts(self._refusal)

    def retry(self, message_id: str) -> Message | None:
        return None

    def drop(self) -> None:
        """Nothing to drop (`capabilities.drop` is False): there is no connection of this session's own."""


async def _nothing() -> None:
    return None
