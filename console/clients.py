"""Session clients of every dialect behind one interface, and `DIALECT=URL` targets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol, get_args, runtime_checkable
from urllib.parse import urlsplit

from console.dialects.agent.client import AgentClient
from console.dialects.agui.client import AguiClient
from console.dialects.chat.client import ChatClient
from console.dialects.sse.client import SSEClient
from console.session import Conversation, Message

Dialect = Literal["agent", "sse", "chat", "agui"]
DIALECTS: tuple[str, ...] = get_args(Dialect)


class SessionClient(Protocol):
    url: str
    readonly: bool  # a stream that takes no prompts (SSE conversations)

    @property
    def conversation(self) -> Conversation: ...

    @property
    def idle(self) -> bool: ...

    @property
    def connected_once(self) -> bool: ...

    def start(self) -> asyncio.Task[None]: ...

    async def close(self) -> None: ...

    def send_user_message(self, text: str) -> Message: ...

    def retry(self, message_id: str) -> Message | None: ...

    def drop(self) -> None:
        """Cut the connection as a network failure would; the session recovers by itself."""


@runtime_checkable
class Approvals(Protocol):
    """A session whose runs can pause for the user's approval of a tool call (AG-UI)."""

    def answer(self, call_id: str, approved: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class Target:
    dialect: Dialect
    url: str

    def __str__(self) -> str:
        return f"{self.dialect}={self.url}"


class TargetError(ValueError):
    pass


# The URL schemes each dialect's transport speaks: a URL of any other would be retried forever.
SCHEMES: dict[str, tuple[str, ...]] = {
    "agent": ("ws", "wss"),
    "sse": ("http", "https"),
    "chat": ("ws", "wss"),
    "agui": ("http", "https"),
}


def url_problem(dialect: str, url: str) -> str:
    """Why `url` cannot reach a `dialect` server, in a sentence; empty if it can be tried.

    The one check for every way a target comes in (the command line, the Add-session dialog)."""
    if not url:
        return "A URL is needed."
    schemes = SCHEMES.get(dialect, ("ws", "wss", "http", "https"))
    named = " or ".join(f"{scheme}://" for scheme in schemes)
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes:
        return f"The URL must start with {named} for the {dialect} dialect (got '{url}')."
    if not parts.hostname:
        return f"The URL '{url}' names no host: e.g. {schemes[0]}://127.0.0.1:4747/."
    try:
        parts.port  # noqa: B018 - reading it is the check: a port that is no number raises
    except ValueError:
        return f"The URL '{url}' has a port that is not a number."
    return ""


def parse_target(spec: str) -> Target:
    """`agent=ws://127.0.0.1:4747/ws` -> Target("agent", "ws://...")."""
    dialect, sep, url = spec.partition("=")
    if not sep or not url:
        raise TargetError(f"expected DIALECT=URL, got '{spec}'")
    for known in ("agent", "sse", "chat", "agui"):
        if dialect == known:
            if problem := url_problem(known, url):
                raise TargetError(problem)
            return Target(known, url)
    raise TargetError(f"unknown dialect '{dialect}' (expected one of {', '.join(DIALECTS)})")


def make_client(target: Target) -> SessionClient:
    if target.dialect == "agent":
        return AgentClient(target.url)
    if target.dialect == "chat":
        return ChatClient(target.url)
    if target.dialect == "sse":
        return SSEClient(target.url)
    if target.dialect == "agui":
        return AguiClient(target.url)
    raise TargetError(f"the {target.dialect} dialect is not available in this build")
