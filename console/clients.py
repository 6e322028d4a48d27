"""Session clients of every dialect behind one interface, and `DIALECT=URL` targets.

The dialects themselves are found in the registry (`console.dialects.base`): this module names none."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from console.capabilities import Capabilities, Recording
from console.dialects import base as registry
from console.session import Conversation, Message


class SessionClient(Protocol):
    """A session's connection and conversation, as the supervisor and the pages use it. What it can do
    is asked of `capabilities` (its dialect's, or less: see console/capabilities.py), never of its class."""

    url: str

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def recording(self) -> Recording | None:
        """Set for a session fed from a recording: where its times come from."""

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

    def answer(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a tool call a paused run asks about (`capabilities.approvals`)."""

    def restream(self) -> None:
        """Show the conversation again from its start (`capabilities.replay`)."""


@dataclass(frozen=True, slots=True)
class Target:
    dialect: str  # the name of a registered dialect
    url: str

    def __str__(self) -> str:
        return f"{self.dialect}={self.url}"


class TargetError(ValueError):
    pass


def url_problem(dialect: str, url: str) -> str:
    """Why `url` cannot reach a `dialect` server, in a sentence; empty if it can be tried.

    The one check for every way a target comes in (the command line, the Add-session dialog)."""
    if not url:
        return "A URL is needed."
    known = registry.find(dialect)
    schemes = known.schemes if known else ("ws", "wss", "http", "https")
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
    if registry.find(dialect) is None:
        raise TargetError(f"unknown dialect '{dialect}' (expected one of {', '.join(registry.names())})")
    if problem := url_problem(dialect, url):
        raise TargetError(problem)
    return Target(dialect, url)


def make_client(target: Target) -> SessionClient:
    dialect = registry.find(target.dialect)
    if dialect is None:
        raise TargetError(f"the {target.dialect} dialect is not available in this build")
    return dialect.client(target.url)
