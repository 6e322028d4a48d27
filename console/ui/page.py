"""The page frame and the routes: `/` and `/session/{id}`."""

from __future__ import annotations

from nicegui import ui

from console.clients import Approvals, Target
from console.connection import ConnectionState, LinkStatus
from console.dialects import base as registry
from console.otel.receive import ReceivedTraces
from console.otel.status import ExportStatus
from console.security.limits import LimitError, check_session_room, check_trace_room, this_visitor
from console.session import ConnectionChanged
from console.sessions import SessionEntry, SessionHub
from console.supervisor import Supervisor
from console.trace_io import ReplayClient
from console.ui.chat import ChatView
from console.ui.composer import Composer
from console.ui.examples import CHAT_EXAMPLES, EXAMPLES, ExamplePrompts
from console.ui.inspector import ContextInspector
from console.ui.narration import Narrator
from console.ui.overview import Overview
from console.ui.scope import Scope, on_leave
from console.ui.status import Banner, StatusChip
from console.ui.styles import add_styles
from console.ui.testid import testid
from console.ui.timeline import OpenTrace, TimelinePanel

# Dark mode is the browser's choice, kept in its storage: every page of the console opens in it.
DARK_KEEP = (
    "<script>addEventListener('DOMContentLoaded', () => {"
    " if (localStorage.getItem('ac-dark') === 'true') Quasar.Dark.set(true); });</script>"
)
DARK_TOGGLE = (
    "const on = !Quasar.Dark.isActive; Quasar.Dark.set(on); localStorage.setItem('ac-dark', String(on));"
)


def frame(title: str) -> ui.label:
    """What every page shares: header with title and dark-mode switch; returns the title."""
    ui.add_head_html(DARK_KEEP)
    ui.page_title(f"{title} · Agent Console")
    ui.query(".nicegui-content").classes("p-0 gap-0 h-[100dvh] flex-nowrap")
    with ui.row().classes("w-full items-center gap-3 px-4 py-2 bg-slate-900 text-white no-wrap shrink-0"):
        ui.link("Agent Console", "/").classes(
            "text-lg font-semibold text-white no-underline whitespace-nowrap"
        )
        heading = ui.label(title).classes("text-slate-300 truncate min-w-0 max-sm:hidden")
        ui.space()
        dark = testid(
            ui.button(icon="dark_mode", on_click=lambda: ui.run_javascript(DARK_TOGGLE)), "dark-mode"
        )
        dark.props("flat round dense color=white aria-label='Dark mode'").tooltip("Dark mode")
    return heading


def side_panels(entry: SessionEntry, on_open_trace: OpenTrace | None = None) -> ui.element:
    """Timeline and context inspector, side by side with the chat (over it on a phone)."""
    with ui.element("div").classes("ac-side") as side:
        with ui.tabs().props("dense align=left").classes("shrink-0 border-b") as tabs:
            timeline_tab = testid(ui.tab("Timeline"), "timeline-tab")
            context_tab = testid(ui.tab("Context"), "context-tab")
        with ui.tab_panels(tabs, value=timeline_tab, animated=False).classes("grow min-h-0 w-full"):
            with ui.tab_panel(timeline_tab).classes("p-0 h-full"):
                timeline = TimelinePanel(entry.client, on_open_trace=on_open_trace)
            with ui.tab_panel(context_tab).classes("p-0 h-full"):
                timeline.on_show_context = ContextInspector(entry.client).show
    return side


def toggle_side(side: ui.element) -> None:
    """Show or hide the side panels: shown by default on a wide screen, hidden on a phone (CSS)."""
    side.classes(toggle="ac-side-toggled")


def session_console(entry: SessionEntry, narrate: bool = False, hub: SessionHub | None = None) -> None:
    if several_conversations(entry):
        from console.ui.chat_session import chat_session_console  # imported here: it builds on this module

        return chat_session_console(entry)
    heading = frame(session_title(entry))
    # The page was not reloaded when a trace opened in it (see open_replay): Back and Forward load
    # the page of the address they go to.
    ui.add_head_html("<script>addEventListener('popstate', () => location.reload())</script>")
    session_body(entry, heading, narrate, hub)


def several_conversations(entry: SessionEntry) -> bool:
    """Whether the session's dialect holds several conversations on one connection (its page lists them)."""
    dialect = registry.find(entry.target.dialect)
    return dialect is not None and dialect.capabilities.conversations


def session_title(entry: SessionEntry) -> str:
    return f"{entry.name} · {entry.target}"


def session_body(entry: SessionEntry, heading: ui.label, narrate: bool, hub: SessionHub | None) -> Scope:
    """Chat and side panels of one session, in a part of the page that a replayed trace can replace."""
    with Scope().classes("w-full flex flex-row flex-nowrap grow min-h-0") as body:
        if narrate:
            Narrator(entry.client.conversation)
        with ui.element("div").classes("flex flex-col flex-nowrap grow min-w-0 min-h-0") as chat:
            toolbar = chat_column(entry)
        on_open = (lambda replay: open_replay(hub, replay, body, heading)) if hub else None
        side = side_panels(entry, on_open)
        with toolbar:
            panels = ui.button(icon="view_sidebar", on_click=lambda: toggle_side(side))
            testid(panels, "toggle-panels").props("flat round dense aria-label='Timeline and context'")
            panels.tooltip("Timeline and context")
        chat.move(target_index=0)
    return body


def open_replay(hub: SessionHub, replay: ReplayClient, body: Scope, heading: ui.label) -> None:
    """An exported trace opens as a session of its own, in place of the one on screen.

    In place, not by loading its page: a new page costs the browser a long task to start NiceGUI before
    it draws anything, and the trace's session gets an address of its own all the same.
    """
    visitor = this_visitor()
    try:
        check_session_room(len(hub.sessions))
        check_trace_room(sum(1 for e in hub.sessions.values() if e.owner == visitor))
    except LimitError as exc:
        ui.notify(str(exc), type="negative")
        return
    # The trace is the visitor's own: nobody else sees it listed or can open its page.
    entry = hub.add(Target("agent", replay.url), name=f"trace {replay.name}", client=replay, owner=visitor)
    parent = body.parent_slot.parent if body.parent_slot is not None else ui.context.client.content
    body.delete()
    with parent:
        session_body(entry, heading, False, hub)
        heading.set_text(session_title(entry))
        ui.page_title(f"{session_title(entry)} · Agent Console")
        ui.navigate.history.push(f"/session/{entry.id}")


def chat_column(entry: SessionEntry) -> ui.element:
    """Status bar, chat and composer; returns the status bar so the page can add its buttons."""
    conversation = entry.client.conversation
    # A trace opened from a file; spans an agent sends over OTLP are live, though read-only too.
    replay = isinstance(entry.client, ReplayClient) and not isinstance(entry.client, ReceivedTraces)
    bar = "ac-session-bar w-full items-center px-4 py-1 gap-2 border-b no-wrap shrink-0"
    with ui.row().classes(bar) as toolbar:
        url = ui.label(entry.target.url).classes("ac-session-url text-xs text-slate-500")
        url.props["title"] = entry.target.url
        if replay:
            testid(ui.label("Replay").classes("ac-status"), "connection-status").props("data-state=replay")
        else:
            StatusChip(conversation)
            if not isinstance(entry.client, ReceivedTraces):  # no connection of ours to drop
                session_menu(entry)
    # The banner floats over the chat: it never pushes what the user is reading.
    with ui.element("div").classes("relative w-full grow min-h-0 flex flex-col flex-nowrap"):
        client = entry.client
        ChatView(conversation, client.retry, client.answer if isinstance(client, Approvals) else None)
        Banner(conversation)
    with ui.element("div").classes("w-full pt-2 border-t shrink-0"):
        if isinstance(entry.client, ReceivedTraces):
            with ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"):
                ui.icon("sensors").classes("text-slate-500")
                ui.label(
                    f"Spans {entry.client.name} sends to this console (OTLP), shown as they come: "
                    "nothing is sent from here."
                ).classes("text-sm text-slate-500")
        elif isinstance(entry.client, ReplayClient):
            replay_bar(entry.client)
        else:
            ExamplePrompts(entry.client, CHAT_EXAMPLES if several_conversations(entry) else EXAMPLES)
            Composer(entry.client)
    return toolbar


def session_menu(entry: SessionEntry) -> None:
    """The ⋮ menu; "Drop connection" only while there is a connection to drop."""
    with (
        testid(ui.button(icon="more_vert"), "session-menu").props(
            "flat round dense aria-label='Session actions'"
        ),
        ui.menu(),
    ):
        drop = testid(
            ui.menu_item("Drop connection (test recovery)", on_click=entry.client.drop), "drop-connection"
        )
        no_drop = ui.menu_item("Nothing to do: the connection is closed").props("disable")

    def show(status: LinkStatus) -> None:
        closed = status.state is ConnectionState.CLOSED
        drop.set_visibility(not closed)
        no_drop.set_visibility(closed)

    show(entry.client.conversation.link)
    on_leave(
        entry.client.conversation.subscribe(
            lambda change: show(change.status) if isinstance(change, ConnectionChanged) else None,
            deltas=False,
        )
    )


def replay_bar(replay: ReplayClient) -> None:
    """Where a live session has its input: what this recording is."""
    events = len(replay.conversation.trace) + replay.loaded.dropped
    with testid(ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"), "replay-bar"):
        ui.icon("history").classes("text-slate-500")
        ui.label(
            f"A replay of {replay.name} ({events:,} events), opened in this browser only: "
            "look around, nothing is sent."
        ).classes("text-sm text-slate-500")


def session_index(hub: SessionHub) -> None:
    """The operations view: a live card per session (see console/ui/overview.py)."""
    frame("Sessions")
    supervisor = Supervisor.for_hub(hub)
    ExportStatus.for_hub(hub)
    Overview(supervisor)


def register(hub: SessionHub) -> None:
    add_styles()

    @ui.page("/")
    def index() -> None:
        visitor = this_visitor()
        shown = [e for e in hub.sessions.values() if e.visible_to(visitor)]
        if len(shown) == 1:
            session_console(shown[0], hub=hub)
        else:
            session_index(hub)

    @ui.page("/session/{session_id}")
    def session(session_id: str, narrate: bool = False) -> None:
        entry = hub.get(session_id)
        if entry is None or not entry.visible_to(this_visitor()):
            not_found(session_id)
            return
        session_console(entry, narrate, hub)


def not_found(session_id: str) -> None:
    frame("Not found")
    with testid(ui.column().classes("p-8 gap-3"), "not-found"):
        ui.label(f"There is no session '{session_id}' here.").classes("text-lg")
        ui.label(
            "It may have been removed, or the console restarted. A trace opened from a file is shown "
            "only in the browser that opened it."
        ).classes("text-slate-500")
        testid(ui.link("← All sessions", "/"), "back-home")
