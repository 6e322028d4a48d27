"""The thread's message history as AG-UI messages: what the next `RunAgentInput` sends back.

AG-UI agents are stateless between runs: the client sends the whole thread every time (user
messages, the assistant's text and tool calls, the tool results). A run's messages are collected as
its events stream (`text`, `tool_call`, `tool_args`, `tool_result`) and join the thread when the run
ends with an answer (`commit`), or are dropped when it broke off (`discard`), so that a retried
prompt is asked against the history as it stood. A MESSAGES_SNAPSHOT replaces the thread outright:
the agent's word on what the conversation is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ag_ui import core

from console import jsonvalue
from console.jsonvalue import JsonValue


@dataclass(slots=True)
class _Assistant:
    id: str
    parts: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (call id, tool name)


@dataclass(slots=True)
class _Result:
    id: str
    call_id: str
    content: str


class History:
    def __init__(self) -> None:
        self.thread: list[core.Message] = []
        self._run: list[_Assistant | _Result] = []
        self._assistants: dict[str, _Assistant] = {}
        self._args: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def user(self, message_id: str, text: str) -> None:
        self.thread.append(core.UserMessage(id=message_id, content=text))

    def messages(self) -> list[core.Message]:
        return list(self.thread)

    # -- a run's events --------------------------------------------------------------------------

    def text(self, message_id: str, delta: str) -> None:
        self._assistant(message_id).parts.append(delta)

    def tool_call(self, parent: str | None, call_id: str, name: str) -> None:
        self._assistant(parent or f"call-{call_id}").calls.append((call_id, name))
        self._names[call_id] = name

    def tool_name(self, call_id: str) -> str:
        return self._names.get(call_id, "tool")

    def tool_args(self, call_id: str, text: str) -> None:
        self._args[call_id] = text

    def tool_result(self, message_id: str, call_id: str, content: JsonValue) -> None:
        text = content if isinstance(content, str) else jsonvalue.dumps(content)
        self._run.append(_Result(message_id, call_id, text))

    def replace(self, messages: list[core.Message]) -> None:
        self.thread = list(messages)
        self._clear()

    def commit(self) -> None:
        """The run ended with an answer (or paused on one): its messages join the thread."""
        for item in self._run:
            if isinstance(item, _Result):
                self.thread.append(
                    core.ToolMessage(id=item.id, tool_call_id=item.call_id, content=item.content)
                )
                continue
            calls = [
                core.ToolCall(
                    id=cid, function=core.FunctionCall(name=name, arguments=self._args.get(cid, "{}"))
                )
                for cid, name in item.calls
            ]
            content = "".join(item.parts)
            self.thread.append(core.AssistantMessage(id=item.id, content=content, tool_calls=calls or None))
        self._clear()

    def discard(self) -> None:
        self._clear()

    def _assistant(self, message_id: str) -> _Assistant:
        found = self._assistants.get(message_id)
        if found is None:
            found = self._assistants[message_id] = _Assistant(message_id)
            self._run.append(found)
        return found

    def _clear(self) -> None:
        self._run = []
        self._assistants = {}
        self._args = {}
