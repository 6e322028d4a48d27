"""The page frame and the routes: `/` and `/session/{id}`."""

from __future__ import annotations

from pathlib import Path

from nicegui import ui

from console.clients import Target
from console.sessions import SessionEntry, SessionHub
from console.supervisor import Supervisor
from console.trace_io import ReplayClient
from console.ui.chat import ChatView
from console.ui.composer import Composer
from console.ui.inspector import ContextInspector
from console.ui.narration import Narrator
from console.ui.overview import Overview
from console.ui.status import Banner, StatusChip
from console.ui.timeline import OpenTrace, TimelinePanel

CSS = (Path(__file__).parent / "style.css").read_text()


def frame(title: str) -> None:
    """What every page shares: styles, header with title and dark-mode switch."""
    ui.add_css(CSS)
    ui.query(".nicegui-content").classes("p-0 gap-0 h-[100dvh] flex-nowrap")
    dark = ui.dark_mode()
    with ui.row().classes("w-full items-center gap-3 px-4 py-2 bg-slate-900 text-white no-wrap shrink-0"):
        ui.link("Agent Console", "/").classes(
            "text-lg font-semibold text-white no-underline whitespace-nowrap"
        )
        ui.label(title).classes("text-slate-300 truncate min-w-0 max-sm:hidden")
        ui.space()
        ui.button(icon="dark_mode", on_click=dark.toggle).props("flat round dense color=white").tooltip(
            "Dark mode"
        )


def side_panels(entry: SessionEntry, on_open_trace: OpenTrace | None = None) -> ui.element:
    """Timeline and context inspector, side by side with the chat (over it on a phone)."""
    with ui.element("div").classes("ac-side") as side:
        with ui.tabs().props("dense align=left").classes("shrink-0 border-b") as tabs:
            timeline_tab = ui.tab("Timeline").props("data-testid=timeline-tab")
            context_tab = ui.tab("Context").props("data-testid=context-tab")
        with ui.tab_panels(tabs, value=timeline_tab, animated=False).classes("grow min-h-0 w-full"):
            with ui.tab_panel(timeline_tab).classes("p-0 h-full"):
                TimelinePanel(entry.client, on_open_trace=on_open_trace)
            with ui.tab_panel(context_tab).classes("p-0 h-full"):
                ContextInspector(entry.client)
    return side


def toggle_side(side: ui.element) -> None:
    """Show or hide the side panels: shown by default on a wide screen, hidden on a phone (CSS)."""
    side.classes(toggle="ac-side-toggled")


def open_replay(hub: SessionHub, replay: ReplayClient) -> None:
    """An exported trace opens as a session of its own: chat, timeline and context replay it."""
    entry = hub.add(Target("agent", replay.url), name=f"trace {replay.name}", client=replay)
    ui.navigate.to(f"/session/{entry.id}")


def session_console(entry: SessionEntry, narrate: bool = False, hub: SessionHub | None = None) -> None:
    if entry.target.dialect == "chat":
        from console.ui.chat_session import chat_session_console  # imported here: it builds on this module

        return chat_session_console(entry)
    frame(f"{entry.name} · {entry.target}")
    if narrate:
        Narrator(entry.client.conversation)
    with ui.element("div").classes("w-full flex flex-row flex-nowrap grow min-h-0"):
        with ui.element("div").classes("flex flex-col flex-nowrap grow min-w-0 min-h-0") as chat:
            toolbar = chat_column(entry)
        side = side_panels(entry, (lambda replay: open_replay(hub, replay)) if hub else None)
    with toolbar:
        ui.button(icon="view_sidebar", on_click=lambda: toggle_side(side)).props(
            "flat round dense data-testid=toggle-panels"
        ).tooltip("Timeline and context")
    chat.move(target_index=0)


def chat_column(entry: SessionEntry) -> ui.element:
    """Status bar, chat and composer; returns the status bar so the page can add its buttons."""
    conversation = entry.client.conversation
    with ui.row().classes("w-full items-center px-4 py-1 gap-2 border-b no-wrap shrink-0") as toolbar:
        ui.label(entry.target.url).classes("text-xs text-slate-500 truncate")
        ui.space()
        StatusChip(conversation)
        with ui.button(icon="more_vert").props("flat round dense data-testid=session-menu"), ui.menu():
            ui.menu_item("Drop connection (test recovery)", on_click=entry.client.drop).props(
                "data-testid=drop-connection"
            )
    # The banner floats over the chat: it never pushes what the user is reading.
    with ui.element("div").classes("relative w-full grow min-h-0 flex flex-col flex-nowrap"):
        ChatView(conversation, entry.client.retry)
        Banner(conversation)
    with ui.element("div").classes("w-full pt-2 border-t shrink-0"):
        Composer(entry.client)
    return toolbar


def session_index(hub: SessionHub) -> None:
    """The operations view: a live card per session (see console/ui/overview.py)."""
    frame("Sessions")
    supervisor = Supervisor.for_hub(hub)
    Overview(supervisor)


def register(hub: SessionHub) -> None:
    @ui.page("/")
    def index() -> None:
        if len(hub.sessions) == 1:
            session_console(next(iter(hub.sessions.values())), hub=hub)
        else:
            session_index(hub)

    @ui.page("/session/{session_id}")
    def session(session_id: str, narrate: bool = False) -> None:
        entry = hub.get(session_id)
        if entry is None:
            frame("Not found")
            ui.label(f"No session '{session_id}'.").classes("p-8")
            return
        session_console(entry, narrate, hub)
