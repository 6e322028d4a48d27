"""The message input: Enter or the send button; prompts typed during a reply wait their turn."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import events, ui

from console.clients import SessionClient
from console.connection import ConnectionState
from console.session import Change, ConnectionChanged, Conversation, MessageStatusChanged
from console.ui.scope import on_leave
from console.ui.testid import testid


def stream_controls(client: SessionClient) -> None:
    """A read-only stream has no input: it can be replayed from its start instead."""
    with ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"):
        ui.icon("podcasts").classes("text-slate-500")
        ui.label("A read-only conversation stream.").classes("text-sm text-slate-500")
        ui.space()
        testid(
            ui.button("Replay from the start", icon="replay", on_click=client.restream), "replay-button"
        ).props("outline dense")


class ChatInput(ui.element, component="composer.js"):
    """The text box and its send button, emptied in the browser the moment a prompt is sent."""

    def __init__(self, placeholder: str, on_send: Callable[[str], None]) -> None:
        super().__init__()
        self._props["placeholder"] = placeholder
        self._props["disabled"] = False
        self.on("send", lambda event: self._on_send(event, on_send))

    @staticmethod
    def _on_send(event: events.GenericEventArguments, on_send: Callable[[str], None]) -> None:
        args = event.args[0] if isinstance(event.args, list) and event.args else event.args
        text = args.get("text") if isinstance(args, dict) else None
        if isinstance(text, str):
            on_send(text)

    def set_disabled(self, disabled: bool) -> None:
        if self._props["disabled"] != disabled:
            self._props["disabled"] = disabled
            self.update()


def composer_hint(conversation: Conversation) -> str:
    """What the line under the input says: only what is true (nothing in flight is not "replying")."""
    if conversation.link.state is ConnectionState.CLOSED:
        return "This session is closed."
    if conversation.replying:
        return "The agent is replying; a new message is sent when the reply ends."
    if conversation.queued and not conversation.link.live:
        return "Not connected: queued messages are sent when the connection is back."
    if conversation.queued:
        return "Queued: sent next."
    return ""


class Composer:
    def __init__(self, client: SessionClient) -> None:
        self.client = client
        self.input = testid(
            ChatInput("Message the agent…  (Enter to send, Shift+Enter for a new line)", self.send),
            "chat-input",
        )
        self.hint = ui.label().classes("text-xs text-slate-500 max-w-4xl mx-auto px-4 h-4")
        unsubscribe = client.conversation.subscribe(self._on_change, deltas=False)  # no per-token call
        on_leave(unsubscribe)
        self._refresh()

    def send(self, text: str) -> None:
        """Send what the browser took from the box (it is empty there already)."""
        text = text.strip()
        if not text:
            return
        if self.client.conversation.link.state is ConnectionState.CLOSED:
            # Closed while the prompt was on its way: give the text back rather than drop it.
            self.input.run_method("restore", text)
            ui.notify("This session is closed: the message was not sent.", type="warning")
            return
        self.client.send_user_message(text)
        self._refresh()

    def _on_change(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged | MessageStatusChanged):
            self._refresh()

    def _refresh(self) -> None:
        closed = self.client.conversation.link.state is ConnectionState.CLOSED
        self.input.set_disabled(closed)
        self.hint.set_text(composer_hint(self.client.conversation))
