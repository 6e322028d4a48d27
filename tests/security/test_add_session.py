"""The Add-session dialog refuses what a visitor must not make the console connect to, and the cap."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from console.clients import Target
from console.security.policy import Limits, SecurityPolicy, set_current
from console.supervisor import Supervisor
from console.ui import page
from tests.helpers import OPENED

pytestmark = pytest.mark.usefixtures("close_sessions")


async def open_dialog(user: User, *sessions: str) -> Supervisor:
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    for name in sessions:
        sup.add(Target("agent", "ws://127.0.0.1:9/ws"), name=name)
    page.register(sup)
    await user.open("/")
    user.find(marker="add-session").click()
    return sup


def type_url(user: User, url: str) -> None:
    field = user.find(marker="add-url").elements.pop()
    assert isinstance(field, ui.input)
    field.set_value(url)
    user.find(marker="add-submit").click()


async def test_the_cloud_metadata_address_is_refused(user: User) -> None:
    sup = await open_dialog(user, "one", "two")
    type_url(user, "ws://169.254.169.254/latest/meta-data/")
    await user.should_see("link-local and cloud-metadata addresses are never allowed")
    type_url(user, "ws://[fd00:ec2::254]/ws")
    await user.should_see("link-local and cloud-metadata addresses are never allowed")
    assert sorted(sup.sessions) == ["one", "two"]


async def test_an_exposed_console_refuses_loopback_upstreams_from_visitors(user: User, policy: None) -> None:
    set_current(SecurityPolicy(host="0.0.0.0", token="t"))
    sup = await open_dialog(user, "one", "two")
    type_url(user, "ws://127.0.0.1:4747/ws")
    await user.should_see("loopback and private addresses are not allowed from the network")
    assert sorted(sup.sessions) == ["one", "two"]


async def test_the_session_cap_says_so(user: User, policy: None) -> None:
    set_current(SecurityPolicy(limits=Limits(max_sessions=2)))
    sup = await open_dialog(user, "one", "two")
    type_url(user, "ws://127.0.0.1:4747/ws")
    await user.should_see("The console already runs 2 sessions (the limit is 2): remove one first.")
    assert sorted(sup.sessions) == ["one", "two"]
