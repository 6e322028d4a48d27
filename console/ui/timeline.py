"""The trace timeline panel: every protocol event of a session as it happens, linked to the chat.

`TimelineModel` turns the session's trace into rows (token runs grouped, tool calls linked to their
results, PONGs to PINGs); this panel ships what changed to the browser once per tick (`FLUSH_INTERVAL`)
in one message, and `TimelineView` (timeline.js) keeps the rows there, filters them and renders only
the ones in view. Raw frames stay on the server until a row asks for its own.

Clicking a row flashes and scrolls to its element in the chat (text run, tool card, message); clicking
a tool card in the chat scrolls the timeline to its TOOL_CALL row. Both are done in the browser, from the
chat's data attributes (see chat.py), without a round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from nicegui import background_tasks, events, ui

from console import jsonvalue, readback
from console.clients import SessionClient
from console.jsonvalue import JsonObject, JsonValue
from console.otel.status import download_button
from console.security import policy as security
from console.security.limits import trace_limit_text
from console.session import Change, Conversation, TraceAdded, TraceEntry
from console.trace_io import ReplayClient, TraceFormatError, export_jsonl, wall_offset_now
from console.trace_kinds import Category, browser_table, category
from console.ui import timeline_history, trace_opening, wire
from console.ui.scope import on_leave
from console.ui.testid import testid
from console.ui.ticker import Ticker
from console.ui.timeline_model import DEFAULT_MAX_ROWS, TimelineModel
from console.ui.timeline_older import KEPT_ROWS, Kept, OlderPage, older_rows, reachable
from console.ui.timeline_rows import Row

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.15  # ~7 Hz: rows keep up with the eye; one websocket message per tick at most
# A tick that only counts tokens of growing rows (their text is in the chat, not sent here) goes at
# most this often: "Streamed 1234 tokens" need not change seven times a second.
COUNTS_INTERVAL = 1.0
RAW_LIMIT = 200_000  # characters of raw frame text sent to the browser for one row
RAW_FRAMES = 200  # token frames shown for one token row
ROWS_FIRST = 500  # the newest rows of a (re)mounting view: drawn first, from one short message
ROWS_PER_MESSAGE = 2_000  # older rows per message after them: each message costs the view a redraw

OpenTrace = Callable[[ReplayClient], None]
# context id, seq and monotonic time of a CONTEXT_SNAPSHOT row: the inspector opens that snapshot.
ShowContext = Callable[[str, int | None, float], None]


class TimelineView(ui.element, component="timeline.js"):
    """The browser side: rows, virtual scrolling, filter bar, links to the chat."""

    def __init__(self, max_rows: int) -> None:
        super().__init__()
        self._props["maxRows"] = max_rows
        self._props["kinds"] = browser_table()  # [kind, category] in chip order: colours, chips, filters

    # Large payloads go as JSON text made by orjson (the standard library takes ~150 ms for the
    # megabyte a reset of 5,000 rows can be), in a call straight into the outbox (`_send_text`):
    # `run_method` would encode the text again with the standard library, wrap the call in a `return`
    # the page parses twice (as a script, then as a function body: half a megabyte each time), and
    # add a request id and a task for a reply nobody awaits.
    def reset(self, state: JsonObject) -> None:
        self._send_text("reset", jsonvalue.dumps(state))

    def _send_text(self, method: str, text: str) -> None:
        """Call `method` of the view with one argument, JSON text, which the page reads with
        `JSON.parse`: in Chromium twice as fast as the same rows written into the call as a literal."""
        wire.run_js(self, f"runMethod({self.id},{jsonvalue.dumps(method)},[{jsonvalue.dumps(text)}])")

    def push(self, batch: JsonObject) -> None:
        # A tick's batch is small: as a value, its text is escaped once on the wire, not twice.
        wire.call(self, "push", batch)

    def prepend(self, rows: list[JsonValue]) -> None:
        self._send_text("prepend", jsonvalue.dumps(rows))

    def older(self, rows: list[JsonValue], more: bool, note: str) -> None:
        """A page of rows from before the oldest the browser has (asked for by its `older` event)."""
        self._send_text("readBack", jsonvalue.dumps({"rows": rows, "more": more, "note": note}))

    def show_raw(self, row_id: int, text: str) -> None:
        self.run_method("showRaw", row_id, text)

    def show_text(self, row_id: int, text: JsonValue) -> None:
        """The whole text of a token row the browser expanded: [first seq, text, tokens it covers]."""
        self.run_method("showText", row_id, text)

    def text_matches(self, needle: str, row_ids: list[JsonValue]) -> None:
        self.run_method("textMatches", needle, row_ids)


class TimelinePanel:
    """The timeline of one session, for one browser tab."""

    def __init__(
        self,
        client: SessionClient,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        flush_interval: float = FLUSH_INTERVAL,
        on_open_trace: OpenTrace | None = None,
        on_show_context: ShowContext | None = None,
    ) -> None:
        self.client = client
        self.on_show_context = on_show_context
        self.conversation: Conversation = client.conversation
        self.on_open_trace = on_open_trace
        recording = client.recording
        self.wall_offset = recording.wall_offset if recording is not None else wall_offset_now()
        # Events already gone before this panel saw them: the session's own cap, and for a replayed
        # trace what the live session had let go before it was exported.
        self.dropped = self.conversation.trace_dropped
        if recording is not None:
            self.dropped += recording.dropped
        # A trace just opened comes with its model on the way, built in a thread while the page shows;
        # until it is there the panel holds an empty stand-in and its handlers wait for the real one.
        self._coming = timeline_history.take(self.conversation, max_rows, self.wall_offset)
        # A trace still being replayed: until it is all in, the panel shows the newest rows loaded so
        # far (`_preview`), then the whole trace's model, as if it had opened at once.
        loading = trace_opening.opening(self.conversation)
        self._loading = loading is not None
        self._opening = loading
        if loading is not None:
            self.model = TimelineModel(max_rows, self.wall_offset)
            background_tasks.create(self._when_loaded(loading.done), name="timeline of a trace opening")
        elif self._coming is None:
            self.model = timeline_history.history_model(
                self.conversation, max_rows, self.wall_offset, self.dropped
            )
        else:
            self.model = TimelineModel(max_rows, self.wall_offset)
        self.ready = False
        self._backlog: list[Row] = []  # older rows not yet sent to a view that just mounted
        self._counts: dict[int, JsonValue] = {}  # row id -> its token count held back (COUNTS_INTERVAL)
        self._pushed = 0.0  # when the last batch went
        self._previewed = -1  # entries seen when the last preview was drawn
        with testid(ui.element("div").classes("ac-timeline"), "timeline") as self.root:
            self._toolbar()
            self.view = TimelineView(max_rows)
        self.view.on("ready", self._on_ready)
        self.view.on("raw", self._on_raw)
        self.view.on("context", self._on_context)
        self.view.on("text", self._on_text)
        self.view.on("search", self._on_search)
        self.view.on("older", self._on_older)
        self._reading = False
        self._read_back: dict[int, Kept] = {}  # rows read back, for their details (KEPT_ROWS)
        unsubscribe = self.conversation.subscribe(self._on_change)
        on_leave(unsubscribe)
        self.ticker = Ticker(flush_interval, self.flush)  # woken by a change, idle otherwise

    def _toolbar(self) -> None:
        with ui.element("div").classes("ac-tl-head"):
            ui.label("Every protocol event as it happens; click one for details").classes("truncate grow")
            export = testid(ui.button(icon="download", on_click=self.export), "timeline-export")
            export.props("flat dense round size=sm aria-label='Export this trace'")
            export.tooltip("Export this trace (JSON Lines)")
            download_button(self.client)
            if self.on_open_trace is not None:
                self.upload = testid(
                    ui.upload(
                        on_upload=self._on_upload,
                        auto_upload=True,
                        max_files=1,
                        # The browser refuses a larger file at once; the server refuses it too (middleware).
                        max_file_size=security.current().limits.max_trace_bytes,
                        on_rejected=lambda: ui.notify(
                            f"That trace is too large to open here (the limit is {trace_limit_text()}).",
                            type="negative",
                        ),
                    )
                    .props("accept=.jsonl,.json,.ndjson,.txt")
                    .classes("hidden"),
                    "timeline-upload",
                )
                pick = testid(
                    ui.button(icon="folder_open", on_click=lambda: self.upload.run_method("pickFiles")),
                    "timeline-open",
                )
                pick.props("flat dense round size=sm aria-label='Open an exported trace'")
                pick.tooltip("Open an exported trace")

    # -- model -> browser ---------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if type(change) is TraceAdded:
            if self._loading:  # a trace being replayed is previewed per tick, not row by row
                self.ticker.wake()
                return
            model = self.model
            model.feed(change.entry)
            if model.news:
                self.ticker.wake()
            else:  # only a token count: it goes with the held counts (COUNTS_INTERVAL), not per tick
                self.ticker.wake_by(self._pushed + COUNTS_INTERVAL - time.monotonic())

    def _preview(self) -> None:
        """The newest rows of a trace still being replayed, in place of the view's rows: one short
        message per tick, whatever the replay brings in between (a search applies to them, and again to
        the next ones). The model is built afresh from the newest entries: a few milliseconds."""
        trace = self.conversation.trace
        seen = self.conversation.trace_dropped + len(trace)
        if seen == self._previewed:
            return
        self._previewed = seen
        self.model = model = timeline_history.preview_model(
            self.conversation, self.model.max_rows, self.wall_offset
        )
        state = self.state(list(model.rows)[-ROWS_FIRST:])
        state["preview"] = True
        self.view.reset(state)

    async def _when_loaded(self, done: asyncio.Future[None]) -> None:
        """The whole trace is in: its model replaces the preview, and is drawn as a mounting view's."""
        await done
        self._loading = False
        if self.root.is_deleted:
            return
        self._coming = timeline_history.take(self.conversation, self.model.max_rows, self.wall_offset)
        if self._coming is None:  # another panel took the model built for the trace
            self.model = timeline_history.history_model(
                self.conversation, self.model.max_rows, self.wall_offset, self.dropped
            )
        if self.ready:
            self._on_ready()

    def flush(self, *, now: bool = False) -> None:
        """Send this tick's row operations, all of them in one message (counts alone less often)."""
        if self._loading:
            if self.ready:
                self._preview()
            return
        self._send_backlog()
        if self._backlog:
            self.ticker.wake(wait=True)  # more to send at a later tick
        elif self._counts:
            self.ticker.wake_by(self._pushed + COUNTS_INTERVAL - time.monotonic())
        ops, older_changed = self.model.take_ops()
        if not self.ready:
            return
        if ops and all(_counts_only(op) for op in ops) and not older_changed and not now:
            for op in ops:  # a row's latest count says all its earlier ones did
                if isinstance(op, list) and isinstance(op[1], int):
                    self._counts[op[1]] = op
            wait = self._pushed + COUNTS_INTERVAL - time.monotonic()
            if wait > 0:
                self.ticker.wake_by(wait)  # they go then, with or without more
                return
            ops = []
        if self._counts:
            ops = [*self._counts.values(), *ops]
            self._counts.clear()
        if not ops and not older_changed:
            return
        self._pushed = time.monotonic()
        batch: JsonObject = {"ops": ops, "first": self.model.first_id, "t0": self.model.start_ms()}
        if older_changed:
            batch["older"] = dict[str, JsonValue](self.model.older)
        self.view.push(batch)

    def state(self, rows: Iterable[Row]) -> JsonObject:
        """What the browser keeps, with these rows, for a view that (re)mounts."""
        return {
            "rows": [self.model.wire(row) for row in rows],
            "t0": self.model.start_ms(),
            "older": dict[str, JsonValue](self.model.older),
            "dropped": self.dropped,
            # Older rows can be read back (from memory, or the store the session is journaled to).
            "stored": readback.stored_history(self.conversation) is not None,
        }

    def _waits_for_model(self, handler: Callable[[], None]) -> bool:
        """Whether the model of a trace just opened is still being built: then `handler` runs once it
        is there (handlers resume in the order they came) and the caller returns at once."""
        coming = self._coming
        if coming is None:
            return False

        async def when_built() -> None:
            model = await coming
            if self._coming is coming:  # the first handler to resume puts it in place
                self._coming = None
                self.model = model
            handler()

        background_tasks.create(when_built(), name="timeline model")
        return True

    def _on_ready(self) -> None:
        if self._loading:
            self.ready = True
            self._previewed = -1
            self._preview()
            if self._opening is not None:
                self._opening.drawn.set()  # the replay goes on now (trace_opening.FIRST_DRAW)
            return
        if self._waits_for_model(self._on_ready):
            return
        self.model.take_ops()  # already part of the state sent now
        self.ready = True
        rows = list(self.model.rows)
        # The newest rows first, the older ones a chunk per tick after them: a megabyte of rows in
        # one message is one long task in the browser (parsed three times over) before it can draw.
        split = max(0, len(rows) - ROWS_FIRST)
        self._backlog = rows[:split]
        self.view.reset(self.state(rows[split:]))
        self.ticker.wake(wait=True)

    def _send_backlog(self) -> None:
        if not self._backlog:
            return
        chunk = self._backlog[-ROWS_PER_MESSAGE:]
        del self._backlog[-ROWS_PER_MESSAGE:]
        first = self.model.first_id
        # Wired now, not when the view mounted: rows change (links, counts) while they wait.
        rows: list[JsonValue] = [
            self.model.wire(row) for row in chunk if first is not None and row.id >= first
        ]
        self.view.prepend(rows)

    # -- older rows, on demand --------------------------------------------------------------------

    async def _on_older(self, event: events.GenericEventArguments) -> None:
        """The user asked for older rows (a click, or scrolling to the top): a page before `first`."""
        value = event.args[0] if isinstance(event.args, list) and event.args else event.args
        if not isinstance(value, int) or self._reading:
            return
        self._reading = True
        try:
            page = await older_rows(self.conversation, value, self.wall_offset)
        except Exception as exc:  # the store unreachable (Redis gone, say): said, and asked again later
            log.warning("older timeline rows could not be read: %s", exc)
            page = OlderPage([], True, str(exc) or type(exc).__name__)
        finally:
            self._reading = False
        if not page.rows and not reachable(self.conversation, value):
            note = self._gone_note()
        else:
            note = f"the store could not be read further: {page.damage}" if page.damage else ""
        if not self.root.is_deleted:
            for kept in page.kept:
                self._read_back[kept.row.id] = kept
            while len(self._read_back) > KEPT_ROWS:  # the first read back go first
                del self._read_back[next(iter(self._read_back))]
            self.view.older(page.rows, page.more, note)

    def _gone_note(self) -> str:
        if readback.stored_history(self.conversation) is None and self.conversation.trace_dropped:
            return f"{self.conversation.trace_dropped:,} earlier events were dropped (no store keeps them)"
        return ""

    # -- raw frames, on demand --------------------------------------------------------------------

    def _on_raw(self, event: events.GenericEventArguments) -> None:
        if self._waits_for_model(lambda: self._on_raw(event)):
            return
        value = event.args[0] if isinstance(event.args, list) and event.args else event.args
        if not isinstance(value, int):
            return
        row = self.model.by_id.get(value)
        kept = self._read_back.get(value)
        if row is None and kept is not None and kept.raw is not None:
            self.view.show_raw(value, _clip(kept.raw))
            return
        self.view.show_raw(value, self.raw_text(row) if row else "(this row is no longer kept)")

    def _on_text(self, event: events.GenericEventArguments) -> None:
        """A token row expanded (its whole text, then its tokens' text) or collapsed (counts again)."""
        if self._waits_for_model(lambda: self._on_text(event)):
            return
        args = event.args if isinstance(event.args, list) else [event.args]
        row_id, shown = [*args, False][:2]
        if not isinstance(row_id, int):
            return
        if not shown:
            self.model.unwatch(row_id)
            return
        row = self.model.by_id.get(row_id)
        kept = self._read_back.get(row_id)
        if row is None and kept is not None and kept.row.grouped:  # read back: complete already
            parts = kept.row.parts
            self.view.show_text(row_id, [min(seq for seq, _ in parts), kept.row.text(), kept.row.tokens])
            return
        if row is None or not row.grouped:
            return
        self.flush(now=True)  # what was fed before goes first: the text sent now includes it
        self.view.show_text(row_id, self.model.watch(row))

    def _on_search(self, event: events.GenericEventArguments) -> None:
        if self._waits_for_model(lambda: self._on_search(event)):
            return
        value = event.args[0] if isinstance(event.args, list) and event.args else event.args
        if isinstance(value, str):
            self.view.text_matches(value, self.model.matching(value.lower()))

    def _on_context(self, event: events.GenericEventArguments) -> None:
        if self._waits_for_model(lambda: self._on_context(event)):
            return
        value = event.args[0] if isinstance(event.args, list) and event.args else event.args
        row = self.model.by_id.get(value) if isinstance(value, int) else None
        if row is not None and row.ref is not None and self.on_show_context is not None:
            self.on_show_context(row.ref, row.seq, row.at)

    def raw_text(self, row: Row) -> str:
        if not row.grouped:
            entry = self._entry(row.source)
            if entry is None:
                return (
                    f"(no longer kept: the session keeps its last {self.conversation.trace_limit:,} events)"
                )
            return _clip(entry.raw if entry.raw is not None else "(a client event: no frame)")
        frames: list[str] = []
        for index in range(row.source, row.last_source + 1):
            entry = self._entry(index)
            if entry is None or category(entry.kind) is not Category.TEXT or entry.stream_id != row.stream_id:
                continue
            if entry.raw is None or self._dropped_as_duplicate(entry):
                continue
            if len(frames) == RAW_FRAMES:
                frames.append(f"… and more: export the trace for every frame of the {row.tokens} tokens")
                break
            frames.append(entry.raw)
        return _clip("\n".join(frames) or "(no longer kept)")

    def _entry(self, index: int) -> TraceEntry | None:
        position = index - self.conversation.trace_dropped
        trace = self.conversation.trace
        if 0 <= position < len(trace) and trace[position].index == index:
            return trace[position]
        return None

    def _dropped_as_duplicate(self, entry: TraceEntry) -> bool:
        following = self._entry(entry.index + 1)
        return following is not None and following.kind == "DUPLICATE" and following.seq == entry.seq

    # -- files ------------------------------------------------------------------------------------

    def export(self) -> None:
        text = export_jsonl(self.conversation, self.wall_offset)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        ui.download.content(text.encode(), f"agent-trace-{stamp}.jsonl", "application/x-ndjson")

    async def _on_upload(self, event: events.UploadEventArguments) -> None:
        name = event.file.name
        self.upload.reset()
        opening = ui.notification(f"Opening {name}…", spinner=True, timeout=None)
        try:
            text = await event.file.text()
            # A long trace takes a moment to replay: its page shows once the first entry is in and
            # fills while the rest is replayed in slices (console/ui/trace_opening.py).
            replay = await trace_opening.open_in_slices(text, name)
        except (TraceFormatError, UnicodeDecodeError) as exc:
            # A sentence first; the parser's words (line, column) for whoever wants to fix the file.
            ui.notify(
                f"Cannot open {name}: it is not a trace exported by the console (a JSON Lines file).",
                caption=str(exc),
                type="negative",
                multi_line=True,
            )
            return
        finally:
            opening.dismiss()
        problems = replay.loaded.problems
        if problems and trace_opening.opening(replay.conversation) is None:  # else said when it is in
            ui.notify(
                f"{name}: {len(problems)} line(s) could not be read and were left out.",
                caption=f"e.g. {problems[0]}",
                type="warning",
                multi_line=True,
            )
        if self.on_open_trace is not None:
            self.on_open_trace(replay)


def _counts_only(op: JsonValue) -> bool:
    """A token operation that carries no text: only the row's count and end time change."""
    return isinstance(op, list) and op[0] == "t" and op[3] == ""


def _clip(text: str) -> str:
    if len(text) <= RAW_LIMIT:
        return text
    return (
        f"{text[:RAW_LIMIT]}\n… ({len(text) - RAW_LIMIT:,} more characters: export the trace for all of it)"
    )
