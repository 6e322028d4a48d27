"""Traces on disk: a session's protocol trace as JSON Lines, and an exported trace opened offline.

Format: one JSON object a line. The first line is a header, every other line one trace entry, in the
order the console saw them:

    {"format": "agent-console-trace", "version": 1, "started_at": 1767225600.123, "dropped": 0}
    {"t": 0.0, "dir": "client", "kind": "CONNECTED", "summary": "connected"}
    {"t": 12.5, "dir": "out", "kind": "USER_MESSAGE", "raw": "{\\"type\\":\\"USER_MESSAGE\\",...}"}
    {"t": 19.0, "dir": "in", "kind": "TOKEN", "seq": 2, "raw": "{\\"type\\":\\"TOKEN\\",...}"}

`t` is milliseconds since the first entry (its receive time for inbound frames), `started_at` the wall
clock of the first entry (epoch seconds), `dropped` how many older events the session had already let
go when it was exported (a replay of such a trace starts mid-conversation). Frames are kept as the exact
text that crossed the wire, because the client tells a duplicate from a different frame by its bytes.
Recordings of the published agent-server (`{"t", "dir", "frame": {...}}`, no header) load as well.

Opening a trace replays it through the same engine a live session uses (`AgentEngine`): inbound frames
with their receive times, the prompts the user sent, and the connection's drops and reconnections. PONGs,
ACKs and RESUMEs are not copied from the file: the engine sends them again, so what the timeline shows
for a replay is what the client logic does with those frames, derived afresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from console import jsonvalue
from console.capabilities import RECORDING, Recording
from console.dialects.agent import protocol as proto
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.link import IllegalEvent
from console.readonly_client import ReadOnlyClient
from console.session import Conversation, TraceEntry
from console.trace_kinds import TraceKind
from console.window import is_lean

FORMAT = "agent-console-trace"
VERSION = 1

# Client rows the engine writes from `tick`: replaying one means ticking the engine at that moment,
# so timers fire exactly when they did live (not earlier, at an unrelated frame).
_TIMER_KINDS: frozenset[TraceKind] = frozenset({"GAP_RESUME", "GAP_SKIPPED", "EARLY_ACK", "STALLED"})
_DROP_KINDS: frozenset[TraceKind] = frozenset({"DISCONNECTED", "CONNECT_FAILED"})
# Characters of a trace file split into lines at a time: a few hundred lines, well within a slice.
_CHUNK = 32_768


class TraceFormatError(ValueError):
    """The text is not a trace this console can open."""


# -- export -------------------------------------------------------------------------------------


def wall_offset_now() -> float:
    """Add to a `time.monotonic()` reading to get the wall clock (epoch seconds)."""
    return time.time() - time.monotonic()


def export_jsonl(conversation: Conversation, wall_offset: float | None = None) -> str:
    """The trace of a conversation as JSON Lines (see the module docstring)."""
    offset = wall_offset_now() if wall_offset is None else wall_offset
    trace = conversation.trace
    start = trace[0].at if trace else 0.0
    header: JsonObject = {
        "format": FORMAT,
        "version": VERSION,
        "started_at": round(start + offset, 3),
        "dropped": conversation.trace_dropped,
    }
    lines = [jsonvalue.dumps(header)]
    lines.extend(jsonvalue.dumps(_entry_json(entry, start, conversation)) for entry in trace)
    return "\n".join(lines) + "\n"


def _entry_json(entry: TraceEntry, start: float, conversation: Conversation) -> JsonObject:
    line: JsonObject = {"t": round((entry.at - start) * 1000, 3), "dir": entry.direction, "kind": entry.kind}
    if entry.seq is not None:
        line["seq"] = entry.seq
    if entry.raw is not None:
        line["raw"] = _whole_snapshot(entry, conversation) or entry.raw
    if entry.raw is None or entry.direction == "client":
        line["summary"] = entry.summary
    return line


def _whole_snapshot(entry: TraceEntry, conversation: Conversation) -> str | None:
    """A large snapshot's frame, written again from its context: the row keeps only its start
    (`console.window.lean_raw`), the data is held once, by the context. None if it was let go."""
    if not (entry.kind == "CONTEXT_SNAPSHOT" and entry.ref and entry.seq is not None and is_lean(entry.raw)):
        return None
    for kept in reversed(conversation.contexts.get(entry.ref, [])):
        if kept.seq == entry.seq and kept.at == entry.at:
            data = jsonvalue.encoded(kept.encoded)
            return proto.context_snapshot(entry.ref, data).numbered(entry.seq)
    return None


# -- import -------------------------------------------------------------------------------------


@frozen
class TraceLine:
    """One usable line of a trace file."""

    t: float  # seconds since the first entry
    direction: str
    kind: str
    raw: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class LoadedTrace:
    conversation: Conversation
    started_at: float | None  # wall clock of the first entry, when the file says
    dropped: int  # events the live session had let go before it was exported
    frames: int  # inbound frames replayed
    duration: float  # seconds from the first to the last entry
    problems: tuple[str, ...]  # lines that could not be used, and why


def load_jsonl(text: str, config: EngineConfig | None = None) -> LoadedTrace:
    """Replay an exported trace (or an agent-server recording) into a fresh conversation; raises
    TraceFormatError when no line of it is usable."""
    replay = JsonlReplay(text, config)
    replay.step()
    return replay.finish()


class JsonlReplay:
    """A trace file replayed into a fresh conversation a slice at a time (`step`), so that a page can
    show the conversation while it fills; `load_jsonl` is all the slices at once. Whatever the slices,
    the end is the same: lines are replayed in order, each whole, by the same code."""

    def __init__(self, text: str, config: EngineConfig | None = None) -> None:
        self.text = text
        self.lines_total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        self.lines_read = 0
        self.header: JsonObject = {}
        self.problems: list[str] = []
        self.engine = AgentEngine(Conversation(), config)
        self.end: float | None = None  # the time of the last entry replayed; None: none yet
        self._replay = _Replay(self.engine)
        self._frames = 0
        self._at = 0  # where the next line starts in `text`
        # Raw text is cut to its budget once, at the end (`finish`), not row by row: a view shows a row's
        # raw text only on demand, clipped.
        self.engine.conversation.trace.defer_raw()

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    @property
    def done(self) -> bool:
        return self._at >= len(self.text)

    def step(self, budget: float | None = None) -> bool:
        """Replay lines for about `budget` seconds (all of them when None); whether the file is done.

        Lines go a chunk at a time (`_CHUNK` characters, cut after a newline): `str.splitlines` on a
        chunk splits it as on the whole text, and never holds the whole file's lines at once."""
        deadline = None if budget is None else time.perf_counter() + budget
        text = self.text
        while self._at < len(text):
            cut = text.find("\n", self._at + _CHUNK)
            stop = len(text) if cut < 0 else cut + 1
            self._lines(text[self._at : stop].splitlines())
            self._at = stop
            if deadline is not None and time.perf_counter() >= deadline:
                break
        return self.done

    def _lines(self, sources: list[str]) -> None:
        # Nearly every line of a long trace is an inbound frame the console wrote itself: it is checked
        # inline and handed to the engine without a `TraceLine`, a generator step or `replay.step` (a
        # third of the parse's time went there); every other line takes `_usable_line`, with its reasons.
        problems, header, replay = self.problems, self.header, self._replay
        receive, drain, loads = self.engine.receive, self.engine.data_to_send, jsonvalue.loads
        number = self.lines_read
        end = self.end
        frames = 0
        for source in sources:
            number += 1
            try:
                value = loads(source)
            except jsonvalue.JsonDecodeError as exc:
                if source.strip():  # blank lines are no problem
                    problems.append(f"line {number}: not JSON ({exc})")
                continue
            if type(value) is dict and value.get("dir") == "in" and replay.up:
                t, raw, kind = value.get("t"), value.get("raw"), value.get("kind")
                if type(raw) is str and type(kind) is str and kind and (type(t) is float or type(t) is int):
                    end = t / 1000
                    try:
                        receive(raw, end)
                    except IllegalEvent as exc:
                        problems.append(f"line {number}: {kind} does not fit the session here ({exc})")
                    frames += 1
                    drain()  # there is no wire: what the engine would send is only traced
                    continue
            line = _usable_line(number, value, header, problems)
            if line is None:
                continue
            try:
                replay.step(line)
            except IllegalEvent as exc:
                problems.append(f"line {number}: {line.kind} does not fit the session here ({exc})")
            drain()
            end = line.t
        self.lines_read = number
        self.end = end
        self._frames += frames

    def loaded(self) -> LoadedTrace:
        """What is replayed so far, as a loaded trace (its problems so far)."""
        started = self.header.get("started_at")
        dropped = self.header.get("dropped")
        return LoadedTrace(
            conversation=self.engine.conversation,
            started_at=float(started) if isinstance(started, int | float) else None,
            dropped=dropped if isinstance(dropped, int) else 0,
            frames=self._replay.frames + self._frames,
            duration=self.end or 0.0,
            problems=tuple(self.problems),
        )

    def finish(self) -> LoadedTrace:
        """The trace ends (call once, when `step` says it is done): a reply still streaming will not go
        on; the session is over. Raises TraceFormatError when no line was usable."""
        if self.end is None:
            reason = self.problems[0] if self.problems else "the file is empty"
            raise TraceFormatError(f"no trace entries found: {reason}")
        _check_version(self.header, self.problems)
        self._replay.finish(self.end)
        self.engine.conversation.trace.settle_raw()
        return self.loaded()


def _check_version(header: JsonObject, problems: list[str]) -> None:
    if isinstance(header.get("version"), int) and header["version"] != VERSION:
        problems.append(f"trace format version {header['version']}; this console reads {VERSION}")


def _usable_line(number: int, value: JsonValue, header: JsonObject, problems: list[str]) -> TraceLine | None:
    """The line parsed as `value`, or None: the header (kept in `header`) or unusable (in `problems`)."""
    if type(value) is dict and value.get("format") == FORMAT and not _written_here(value):
        header.clear()
        header.update(value)
        return None
    line = _trace_line(value)
    if isinstance(line, str):
        problems.append(f"line {number}: {line}")
        return None
    return line


def _written_here(value: JsonObject) -> bool:
    """Whether a line has the shape of the entries this console writes (then it is one, not a header)."""
    t, raw, kind = value.get("t"), value.get("raw"), value.get("kind")
    return (
        type(raw) is str
        and type(kind) is str
        and bool(kind)
        and (type(t) is float or type(t) is int)
        and value.get("dir") in ("in", "out", "client")
    )


def _trace_line(value: JsonValue) -> TraceLine | str:
    """A line of either format, or why it is unusable."""
    # `type(...) is` rather than isinstance: a bool is no time, and this runs for every line of a file
    # of a hundred thousand.
    if type(value) is not dict:
        return "not a JSON object"
    t, direction = value.get("t"), value.get("dir")
    if type(t) is not float and type(t) is not int:
        return "no numeric 't'"
    if direction not in ("in", "out", "client"):
        return "'dir' must be in, out or client"
    raw = value.get("raw")
    if type(raw) is not str:
        frame = value.get("frame")
        raw = jsonvalue.dumps(frame) if frame is not None else None
    kind = value.get("kind")
    if type(kind) is not str:
        kind = _frame_type(raw) or ""
    summary = value.get("summary")
    if direction != "client" and raw is None:
        return f"{direction} entry without 'raw' or 'frame'"
    if not kind:
        return "no 'kind' and no frame type"
    return TraceLine(t / 1000, str(direction), kind, raw, summary if type(summary) is str else "")


def _frame_type(raw: str | None) -> str | None:
    obj = _frame_object(raw)
    kind = obj.get("type") if obj else None
    return kind if isinstance(kind, str) else None


def _frame_object(raw: str | None) -> JsonObject | None:
    if raw is None:
        return None
    try:
        value = jsonvalue.loads(raw)
    except jsonvalue.JsonDecodeError:
        return None
    return value if isinstance(value, dict) else None


class _Replay:
    """Drives an engine from trace lines the way the transport drove it live."""

    def __init__(self, engine: AgentEngine) -> None:
        self.engine = engine
        self.up = False
        self.closed = False
        self.frames = 0

    def step(self, line: TraceLine) -> None:
        if line.direction == "client":
            self._client(line)
        elif line.direction == "out":
            self._out(line)
        elif line.raw is not None:
            self._ensure_up(line.t)
            self.engine.receive(line.raw, line.t)
            self.frames += 1

    def _client(self, line: TraceLine) -> None:
        if line.kind == "CONNECTED":
            self._ensure_up(line.t)
        elif line.kind in _DROP_KINDS:
            reason = line.summary.partition(";")[0] or "connection lost"
            self.engine.disconnected(line.t, reason, 0.0)
            self.up = False
        elif line.kind in _TIMER_KINDS:
            self.engine.tick(line.t)
        elif line.kind == "CLOSED":
            self._close(line.t)
        # Everything else (duplicates dropped, frames held, ...) the engine records again by itself.

    def _out(self, line: TraceLine) -> None:
        if line.kind == "RESUME":
            self._ensure_up(line.t)  # the engine sends its own RESUME on reconnection
        elif line.kind == "USER_MESSAGE":
            frame = _frame_object(line.raw)
            content = frame.get("content") if frame else None
            if isinstance(content, str):
                self._ensure_up(line.t)
                self.engine.send_user_message(content, line.t)

    def _ensure_up(self, t: float) -> None:
        if self.closed:
            raise IllegalEvent("the session was closed earlier in the trace")
        if not self.up:
            self.engine.connected(t)
            self.up = True

    def _close(self, t: float) -> None:
        if not self.closed:
            self.engine.close(t)
            self.closed = True
            self.up = False

    def finish(self, t: float) -> None:
        """The trace ends: a reply still streaming will not go on; the session is over."""
        self.engine.tick(t)
        self.engine.conversation.mark_interrupted("the trace ends here", t)
        self._close(t)


# -- a trace as a session --------------------------------------------------------------------------


class ReplayClient(ReadOnlyClient):
    """A session over a loaded trace: everything can be looked at, nothing can be sent."""

    capabilities = RECORDING

    def __init__(self, loaded: LoadedTrace, name: str = "trace") -> None:
        refusal = f"'{name}' is a recorded trace opened offline: messages cannot be sent"
        super().__init__(f"trace:{name}", f"replay {name}", loaded.conversation, refusal)
        self.loaded = loaded
        self.name = name
        # Times in the replayed conversation count from 0 at the first entry; this maps them to the
        # wall clock of the recording (or of now, when the file does not say).
        self.wall_offset = loaded.started_at if loaded.started_at is not None else time.time()
        self.recording: Recording | None = Recording(name, self.wall_offset, loaded.dropped)


def open_trace(text: str, name: str = "trace", config: EngineConfig | None = None) -> ReplayClient:
    """Load an exported trace (or an OTLP/JSON file) as a session the console can show; raises
    TraceFormatError."""
    from console.otel import otlp_json, replay  # imported here: the OTLP reader builds on this module

    if otlp_json.looks_like_otlp(text):
        return replay.open_otlp(text, name)
    return ReplayClient(load_jsonl(text, config), name)
