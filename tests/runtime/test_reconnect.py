"""The one reconnect loop: its backoff, its table of failures, and every client running it over loopback."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import accumulate, islice

import httpx
import pytest
import websockets
from websockets.datastructures import Headers
from websockets.http11 import Response

from console.dialects.agent.client import AgentClient
from console.dialects.agui.client import AguiClient
from console.dialects.chat.client import ChatClient
from console.dialects.sse.client import SSEClient
from console.record import RecordError, record
from console.runtime.reconnect import Ended, Policy, backoff, classify, reconnect, status_policy
from console.session import Conversation
from console.ui.status import describe
from tests.helpers import eventually, quick_backoff
from tests.hostile.servers import RawHTTPServer

Client = AgentClient | ChatClient | SSEClient | AguiClient
CLIENTS: dict[str, Callable[[str], Client]] = {
    "agent": lambda url: AgentClient(url.replace("http:", "ws:"), backoff_factory=quick_backoff),
    "chat": lambda url: ChatClient(url.replace("http:", "ws:"), backoff_factory=quick_backoff),
    "sse": lambda url: SSEClient(url, backoff_factory=quick_backoff),
    "agui": lambda url: AguiClient(url, backoff_factory=quick_backoff),
}

# -- the schedule -----------------------------------------------------------------------------------


def test_after_a_random_first_delay_the_schedule_doubles_up_to_its_cap() -> None:
    delays = backoff(rng=lambda: 0.25)
    assert list(islice(delays, 8)) == [0.35, 0.5, 1, 2, 4, 8, 10, 10]


def test_a_thousand_sessions_dropped_together_do_not_come_back_together() -> None:
    sessions = 1000
    schedules = [list(islice(backoff(), 4)) for _ in range(sessions)]
    first = [s[0] for s in schedules]
    assert all(0.1 <= d < 1.1 for d in first)
    # Spread over a whole second: no tenth of it takes more than twice its share.
    per_tenth = [sum(1 for d in first if 0.1 + k / 10 <= d < 0.1 + (k + 1) / 10) for k in range(10)]
    assert max(per_tenth) < 2 * sessions / 10 and min(per_tenth) > sessions / 10 / 2
    # And they stay apart while the upstream is still down: every attempt's times are as spread.
    for attempt in range(4):
        at = [list(accumulate(s))[attempt] for s in schedules]
        assert statistics.pstdev(at) > 0.25  # uniform over 1 s: 0.29
        assert len({round(t, 3) for t in at}) > sessions * 0.6  # hardly two within a millisecond


# -- the table of failures --------------------------------------------------------------------------


def _refused(status: int) -> websockets.InvalidStatus:
    return websockets.InvalidStatus(Response(status, "", Headers()))


@pytest.mark.parametrize(
    ("failure", "policy"),
    [
        (ConnectionRefusedError(111, "Connection refused"), Policy.RETRY),
        (TimeoutError(), Policy.RETRY),
        (httpx.ReadError("cut"), Policy.RETRY),
        (httpx.ConnectTimeout("slow"), Policy.RETRY),
        (_refused(503), Policy.RETRY),
        (_refused(429), Policy.RETRY),
        (_refused(401), Policy.AUTH),
        (_refused(403), Policy.AUTH),
        (_refused(404), Policy.GIVE_UP),
        (websockets.InvalidURI("nope", "not a URI"), Policy.GIVE_UP),
        (httpx.UnsupportedProtocol("gopher"), Policy.GIVE_UP),
        (httpx.InvalidURL("bad"), Policy.GIVE_UP),
        (ValueError("a bug, not the network"), None),
    ],
)
def test_one_table_decides_which_failures_are_retried(failure: BaseException, policy: Policy | None) -> None:
    assert classify(failure) is policy


def test_an_http_status_is_retried_only_when_the_server_may_answer_otherwise_later() -> None:
    assert [status_policy(s) for s in (500, 502, 408, 429, 204, 200, 301, 400, 404, 407)] == [
        Policy.RETRY,
        Policy.RETRY,
        Policy.RETRY,
        Policy.RETRY,
        Policy.GIVE_UP,
        Policy.GIVE_UP,
        Policy.GIVE_UP,
        Policy.GIVE_UP,
        Policy.GIVE_UP,
        Policy.AUTH,
    ]


# -- the loop -----------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.told: list[tuple[str, float]] = []
        self.gave_up: list[tuple[str, Policy]] = []

    def disconnected(self, now: float, reason: str, retry_in: float) -> None:
        self.told.append((reason, retry_in))

    def give_up(self, now: float, reason: str, policy: Policy) -> None:
        self.gave_up.append((reason, policy))


def counting() -> Iterator[float]:
    yield from (0.001 * n for n in range(1, 100))


async def run_loop(ends: list[Ended], rng: Callable[[], float] = lambda: 0.5) -> Recorder:
    recorder = Recorder()
    pending = iter(ends)

    async def attempt() -> Ended:
        return next(pending)

    await reconnect(attempt, recorder, schedule=counting, clock=lambda: 0.0, closed=lambda: False, rng=rng)
    return recorder


async def test_a_good_connection_starts_the_schedule_afresh_and_a_final_failure_stops_the_loop() -> None:
    recorder = await run_loop(
        [
            Ended("refused"),
            Ended("refused"),
            Ended("dropped", connected=True),
            Ended("refused"),
            Ended("HTTP 401", policy=Policy.AUTH),
        ]
    )
    assert recorder.told == [("refused", 0.001), ("refused", 0.002), ("dropped", 0.001), ("refused", 0.002)]
    assert recorder.gave_up == [("HTTP 401", Policy.AUTH)]


async def test_a_dialects_own_delay_is_spread_after_a_good_connection_and_a_replay_goes_at_once() -> None:
    recorder = await run_loop(
        [
            Ended("dropped", connected=True, delay=0.02),  # a server's retry hint: stretched by up to 100 %
            Ended("barren", delay=0.04),  # after a fetch that brought nothing: as the dialect says
            Ended("replay", report=False),  # the user asked for it: no failure, no wait
            Ended("gap", connected=True, delay=0.0),  # the engine wants frames replayed: at once
            Ended("/", policy=Policy.GIVE_UP),
        ]
    )
    assert recorder.told == [("dropped", 0.03), ("barren", 0.04), ("gap", 0.0)]


# -- every client over loopback ---------------------------------------------------------------------


async def answering(status: str) -> RawHTTPServer:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())

    server = RawHTTPServer(script)
    await server.start()
    return server


@pytest.fixture
async def silent() -> AsyncIterator[RawHTTPServer]:
    """Accepts every connection and never answers (a handshake or a response that never comes)."""

    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        await asyncio.sleep(3600)

    server = RawHTTPServer(script)
    await server.start()
    yield server
    await server.stop()


def rows(conversation: Conversation) -> list[str]:
    return [row.kind for row in conversation.trace if row.direction == "client"]


@pytest.mark.parametrize("name", ["agent", "chat", "sse"])
async def test_a_refused_credential_is_not_retried_and_the_session_says_why(name: str) -> None:
    server = await answering("401 Unauthorized")
    client = CLIENTS[name](server.url)
    task = client.start()
    try:
        await asyncio.wait_for(task, 5)  # the loop ends: nothing more to try
        conversation = client.conversation
        assert conversation.link.state == "closed" and "401" in conversation.link.detail
        assert describe(conversation.link, 0.0) == "The server refused access"
        assert rows(conversation) == ["CONNECT_FAILED"]
        assert "credentials" in conversation.notices[-1].text
        await asyncio.sleep(0.2)
        assert len(server.requests) == 1  # asked once, not hammered
    finally:
        await client.close()
        await server.stop()


@pytest.mark.parametrize("name", ["agent", "chat", "sse"])
async def test_a_server_error_is_retried(name: str) -> None:
    server = await answering("503 Service Unavailable")
    client = CLIENTS[name](server.url)
    client.start()
    try:
        await eventually(lambda: len(server.requests) >= 3)
        assert client.conversation.link.state == "connecting"
        assert set(rows(client.conversation)) == {"CONNECT_FAILED"}
    finally:
        await client.close()
        await server.stop()


async def test_recording_from_an_upstream_that_refuses_our_credentials_fails_at_once_saying_so() -> None:
    server = await answering("403 Forbidden")
    try:
        client = CLIENTS["agent"](server.url)
        with pytest.raises(RecordError, match=r"cannot reach ws://.*: 1 connection attempt failed .*403"):
            await asyncio.wait_for(record(client, ["hello"], within=60), 5)
    finally:
        await server.stop()


async def test_an_agui_agent_at_an_address_httpx_cannot_speak_to_is_not_retried() -> None:
    client = AguiClient("ftp://127.0.0.1/agent", backoff_factory=quick_backoff)
    await asyncio.wait_for(client.start(), 5)
    assert client.conversation.link.state == "closed"
    shown = describe(client.conversation.link, 0.0)  # what the status chip says
    assert shown == "That is not an address the console can connect to"
    assert rows(client.conversation) == ["CONNECT_FAILED"]
    await client.close()


@pytest.mark.parametrize("name", list(CLIENTS))
async def test_closing_while_connecting_closes_once_and_ends_the_loop(
    name: str, silent: RawHTTPServer
) -> None:
    client = CLIENTS[name](silent.url)
    task = client.start()
    await eventually(lambda: silent.requests)  # the attempt is under way, its answer never comes
    await client.close()
    assert task.done()
    assert client.conversation.link.state == "closed"
    assert rows(client.conversation) == ["CLOSED"]
