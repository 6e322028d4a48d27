"""An uploaded trace belongs to the visitor who opened it: nobody else sees it listed or opens its page."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from console.clients import Target
from console.dialects.agent.engine import AgentEngine
from console.security.policy import Limits, SecurityPolicy, set_current
from console.session import Conversation
from console.supervisor import Supervisor
from console.trace_io import export_jsonl, open_trace
from console.ui import page
from tests.helpers import OPENED

pytestmark = pytest.mark.usefixtures("close_sessions")


def a_trace() -> str:
    engine = AgentEngine(Conversation())
    engine.connected(1.0)
    engine.send_user_message("hi", 1.5)
    return export_jsonl(engine.conversation, wall_offset=1_000_000.0)


async def test_another_visitors_trace_is_neither_listed_nor_opened(user: User) -> None:
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    sup.add(Target("agent", "ws://127.0.0.1:9/ws"), name="for-everyone")
    theirs = open_trace(a_trace(), "theirs.jsonl")
    sup.add(Target("agent", theirs.url), name="trace theirs", client=theirs, owner="another-browser")
    mine = open_trace(a_trace(), "mine.jsonl")
    sup.add(Target("agent", mine.url), name="trace mine", client=mine, owner="")
    page.register(sup)
    await user.open("/")
    await user.should_see("trace mine")
    await user.should_see("for-everyone")
    await user.should_not_see("trace theirs")
    await user.open("/session/trace-theirs")
    await user.should_see("There is no session 'trace-theirs' here.")


async def test_an_opened_trace_is_its_visitors_own(user: User) -> None:
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    sup.add(Target("agent", "ws://127.0.0.1:9/ws"), name="live")
    page.register(sup)
    await user.open("/session/live")
    upload = user.find(ui.upload).elements.pop()
    assert isinstance(upload, ui.upload)
    await upload.handle_uploads(
        [ui.upload.SmallFileUpload("q3.jsonl", "application/x-ndjson", a_trace().encode())]
    )
    await user.should_see("trace q3.jsonl")
    opened = [e for e in sup.sessions.values() if e.name == "trace q3.jsonl"]
    assert len(opened) == 1 and opened[0].owner == ""  # the simulated user's visitor id


async def test_one_visitor_cannot_fill_the_console_with_traces(user: User, policy: None) -> None:
    set_current(SecurityPolicy(limits=Limits(max_traces_per_visitor=1)))
    sup = Supervisor(close_timeout=0.5)
    OPENED.append(sup)
    sup.add(Target("agent", "ws://127.0.0.1:9/ws"), name="live")
    page.register(sup)
    await user.open("/session/live")
    for name in ("a.jsonl", "b.jsonl"):
        [upload] = [u for u in user.find(ui.upload).elements if not u.is_deleted]
        assert isinstance(upload, ui.upload)
        await upload.handle_uploads(
            [ui.upload.SmallFileUpload(name, "application/x-ndjson", a_trace().encode())]
        )
        if name == "a.jsonl":
            await user.should_see("trace a.jsonl")  # opened in place of the live session
    await user.should_see("You already have 1 traces open (the limit is 1): remove one first.")
    assert [e.name for e in sup.sessions.values()] == ["live", "trace a.jsonl"]
