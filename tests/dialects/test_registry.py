"""Every dialect is found through the registry: the command line, `parse_target`, clients, the dialog."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

import main
from console.clients import Target, TargetError, make_client, parse_target
from console.dialects import base as registry
from console.supervisor import Supervisor
from console.ui import page
from tests.helpers import OPENED

pytestmark = pytest.mark.usefixtures("close_sessions")

BUILT_IN = ("agent", "agui", "chat", "sse")


def test_the_built_in_dialects_are_registered_without_a_list_anywhere() -> None:
    assert set(BUILT_IN) <= set(registry.names())
    assert registry.names() == tuple(sorted(registry.names()))


@pytest.mark.parametrize("name", BUILT_IN)
async def test_each_dialect_takes_its_example_url_and_refuses_another_scheme(name: str) -> None:
    dialect = registry.find(name)
    assert dialect is not None
    assert parse_target(f"{name}={dialect.example_url}") == Target(name, dialect.example_url)
    wrong = "http" if "ws" in dialect.schemes else "ws"
    with pytest.raises(TargetError, match=f"must start with {dialect.schemes[0]}://"):
        parse_target(f"{name}={wrong}://127.0.0.1:1/")


@pytest.mark.parametrize("name", BUILT_IN)
async def test_a_client_can_do_what_its_dialect_says(name: str) -> None:
    dialect = registry.find(name)
    assert dialect is not None
    client = make_client(Target(name, dialect.example_url))
    OPENED.append(client)
    assert client.capabilities == dialect.capabilities  # what the pages ask of the session
    assert hasattr(client, "conversations") is dialect.capabilities.conversations


def test_an_unknown_dialect_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(TargetError) as refused:
        parse_target("carrier-pigeon=ws://127.0.0.1:1/")
    assert f"expected one of {', '.join(registry.names())}" in str(refused.value)


def test_a_second_dialect_of_a_known_name_is_refused() -> None:
    agent = registry.find("agent")
    assert agent is not None
    with pytest.raises(ValueError, match="registered already"):
        registry.register(registry.Dialect("agent", "another", ("ws",), agent.client))
    with pytest.raises(ValueError, match="lower case"):
        registry.Dialect("a=b", "bad", ("ws",), agent.client)


def test_the_command_line_simulates_only_registered_dialects() -> None:
    assert set(BUILT_IN) == set(main.SIMULATORS) and set(main.SIMULATORS) <= set(registry.names())


async def test_the_add_session_dialog_offers_every_dialect_with_its_example_url(user: User) -> None:
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    page.register(sup)
    await user.open("/")
    user.find(marker="add-session").click()
    select = user.find(marker="add-dialect").elements.pop()
    assert isinstance(select, ui.select)
    assert list(select.options) == list(registry.names())
    url = user.find(marker="add-url").elements.pop()
    select.set_value("sse")
    sse = registry.find("sse")
    assert sse is not None
    assert url.props["placeholder"] == sse.example_url
