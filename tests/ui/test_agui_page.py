"""An AG-UI session's page through NiceGUI's simulated user, against the simulated AG-UI agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nicegui import ui
from nicegui.testing import User

from console.clients import Target, TargetError, parse_target
from console.dialects.agui.client import AguiClient
from console.session import Change, ToolArgsAppended
from console.sim.agui import AguiSimulator, SimConfig
from console.supervisor import Supervisor
from console.ui import page
from console.ui.stream_text import StreamText
from tests.helpers import OPENED, eventually, running

pytestmark = pytest.mark.usefixtures("close_sessions")


@pytest.fixture
async def sim() -> AsyncIterator[AguiSimulator]:
    async with running(AguiSimulator(SimConfig(delay=0.04))) as simulator:
        yield simulator


def elements_with(user: User, testid: str) -> list[ui.element]:
    assert user.client is not None
    return [e for e in user.client.elements.values() if e.props.get("data-testid") == testid]


async def test_tool_arguments_stream_then_parse_and_approve_resumes_the_run(
    user: User, sim: AguiSimulator
) -> None:
    hub = Supervisor()
    OPENED.append(hub)
    client = AguiClient(sim.url)
    hub.add(Target("agui", sim.url), name="agui", client=client)
    page.register(hub)
    await user.open("/")
    await eventually(lambda: client.connected_once)

    streaming: list[bool] = []

    def listen(change: Change) -> None:
        if isinstance(change, ToolArgsAppended):  # the chat has taken it already (it listens first)
            streaming.append(any(isinstance(e, StreamText) for e in elements_with(user, "tool-args-stream")))

    client.conversation.subscribe(listen)
    client.send_user_message("buy milk")
    await eventually(lambda: client.idle)
    # The card showed its arguments as a growing text run while they streamed, then parsed JSON.
    assert streaming == [True, True, True]
    await eventually(lambda: not elements_with(user, "tool-args-stream"))
    [card] = elements_with(user, "tool-card")
    assert card.props["data-status"] == "done"
    await user.should_see('{"title":"buy milk","priority":2}')
    assert elements_with(user, "reasoning"), "the reasoning is there, collapsed"

    client.send_user_message("delete everything")
    await eventually(lambda: bool(elements_with(user, "approve-button")))
    await user.should_see("Delete all 1 to-dos?")
    assert not elements_with(user, "retry-button"), "a run waiting for an answer offers no Retry"
    user.find(kind=ui.button, content="Approve").click()
    await eventually(lambda: client.idle and client.conversation.messages[-1].status == "done")
    assert client.conversation.messages[-1].text.endswith("Deleted them all.")  # text streams in the browser
    await user.should_see("You approved this call.")
    assert not elements_with(user, "tool-approval")


def test_agui_targets_are_http_urls() -> None:
    assert parse_target("agui=http://127.0.0.1:8000/agent") == Target("agui", "http://127.0.0.1:8000/agent")
    with pytest.raises(TargetError, match="http://"):
        parse_target("agui=ws://127.0.0.1:8000/agent")
