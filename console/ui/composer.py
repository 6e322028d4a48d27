"""The message input: Enter or the send button; prompts typed during a reply wait their turn."""

from __future__ import annotations

from nicegui import ui

from console.clients import SessionClient
from console.connection import ConnectionState
from console.session import Change, ConnectionChanged, Conversation, MessageStatusChanged
from console.transport.sse import SSEClient
from console.ui.elements import on_leave


def stream_controls(client: SSEClient) -> None:
    """A read-only stream has no input: it can be replayed from its start instead."""
    with ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"):
        ui.icon("podcasts").classes("text-slate-500")
        ui.label("A read-only conversation stream.").classes("text-sm text-slate-500")
        ui.space()
        ui.button("Replay from the start", icon="replay", on_click=client.replay).props(
            "outline dense data-testid=replay-button"
        )


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
        if isinstance(client, SSEClient):
            stream_controls(client)
            return
        with ui.row().classes("w-full max-w-4xl mx-auto items-end gap-2 no-wrap px-2"):
            self.input = (
                ui.textarea(placeholder="Message the agent…  (Enter to send, Shift+Enter for a new line)")
                .props("autogrow outlined dense rows=1 data-testid=chat-input")
                .classes("grow")
                .mark("chat-input")
            )
            self.button = (
                ui.button(icon="send", on_click=self.send)
                .props("round data-testid=send-button")
                .mark("send-button")
            )
        self.hint = ui.label().classes("text-xs text-slate-500 max-w-4xl mx-auto px-4 h-4")
        # Enter sends; Shift+Enter keeps its newline.
        self.input.on(
            "keydown.enter",
            self._on_enter,
            js_handler="(e) => { if (!e.shiftKey) { e.preventDefault(); emit(); } }",
        )
        unsubscribe = client.conversation.subscribe(self._on_change)
        on_leave(unsubscribe)
        self._refresh()

    def _on_enter(self) -> None:
        self.send()

    def send(self) -> None:
        text = (self.input.value or "").strip()
        if not text:
            return
        self.input.value = ""
        self.client.send_user_message(text)
        self._refresh()

    def _on_change(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged | MessageStatusChanged):
            self._refresh()

    def _refresh(self) -> None:
        closed = self.client.conversation.link.state is ConnectionState.CLOSED
        self.button.set_enabled(not closed)
        self.input.set_enabled(not closed)
        self.hint.set_text(composer_hint(self.client.conversation))
