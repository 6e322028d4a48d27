"""What many tests share: waiting for what a user would see, loopback ports, quick reconnects, servers
started for one test and sessions closed after it."""

from __future__ import annotations

import asyncio
import difflib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from console import jsonvalue
from console.clients import SessionClient
from console.jsonvalue import JsonValue
from console.runtime.reconnect import backoff
from console.transcript import Transcript


async def eventually(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Wait until `condition()` is true; fail the test when it is not within `seconds`."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def assert_same_transcript(
    console: Transcript | JsonValue, truth: Transcript | JsonValue, *, ignore: Collection[str] = ()
) -> None:
    """The console's transcript says what the ground truth says: every message in order (role, text,
    status, the prompt it answers, its stream, every block: text runs, tool calls with their
    results, components with their fields) and every context's snapshots. The console's own message
    ids are not compared (the truth cannot know them), nor the message fields named in `ignore`
    (those a dialect's truth does not tell). On a mismatch the error is a diff of the two, one line
    per field."""
    left, right = (_comparable(t, ignore) for t in (console, truth))
    if left != right:
        diff = difflib.unified_diff(_lines(right), _lines(left), "truth", "console", lineterm="", n=4)
        raise AssertionError("the console's transcript differs from the truth:\n" + "\n".join(diff))


def _comparable(transcript: Transcript | JsonValue, ignore: Collection[str]) -> JsonValue:
    if not isinstance(transcript, Transcript):
        transcript = Transcript.from_json(transcript)
    value = transcript.to_json()
    messages = value["messages"]
    assert isinstance(messages, list)
    for message in messages:
        assert isinstance(message, dict)
        for name in ("id", *ignore):
            message.pop(name, None)
    return value


def _lines(value: JsonValue) -> list[str]:
    return jsonvalue.dumps(value, indent=True, sort_keys=True).splitlines()


def free_port() -> int:
    """A loopback port nobody listens on (yet): for a server to start on, or to fail connecting to."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quick_backoff() -> Iterator[float]:
    """Reconnect delays short enough for a test to watch several attempts."""
    while True:
        yield 0.05


def steady_backoff() -> Iterator[float]:
    """The shipped reconnect schedule with its random first delay pinned to the middle (0.6 s), for a
    test that watches the link recover: a draw near the floor can recover before a check looks."""
    return backoff(rng=lambda: 0.5)


class Server(Protocol):
    async def start(self) -> object: ...

    async def stop(self) -> None: ...


class Closable(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=Server)
A = TypeVar("A")

# Session hubs, supervisors and clients a test opened; the `close_sessions` fixture closes them after it.
OPENED: list[Closable] = []


@asynccontextmanager
async def running(server: S) -> AsyncIterator[S]:
    """`server` started for the block, stopped after it."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def converse(client: SessionClient, prompts: list[str]) -> None:
    """Send each prompt once the previous reply is over, as a user would."""
    for prompt in prompts:
        for _ in range(250):
            if client.connected_once and client.idle:
                break
            await asyncio.sleep(0.02)
        client.send_user_message(prompt)
        await asyncio.sleep(0.05)
        for _ in range(1500):
            if client.idle:
                break
            await asyncio.sleep(0.02)
        assert client.idle, f"no reply to {prompt!r}"


@asynccontextmanager
async def starting(make: Callable[[A], S]) -> AsyncIterator[Callable[[A], Awaitable[S]]]:
    """A function that makes and starts a server from `A` (a script, a config); all stopped after the block."""
    started: list[S] = []

    async def start(arg: A) -> S:
        server = make(arg)
        await server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await server.stop()
