"""The page frame and the routes: `/` and `/session/{id}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from console.capabilities import Recording
from console.clients import SessionClient, Target
from console.connection import ConnectionState, LinkStatus
from console.otel.exporter import OtelExport
from console.otel.status import ExportStatus
from console.security.limits import LimitError, check_session_room, check_trace_room, this_visitor
from console.session import ConnectionChanged
from console.sessions import SessionEntry
from console.supervisor import Supervisor
from console.trace_io import ReplayClient
from console.ui import trace_opening
from console.ui.chat import ChatView
from console.ui.composer import Composer, stream_controls
from console.ui.examples import CHAT_EXAMPLES, EXAMPLES, ExamplePrompts
from console.ui.follow import SessionPart
from console.ui.inspector import ContextInspector
from console.ui.narration import Narrator
from console.ui.overview import Overview
from console.ui.scope import on_leave
from console.ui.status import Banner, StatusChip
from console.ui.styles import add_styles
from console.ui.testid import testid
from console.ui.timeline import OpenTrace, TimelinePanel

Restart = Callable[[], Awaitable[None]]
PROGRESS_INTERVAL = 0.2  # seconds between two updates of a replay's progress note


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
                loading = trace_opening.opening(entry.client.conversation)
                filling = loading.done if loading is not None else None
                timeline.on_show_context = ContextInspector(entry.client, filling).show
    return side


def toggle_side(side: ui.element) -> None:
    """Show or hide the side panels: shown by default on a wide screen, hidden on a phone (CSS)."""
    side.classes(toggle="ac-side-toggled")


def session_console(sessions: Supervisor, entry: SessionEntry, narrate: bool = False) -> None:
    """The page of one session, bound to its id: it follows the session across restarts."""
    heading = frame(session_title(entry))
    if entry.client.capabilities.conversations:  # its page lists them
        from console.ui.chat_session import chat_session_body  # imported here: it builds on this module

        SessionPart(sessions, entry, lambda shown, _: chat_session_body(shown, restarter(sessions, shown.id)))
        return
    # The page was not reloaded when a trace opened in it (see open_replay): Back and Forward load
    # the page of the address they go to.
    ui.add_head_html("<script>addEventListener('popstate', () => location.reload())</script>")
    part: SessionPart | None = None

    def open_here(replay: ReplayClient) -> None:
        if part is not None:
            open_replay(sessions, replay, part, heading)

    def build(shown: SessionEntry, _: object) -> None:
        session_body(shown, narrate, open_here, restarter(sessions, shown.id))

    part = SessionPart(sessions, entry, build)


def restarter(sessions: Supervisor, session_id: str) -> Restart:
    """The owner's restart of one session, for its page's menu."""

    async def restart() -> None:
        if not await sessions.restart(session_id):
            ui.notify("The session cannot be restarted now.", type="warning")

    return restart


def session_title(entry: SessionEntry) -> str:
    return f"{entry.name} · {entry.target}"


def session_body(
    entry: SessionEntry, narrate: bool, on_open: OpenTrace | None, restart: Restart | None = None
) -> None:
    """Chat and side panels of one session's client of the moment."""
    with ui.element("div").classes("w-full flex flex-row flex-nowrap grow min-h-0"):
        if narrate:
            Narrator(entry.client.conversation)
        with ui.element("div").classes("flex flex-col flex-nowrap grow min-w-0 min-h-0") as chat:
            toolbar = chat_column(entry, restart)
        side = side_panels(entry, on_open)
        with toolbar:
            panels = ui.button(icon="view_sidebar", on_click=lambda: toggle_side(side))
            testid(panels, "toggle-panels").props("flat round dense aria-label='Timeline and context'")
            panels.tooltip("Timeline and context")
        chat.move(target_index=0)


def open_replay(sessions: Supervisor, replay: ReplayClient, part: SessionPart, heading: ui.label) -> None:
    """An exported trace opens as a session of its own, in place of the one on screen.

    In place, not by loading its page: a new page costs the browser a long task to start NiceGUI before
    it draws anything, and the trace's session gets an address of its own all the same.
    """
    visitor = this_visitor()
    try:
        check_session_room(len(sessions.sessions))
        check_trace_room(sum(1 for e in sessions.sessions.values() if e.owner == visitor))
    except LimitError as exc:
        ui.notify(str(exc), type="negative")
        return
    # The trace is the visitor's own: nobody else sees it listed or can open its page.
    entry = sessions.add(
        Target("agent", replay.url), name=f"trace {replay.name}", client=replay, owner=visitor
    )
    with part.root:  # the element that asked (in the part replaced) is gone after `show`
        part.show(entry)
        heading.set_text(session_title(entry))
        ui.page_title(f"{session_title(entry)} · Agent Console")
        ui.navigate.history.push(f"/session/{entry.id}")


def chat_column(entry: SessionEntry, restart: Restart | None = None) -> ui.element:
    """Status bar, chat and composer; returns the status bar so the page can add its buttons."""
    client = entry.client
    can = client.capabilities
    conversation = client.conversation
    bar = "ac-session-bar w-full items-center px-4 py-1 gap-2 border-b no-wrap shrink-0"
    with ui.row().classes(bar) as toolbar:
        url = ui.label(entry.target.url).classes("ac-session-url text-xs text-slate-500")
        url.props["title"] = entry.target.url
        if not can.live:  # a recording: no link of its own to show
            testid(ui.label("Replay").classes("ac-status"), "connection-status").props("data-state=replay")
        else:
            StatusChip(conversation)
            if can.drop:
                session_menu(entry, restart)
    # The banner floats over the chat: it never pushes what the user is reading.
    with ui.element("div").classes("relative w-full grow min-h-0 flex flex-col flex-nowrap"):
        loading = trace_opening.opening(conversation)
        ChatView(
            conversation,
            client.retry if can.retry else None,
            client.answer if can.approvals else None,
            filling=loading.done if loading is not None else None,
        )
        Banner(conversation)
    with ui.element("div").classes("w-full pt-2 border-t shrink-0"):
        input_area(entry)
    return toolbar


def input_area(entry: SessionEntry) -> None:
    """The composer of a session that takes prompts; else what this session is, and what it can do."""
    client = entry.client
    can = client.capabilities
    if can.prompts:
        ExamplePrompts(client, CHAT_EXAMPLES if can.conversations else EXAMPLES)
        Composer(client)
    elif can.replay:
        stream_controls(client)
    elif client.recording is not None and not can.live:
        replay_bar(client, client.recording)
    elif client.recording is not None:  # a live recording: spans an agent sends to this console
        with ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"):
            ui.icon("sensors").classes("text-slate-500")
            ui.label(
                f"Spans {client.recording.name} sends to this console (OTLP), shown as they come: "
                "nothing is sent from here."
            ).classes("text-sm text-slate-500")
    else:
        with ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"):
            ui.icon("sensors").classes("text-slate-500")
            ui.label(f"{entry.name}: shown as it comes; nothing is sent from here.").classes(
                "text-sm text-slate-500"
            )


def session_menu(entry: SessionEntry, restart: Restart | None = None) -> None:
    """The ⋮ menu; "Drop connection" only while there is a connection to drop; "Restart session" when
    the page was given the owner's restart (a new connection that goes on with the conversation)."""
    with (
        testid(ui.button(icon="more_vert"), "session-menu").props(
            "flat round dense aria-label='Session actions'"
        ),
        ui.menu(),
    ):
        drop = testid(
            ui.menu_item("Drop connection (test recovery)", on_click=entry.client.drop), "drop-connection"
        )
        if restart is not None:
            restarting = ui.menu_item("Restart session (new connection, same conversation)", on_click=restart)
            testid(restarting, "restart-session")
        no_drop = ui.menu_item("Nothing to do: the connection is closed").props("disable")

    def show(status: LinkStatus) -> None:
        closed = status.state is ConnectionState.CLOSED
        drop.set_visibility(not closed)
        no_drop.set_visibility(closed and restart is None)

    show(entry.client.conversation.link)
    on_leave(
        entry.client.conversation.subscribe(
            lambda change: show(change.status) if isinstance(change, ConnectionChanged) else None,
            deltas=False,
        )
    )


def replay_bar(client: SessionClient, recording: Recording) -> None:
    """Where a live session has its input: what this recording is, and how far its replay is while
    the file is still being replayed (console/ui/trace_opening.py)."""
    with testid(
        ui.row().classes("w-full max-w-4xl mx-auto items-center gap-3 px-4 pb-2"), "replay-bar"
    ) as bar:
        ui.icon("history").classes("text-slate-500")
        note = ui.label(replayed_note(client, recording)).classes("text-sm text-slate-500")
    loading = trace_opening.opening(client.conversation)
    if loading is None:
        return
    note.set_visibility(False)
    with bar:
        progress = testid(ui.label().classes("text-sm text-slate-500"), "replay-progress")

    def show() -> None:
        if not loading.done.done():
            read, total = loading.progress()
            progress.set_text(f"Replaying {recording.name}: {read:,} of {total:,} lines…")
            return
        timer.cancel()
        progress.delete()
        note.set_text(replayed_note(client, recording))
        note.set_visibility(True)
        problems = loading.client.loaded.problems
        if problems:
            ui.notify(
                f"{recording.name}: {len(problems)} line(s) could not be read and were left out.",
                caption=f"e.g. {problems[0]}",
                type="warning",
                multi_line=True,
            )

    with bar:
        timer = ui.timer(PROGRESS_INTERVAL, show)
    show()


def replayed_note(client: SessionClient, recording: Recording) -> str:
    events = len(client.conversation.trace) + recording.dropped
    return (
        f"A replay of {recording.name} ({events:,} events), opened in this browser only: "
        "look around, nothing is sent."
    )


def session_index(sessions: Supervisor, export: OtelExport | None = None) -> None:
    """The operations view: a live card per session (see console/ui/overview.py)."""
    frame("Sessions")
    if export is not None:
        ExportStatus(export)
    Overview(sessions)


def register(sessions: Supervisor, export: OtelExport | None = None) -> None:
    """The pages, handed the owner of the sessions (and the span exporter, when the console runs one)."""
    add_styles()

    @ui.page("/")
    def index() -> None:
        visitor = this_visitor()
        shown = [e for e in sessions.sessions.values() if e.visible_to(visitor)]
        if len(shown) == 1:
            session_console(sessions, shown[0])
        else:
            session_index(sessions, export)

    @ui.page("/session/{session_id}")
    def session(session_id: str, narrate: bool = False) -> None:
        entry = sessions.get(session_id)
        if entry is None or not entry.visible_to(this_visitor()):
            not_found(session_id)
            return
        session_console(sessions, entry, narrate)


def not_found(session_id: str) -> None:
    frame("Not found")
    with testid(ui.column().classes("p-8 gap-3"), "not-found"):
        ui.label(f"There is no session '{session_id}' here.").classes("text-lg")
        ui.label(
            "It may have been removed, or the console restarted. A trace opened from a file is shown "
            "only in the browser that opened it."
        ).classes("text-slate-500")
        testid(ui.link("← All sessions", "/"), "back-home")
