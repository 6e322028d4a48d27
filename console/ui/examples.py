"""Example prompts on an empty conversation: a first thing to ask, one click away.

Worded for any agent (what a person would try first with an assistant), and each one something the
embedded agent simulator answers with a different kind of reply: a greeting, a tool call, several tool
calls, a lookup before the answer, a large context snapshot.
"""

from __future__ import annotations

from typing import Final

from nicegui import ui

from console.clients import SessionClient
from console.session import Change, MessageAdded, Reset
from console.ui.scope import on_leave
from console.ui.testid import testid

EXAMPLES: Final = (
    "Hello! Who are you?",
    "Summarize the latest report",
    "Analyze and compare the trends",
    "Look up the definition of churn",
    "Show me the database schema",
)
# A chat assistant that keeps ideas: what its simulator answers with ideas, lists and longer text.
CHAT_EXAMPLES: Final = (
    "Hello! What can you do?",
    "Suggest a few dinner ideas",
    "Give me some names for a new project",
    "Explain in detail how to plan a trip",
)


class ExamplePrompts:
    """Chips that send an example; shown while the conversation is empty and it can take prompts."""

    def __init__(self, client: SessionClient, examples: tuple[str, ...] = EXAMPLES) -> None:
        self.client = client
        with testid(ui.element("div").classes("ac-examples"), "example-prompts") as self.root:
            ui.label("Try asking:").classes("ac-examples-title")
            for text in examples:
                button = ui.button(text, on_click=lambda text=text: self.send(text)).props(
                    "outline no-caps dense"
                )
                testid(button, "example-prompt")
        self._sync()
        on_leave(client.conversation.subscribe(self._on_change, deltas=False))

    def _on_change(self, change: Change) -> None:
        if isinstance(change, (MessageAdded, Reset)):
            self._sync()

    def _sync(self) -> None:
        empty = not self.client.conversation.messages and self.client.capabilities.prompts
        if self.root.visible != empty:
            self.root.set_visibility(empty)

    def send(self, text: str) -> None:
        self.client.send_user_message(text)
