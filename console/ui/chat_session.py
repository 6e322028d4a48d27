"""The page of a chat-dialect session: the agent console's frame plus conversations and saved ideas.

A chat session holds several conversations (one chatId each). The page shows one of them, named in
its address (`?chat=ID`), so a reload or a second tab keeps its place and tabs do not pull each
other's view around; switching conversation or starting a new chat opens that address, and the page
is built afresh for it from the session model (nothing is lost: the session lives in the server).
Beside the chat: the conversation list with "new chat", and the conversation's saved ideas, which
can be copied one by one or downloaded as Markdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import quote

from nicegui import ui

from console.capabilities import Defaults
from console.dialects.chat.client import ChatClient
from console.dialects.chat.engine import SavedIdea, ideas_markdown, saved_idea, saved_ideas
from console.dialects.chat.protocol import IDEA_COMPONENT
from console.session import (
    BlockUpdated,
    Change,
    ComponentBlock,
    Conversation,
    HistoryLetGo,
    Message,
    Reset,
)
from console.sessions import SessionEntry
from console.ui.page import Restart, chat_column, side_panels, toggle_side
from console.ui.scope import on_leave
from console.ui.testid import testid


def chat_address(session_id: str, chat_id: str) -> str:
    return f"/session/{quote(session_id, safe='')}?chat={quote(chat_id, safe='')}"


class ConversationClient(Defaults):
    """One conversation of a chat session, as the `SessionClient` the views of one tab work with.

    Prompts and retries go to this conversation whichever one is active in the session, so two tabs
    showing two conversations each send where their user typed.
    """

    def __init__(self, client: ChatClient, chat_id: str) -> None:
        self.session = client
        self.chat_id = chat_id
        self.url = client.url
        self.capabilities = client.capabilities

    @property
    def conversation(self) -> Conversation:
        return self.session.conversations[self.chat_id]

    @property
    def idle(self) -> bool:
        return self.session.is_idle(self.chat_id)

    @property
    def connected_once(self) -> bool:
        return self.session.connected_once

    def start(self) -> asyncio.Task[None]:
        return self.session.start()

    async def close(self) -> None:
        await self.session.close()

    def send_user_message(self, text: str) -> Message:
        return self.session.send_user_message(text, self.chat_id)

    def retry(self, message_id: str) -> Message | None:
        return self.session.retry(message_id, self.chat_id)

    def drop(self) -> None:
        self.session.drop()


class ConversationList:
    """Every conversation of the session, newest last, with the shown one marked; and "New chat"."""

    def __init__(
        self, client: ChatClient, shown_id: str, session_id: str, on_close: Callable[[], object]
    ) -> None:
        self.client = client
        self.shown_id = shown_id
        self.session_id = session_id
        self._snapshot: list[tuple[str, str, bool]] = []
        with ui.row().classes("items-center w-full px-3 pt-3 pb-1 no-wrap"):
            ui.label("Conversations").classes("text-xs font-semibold uppercase text-slate-500")
            ui.space()
            new_chat = testid(ui.button("New chat", icon="add", on_click=self.new_chat), "new-chat")
            new_chat.props("dense flat no-caps size=sm")
            ui.button(icon="close", on_click=on_close).props(
                'dense flat round size=sm aria-label="Close"'
            ).classes("ac-chats-close").tooltip("Close")
        self.root = testid(ui.element("div").classes("flex flex-col gap-0.5 pb-2"), "conversation-list")
        self.render()
        unsubscribe = client.subscribe(self.render)
        on_leave(unsubscribe)

    def new_chat(self) -> None:
        ui.navigate.to(chat_address(self.session_id, self.client.new_chat()))

    def render(self) -> None:
        snapshot = [
            (chat_id, self.client.title(chat_id), not self.client.is_idle(chat_id))
            for chat_id in self.client.conversations
        ]
        if snapshot == self._snapshot:
            return  # told about a change this list does not show: send nothing
        self._snapshot = snapshot
        self.root.clear()
        with self.root:
            for chat_id, title, replying in snapshot:
                self._item(chat_id, title, replying)

    def _item(self, chat_id: str, title: str, replying: bool) -> None:
        with ui.link(target=chat_address(self.session_id, chat_id)).classes("ac-chat-item") as item:
            # Values go in as props, never through the props parser: titles are what users typed.
            testid(item, "conversation-item", f"chat-{chat_id}").props.update(
                {
                    "data-chat-id": chat_id,
                    "data-active": "true" if chat_id == self.shown_id else "false",
                    "data-replying": "true" if replying else "false",
                }
            )
            if replying:
                ui.spinner(size="1em").classes("shrink-0")
            else:
                ui.icon("chat_bubble_outline", size="1em").classes("shrink-0 text-slate-500")
            testid(ui.label(title).classes("ac-chat-title"), "conversation-title")


class SavedIdeas:
    """The ideas of one conversation that arrived whole, as they arrive; copy, or export as Markdown."""

    def __init__(self, client: ChatClient, chat_id: str) -> None:
        self.client = client
        self.chat_id = chat_id
        self.conversation = client.conversations[chat_id]
        self.shown: list[SavedIdea] = []
        self._keys: set[tuple[str, str]] = set()  # (message id, component id) of the ideas shown
        self._messages: set[str] = set()  # the messages they are in
        with testid(
            ui.element("div").classes("flex flex-col border-t pt-2 pb-3"), "saved-ideas"
        ) as self.root:
            with ui.row().classes("items-center w-full px-3 pb-1 no-wrap"):
                ui.icon("lightbulb", size="1.1em").classes("text-amber-500")
                self.heading = ui.label("Saved ideas").classes(
                    "text-xs font-semibold uppercase text-slate-500"
                )
                ui.space()
                self.export = testid(ui.button(icon="download", on_click=self.download), "ideas-export")
                self.export.props('dense flat round size=sm aria-label="Export saved ideas as Markdown"')
                self.export.tooltip("Export as Markdown")
            self.list = ui.element("div").classes("flex flex-col")
            self.empty = ui.label("Ideas the agent suggests are saved here.").classes(
                "text-xs text-slate-500 px-3"
            )
        self.sync()
        # Not told of each token or trace row: ideas are saved when they complete.
        unsubscribe = self.conversation.subscribe(self._on_change, deltas=False)
        on_leave(unsubscribe)

    def _on_change(self, change: Change) -> None:
        match change:
            case BlockUpdated(message=message, block_index=index):
                block = message.blocks[index]
                if isinstance(block, ComponentBlock) and block.type == IDEA_COMPONENT and block.complete:
                    self._completed(message, block)
            case HistoryLetGo(message_ids=gone) if self._messages.intersection(gone):
                self.sync()  # ideas of messages no longer held go from the list (and the export)
            case Reset():
                self.sync()
            case _:
                pass

    def _completed(self, message: Message, block: ComponentBlock) -> None:
        """An idea arrived whole: it goes at the end of the list (a conversation's ideas complete in
        the order they stand in it). The list is not read again: one idea costs its own text, however
        many were saved before it."""
        idea = saved_idea(message, block)
        if idea is None or (idea.message_id, idea.component_id) in self._keys:
            return
        with self.list:
            self._item(idea)
        self._show(idea)
        self._counted()

    def sync(self) -> None:
        """Show what the model holds, from the start."""
        self.list.clear()
        self.shown, self._keys, self._messages = [], set(), set()
        ideas = saved_ideas(self.conversation)
        with self.list:
            for idea in ideas:
                self._item(idea)
                self._show(idea)
        self._counted()

    def _show(self, idea: SavedIdea) -> None:
        self.shown.append(idea)
        self._keys.add((idea.message_id, idea.component_id))
        self._messages.add(idea.message_id)

    def _counted(self) -> None:
        ideas = self.shown
        self.heading.set_text(f"Saved ideas ({len(ideas)})" if ideas else "Saved ideas")
        self.empty.set_visibility(not ideas)
        self.export.set_enabled(bool(ideas))

    def _item(self, idea: SavedIdea) -> None:
        with ui.element("div").classes("ac-saved-idea") as item:
            testid(item, "saved-idea").props["data-component-id"] = idea.component_id
            text = testid(ui.label(idea.text).classes("ac-idea-text"), "saved-idea-text")
            copy = testid(ui.button(icon="content_copy"), "copy-idea")
            copy.props('flat dense round size=xs aria-label="Copy idea"').tooltip("Copy")
        # Copied from what the browser shows: the text is never written into a script.
        copy.on(
            "click",
            lambda: ui.notify("Idea copied", timeout=1500),
            js_handler=f"() => {{ navigator.clipboard.writeText(getHtmlElement({text.id}).innerText); emit(); }}",
        )

    def download(self) -> None:
        markdown = ideas_markdown(self.client.title(self.chat_id), saved_ideas(self.conversation))
        ui.download.content(markdown.encode(), f"ideas-{self.chat_id[:8]}.md", "text/markdown")


def _shown_chat(client: ChatClient) -> str:
    """The conversation the address asks for, else the session's active one."""
    wanted = ui.context.client.request.query_params.get("chat")
    return wanted if wanted in client.conversations else client.active_id


def chat_session_body(entry: SessionEntry, restart: Restart | None = None) -> None:
    """The conversations, saved ideas, chat and side panels of a chat session's client of the moment."""
    client = entry.client
    if not isinstance(client, ChatClient):  # narrows to the chat API; the page chose by capabilities
        raise TypeError(f"session '{entry.id}' speaks the chat dialect but its client is {type(client)}")
    chat_id = _shown_chat(client)
    client.activate(chat_id)  # a new tab, or a `record` that follows, starts where the user is
    if ui.context.client.request.query_params.get("chat") != chat_id:
        # The address names the conversation shown: Back after "New chat" comes back to this one,
        # not to whichever is active by then.
        ui.navigate.history.replace(chat_address(entry.id, chat_id))
    view = SessionEntry(entry.id, entry.name, entry.target, ConversationClient(client, chat_id))
    with ui.element("div").classes("w-full flex flex-row flex-nowrap grow min-h-0"):
        with ui.element("div").classes("ac-chats") as chats:
            ConversationList(client, chat_id, entry.id, lambda: chats.classes(toggle="ac-toggled"))
            SavedIdeas(client, chat_id)
        with ui.element("div").classes("flex flex-col flex-nowrap grow min-w-0 min-h-0"):
            toolbar = chat_column(view, restart)
        side = side_panels(view)
    with toolbar:
        conversations = testid(
            ui.button(icon="forum", on_click=lambda: chats.classes(toggle="ac-toggled")),
            "toggle-conversations",
        )
        conversations.props('flat round dense aria-label="Conversations and saved ideas"')
        conversations.tooltip("Conversations and saved ideas").move(target_index=0)
        panels = testid(ui.button(icon="view_sidebar", on_click=lambda: toggle_side(side)), "toggle-panels")
        panels.props('flat round dense aria-label="Timeline and context"').tooltip("Timeline and context")
