"""The page frame and the routes: `/` and `/session/{id}`."""

from __future__ import annotations

from pathlib import Path

from nicegui import ui

from console.sessions import SessionEntry, SessionHub
from console.ui.chat import ChatView
from console.ui.composer import Composer
from console.ui.status import Banner, StatusChip, describe

CSS = (Path(__file__).parent / "style.css").read_text()


def frame(title: str) -> None:
    """What every page shares: styles, header with title and dark-mode switch."""
    ui.add_css(CSS)
    ui.query(".nicegui-content").classes("p-0 gap-0 h-[100dvh] flex-nowrap")
    dark = ui.dark_mode()
    with ui.row().classes("w-full items-center gap-3 px-4 py-2 bg-slate-900 text-white no-wrap shrink-0"):
        ui.link("Agent Console", "/").classes("text-lg font-semibold text-white no-underline")
        ui.label(title).classes("text-slate-300 truncate")
        ui.space()
        ui.button(icon="dark_mode", on_click=dark.toggle).props("flat round dense color=white").tooltip(
            "Dark mode"
        )


def session_console(entry: SessionEntry) -> None:
    conversation = entry.client.conversation
    frame(f"{entry.name} · {entry.target}")
    with ui.element("div").classes("w-full flex flex-col flex-nowrap grow min-h-0"):
        with ui.row().classes("w-full items-center px-4 py-1 gap-2 border-b no-wrap shrink-0"):
            ui.label(entry.target.url).classes("text-xs text-slate-500 truncate")
            ui.space()
            StatusChip(conversation)
            with ui.button(icon="more_vert").props("flat round dense data-testid=session-menu"):
                with ui.menu():
                    ui.menu_item("Drop connection (test recovery)", on_click=entry.client.drop).props(
                        "data-testid=drop-connection"
                    )
        # The banner floats over the chat: it never pushes what the user is reading.
        with ui.element("div").classes("relative w-full grow min-h-0 flex flex-col flex-nowrap"):
            ChatView(entry.client)
            Banner(conversation)
        with ui.element("div").classes("w-full pt-2 border-t shrink-0"):
            Composer(entry.client)


def session_index(hub: SessionHub) -> None:
    frame("Sessions")
    with ui.column().classes("w-full max-w-4xl mx-auto p-4 gap-3"):
        for entry in hub.sessions.values():
            state = entry.client.conversation.link
            with ui.link(target=f"/session/{entry.id}").classes("no-underline text-inherit w-full"):
                with ui.card().classes("w-full").props("flat bordered") as card:
                    card.props.update({"data-testid": "session-card", "data-session-id": entry.id})
                    card.props["data-state"] = state.state.value
                    with ui.row().classes("items-center w-full"):
                        ui.label(entry.name).classes("font-semibold")
                        ui.label(str(entry.target)).classes("text-xs text-slate-500 truncate")
                        ui.space()
                        ui.label(describe(state, 0.0)).classes("ac-status").props.update(
                            {"data-state": state.state.value}
                        )


def register(hub: SessionHub) -> None:
    @ui.page("/")
    def index() -> None:
        if len(hub.sessions) == 1:
            session_console(next(iter(hub.sessions.values())))
        else:
            session_index(hub)

    @ui.page("/session/{session_id}")
    def session(session_id: str) -> None:
        entry = hub.get(session_id)
        if entry is None:
            frame("Not found")
            ui.label(f"No session '{session_id}'.").classes("p-8")
            return
        session_console(entry)
