"""A part of the page replaced whole (a trace opened in place of a session) lets go of its session."""

from __future__ import annotations

import asyncio
import gc
import weakref

from nicegui import ui
from nicegui.testing import User

from console.session import Conversation
from console.ui.chat import ChatView
from console.ui.scope import Scope
from console.ui.status import StatusChip


async def test_views_of_a_replaced_part_stop_following_their_conversation(user: User) -> None:
    conversation = Conversation()
    conversation.add_user_message("hello", 0.0)
    views: list[weakref.ref[object]] = []

    @ui.page("/scoped")
    def scoped() -> None:
        with ui.element("div") as holder, Scope() as scope:
            views.append(weakref.ref(ChatView(conversation, on_retry=lambda _message_id: None)))
            views.append(weakref.ref(StatusChip(conversation)))

        def replace() -> None:
            scope.delete()
            with holder:
                ui.label("replaced")

        ui.button("Replace", on_click=replace)

    await user.open("/scoped")
    await user.should_see("hello")
    user.find("Replace").click()
    await user.should_see("replaced")
    await user.should_not_see("hello")
    # Nothing holds the views any more (a removed element's timer lets go at its next tick): the
    # conversation no longer feeds them.
    for _ in range(50):
        gc.collect()
        if all(ref() is None for ref in views):
            break
        await asyncio.sleep(0.1)
    assert [ref() for ref in views] == [None, None]
    conversation.add_user_message("still streaming", 1.0)
    await user.should_not_see("still streaming")
