"""A long conversation is drawn a page of messages at a time, newest first, earlier ones on demand."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from console.session import Conversation
from console.ui.chat import MESSAGES_PER_PAGE, ChatView
from tests.helpers import eventually


def drawn(user: User) -> list[str]:
    """The message ids in the chat, top to bottom."""
    return [
        str(e.props["data-message-id"])
        for e in user.current_layout.descendants()
        if e.props.get("data-testid") == "message"
    ]


async def test_a_long_conversation_shows_its_last_page_and_earlier_pages_on_demand(user: User) -> None:
    conversation = Conversation()
    for n in range(100):
        conversation.add_user_message(f"question {n}", float(n))
    ids = [m.id for m in conversation.messages]

    @ui.page("/long")
    def long_chat() -> None:
        ChatView(conversation, on_retry=lambda _message_id: None)

    await user.open("/long")
    assert MESSAGES_PER_PAGE == 20
    # The newest message first, in the page's first message to the browser; the rest of the page
    # above it a few per tick.
    assert drawn(user) == ids[-1:]
    await eventually(lambda: drawn(user) == ids[-20:], 5.0)
    await user.should_see("Show earlier messages (80 more)")

    user.find("Show earlier messages (80 more)").click()
    await eventually(lambda: drawn(user) == ids[-40:], 5.0)  # the earlier page goes above, in order
    for shown, more in ((60, 60), (80, 40), (100, 20)):
        user.find(f"Show earlier messages ({more} more)").click()
        await eventually(lambda: len(drawn(user)) >= shown, 5.0)  # noqa: B023 (awaited within the iteration)
    assert drawn(user) == ids
    await user.should_not_see("Show earlier messages")

    conversation.add_user_message("one more", 100.0)
    assert drawn(user) == [*ids, conversation.messages[-1].id]  # new messages still go at the end


async def test_a_short_conversation_has_no_earlier_button(user: User) -> None:
    conversation = Conversation()
    conversation.add_user_message("hello", 0.0)

    @ui.page("/short")
    def short_chat() -> None:
        ChatView(conversation, on_retry=lambda _message_id: None)

    await user.open("/short")
    assert len(drawn(user)) == 1
    await user.should_not_see("Show earlier messages")
