"""A page is bound to a session id, not to a client: it follows the session when the supervisor gives
it a new client (after a crash, or on request) and says so when the session is removed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from console.clients import SessionClient, Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.dialects.chat.client import ChatClient
from console.sim.agent import AgentSimulator, SimConfig
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.supervisor import RestartPolicy, Supervisor
from console.ui import page
from tests.helpers import OPENED, eventually, running

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=5, time_scale=0.2, ping_interval=0.5))) as simulator:
        yield simulator


def quick_client(target: Target) -> SessionClient:
    return AgentClient(target.url, AgentEngine(config=EngineConfig(gap_timeout=1.0)))


class CrashOnDemand(AgentClient):
    """A client with a bug that shows when the test says: its task dies with an exception."""

    def __init__(self, url: str) -> None:
        super().__init__(url, AgentEngine(config=EngineConfig(gap_timeout=1.0)))
        self.bug = asyncio.Event()

    async def run(self) -> None:
        running = asyncio.create_task(super().run())
        await self.bug.wait()
        running.cancel()
        raise RuntimeError("boom")


async def open_page(user: User, sim: AgentSimulator, client: AgentClient) -> Supervisor:
    sup = Supervisor(policy=RestartPolicy(initial=0.1), factory=quick_client, close_timeout=0.5)
    OPENED.append(sup)
    sup.add(Target("agent", client.url), name="agent", client=client)
    page.register(sup)
    await user.open("/session/agent")
    await eventually(lambda: client.connected_once)
    return sup


def send(user: User, text: str) -> None:
    # What the browser's composer emits when Enter takes the text from the box.
    user.find(marker="chat-input").trigger("send", {"text": text})


def replaced(sup: Supervisor, old: SessionClient) -> bool:
    entry = sup.get("agent")
    return entry is not None and entry.client is not old and entry.client.connected_once


async def test_an_open_page_follows_its_session_across_a_restart_after_a_crash(
    user: User, sim: AgentSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    buggy = CrashOnDemand(f"{sim.url}?session=crash")
    sup = await open_page(user, sim, buggy)
    send(user, "hello there")
    await user.should_see("hello there")
    await eventually(lambda: buggy.idle)
    buggy.bug.set()
    await eventually(lambda: replaced(sup, buggy))
    # Typed into the page opened before the restart: it goes to the new client, and its reply shows.
    send(user, "summarize the q3 report")
    await user.should_see("summarize the q3 report")
    await user.should_see("lookup_metric", retries=100)
    await user.should_see("hello there")  # what came before the restart is still there
    await user.should_see("restarted after a crash: RuntimeError: boom")
    # The crash is logged as the error it is; that one was this test's doing.
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "session agent crashed (RuntimeError: boom); restarting in 0.1 s"
    ]
    caplog.clear()


async def test_a_restart_on_request_and_a_removal_reach_the_open_page(
    user: User, sim: AgentSimulator
) -> None:
    first = quick_client(Target("agent", f"{sim.url}?session=asked"))
    assert isinstance(first, AgentClient)
    sup = await open_page(user, sim, first)
    user.find(marker="restart-session").click()  # the ⋮ menu of the session
    await eventually(lambda: replaced(sup, first))
    await user.should_see("restarted on request")
    send(user, "summarize the q3 report")
    await user.should_see("lookup_metric", retries=100)
    await sup.remove("agent")
    await user.should_see(marker="session-removed")
    await user.should_not_see(marker="chat-input")


async def test_a_chat_page_follows_its_session_across_a_restart(user: User) -> None:
    async with running(ChatSimulator(ChatSimConfig(token_delay=0.005, think_delay=0))) as chat:
        sup = Supervisor(close_timeout=0.5)
        OPENED.append(sup)
        first = ChatClient(chat.url)
        sup.add(Target("chat", chat.url), name="chat", client=first)
        page.register(sup)
        await user.open("/session/chat")
        await eventually(lambda: first.connected_once)
        user.find(marker="restart-session").click()
        await eventually(lambda: (e := sup.get("chat")) is not None and e.client is not first)
        await user.should_see("restarted on request")
        send(user, "suggest dinner ideas")
        await user.should_see("suggest dinner ideas")
        await user.should_see(marker="saved-idea", retries=100)  # the new client's reply, on this page
