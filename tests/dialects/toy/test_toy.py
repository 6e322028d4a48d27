"""A dialect added as one folder (this one) works end to end: registered, named on the command line's
`NAME=URL`, and a session over it receives a reply from a real server on loopback."""

from __future__ import annotations

import pytest

from console.clients import TargetError, parse_target
from console.dialects import base as registry
from console.supervisor import Supervisor
from tests.dialects.toy.server import ToyServer
from tests.helpers import OPENED, eventually, running

pytestmark = pytest.mark.usefixtures("close_sessions")


def test_the_toy_dialect_is_registered_by_its_folder_alone() -> None:
    assert "toy" in registry.names()
    assert parse_target("toy=ws://127.0.0.1:4000/").dialect == "toy"
    with pytest.raises(TargetError, match="must start with ws://"):
        parse_target("toy=http://127.0.0.1:4000/")


async def test_a_session_over_the_toy_dialect_receives_its_reply() -> None:
    async with running(ToyServer()) as server:
        supervisor = Supervisor(close_timeout=0.5)
        OPENED.append(supervisor)
        entry = supervisor.add(parse_target(f"toy={server.url}"), name="toy")
        entry.client.send_user_message("hello toy")
        conversation = entry.client.conversation
        await eventually(
            lambda: len(conversation.messages) == 2 and conversation.messages[1].status == "done"
        )
        assert conversation.messages[1].text == "you said: hello toy "
        assert conversation.link.state.value == "open"
