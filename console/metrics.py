"""What the console exposes to existing monitoring: `/metrics` in the Prometheus text format, and the
event-loop lag every session's latency depends on.

One process serves every session and every browser tab from one event loop, so the loop's lag is the
console's own vital sign: when it grows, PONGs go late and the page stutters, for every session at once.
`LoopLag` measures it by oversleeping: a timer asks to wake every `interval` and records how late it
woke (less often while the process idles).

A scrape of 1,000 sessions is some 15,000 samples and takes 60-80 ms to build, so `scrape` builds it on
the loop a slice at a time: it reads sessions, then writes metric families, and gives the loop back
once it has worked `SLICE_SECONDS`. Slices are cut by time, not by count: each turn of a loop busy
with a flood can take tens of milliseconds, and a scrape that yielded after every family and every
hundred sessions (some 15 turns for 100 sessions) waited that long every time, 0.3-3 s in all, for
some 5 ms of its own work. Built in a worker thread, as a plain FastAPI endpoint would, it read
sessions while the loop changed them, and the two threads took turns at the interpreter lock at every
system call the loop made: the loop lagged 100-280 ms per scrape.

The response is compressed here too (`encode`), at zlib's fastest level and in the same slices: the
framework's gzip middleware compresses at level 9 in one piece, 11 ms for the 130 kB of 100 sessions
(20 kB at level 1 in under 2 ms; level 9 saves another 10%), and blocked the loop ten times as long
at 1,000.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import zlib
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from console.monitor import Health
from console.supervisor import Supervisor

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
SLICE_SECONDS = 0.004  # a scrape's work per loop iteration
GZIP_LEVEL: Final = 1
GZIP_CHUNK: Final = 64 * 1024  # bytes compressed per step: well under a slice
GZIP_FROM: Final = 500  # bytes: a smaller scrape is sent as it is
LAG_BUCKETS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
STATES: Final = (
    "connecting",
    "open",
    "streaming",
    "tool_call_pending",
    "reconnecting",
    "resuming",
    "closed",
    "crashed",
)


class LoopLag:
    """Event-loop lag: how late a timer fires. Keeps the last `window` samples and a histogram.

    It samples every `interval` while the loop has work, and every `rest` while the process idles:
    each wake of an idle process costs tens of microseconds on a virtual machine, and at 20 Hz the
    probe alone was a third of an idle console's CPU. "Has work" is read from the process's own CPU
    time since the last sample (`BUSY_SHARE` of a core), or a sample late by `BUSY_LAG`: a single
    stream at 200 tokens/s already keeps it at full rate. While resting, a stall shorter than `rest`
    is seen only when it covers a sample's due time; the load that follows one is sampled in full.
    """

    BUSY_SHARE = 0.01  # of one core, since the previous sample
    BUSY_LAG = 0.002  # seconds

    def __init__(self, interval: float = 0.05, window: int = 600, rest: float = 1.0) -> None:
        self.interval = interval
        self.rest = max(rest, interval)
        self.samples: deque[float] = deque(maxlen=window)
        self.buckets = [0] * len(LAG_BUCKETS)  # non-cumulative; rendered cumulative
        self.count = 0
        self.total = 0.0
        # A plain timer callback, not a task: the probe fires for the process's life, and a task's step
        # and future per wake were most of an idle console's CPU.
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._cpu = 0.0  # process CPU seconds at the previous sample
        self._wall = 0.0  # perf_counter at the previous sample

    def start(self) -> None:
        if self._handle is None:
            self._cpu, self._wall = time.process_time(), time.perf_counter()
            self._schedule(asyncio.get_running_loop(), self.interval)

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, loop: asyncio.AbstractEventLoop, wait: float) -> None:
        self._due = time.perf_counter() + wait
        self._handle = loop.call_later(wait, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        lag = max(0.0, now - self._due)
        self.record(lag)
        busy = lag >= self.BUSY_LAG or cpu - self._cpu >= self.BUSY_SHARE * (now - self._wall)
        self._cpu, self._wall = cpu, now
        self._schedule(loop, self.interval if busy else self.rest)

    def record(self, lag: float) -> None:
        self.samples.append(lag)
        self.count += 1
        self.total += lag
        index = bisect_left(LAG_BUCKETS, lag)
        if index < len(self.buckets):
            self.buckets[index] += 1

    def quantile(self, q: float) -> float:
        """The q-quantile of the recent window (0 before any sample)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    @property
    def max(self) -> float:
        return max(self.samples, default=0.0)


LOOP_LAG: Final = LoopLag()  # the process's one event loop, measured once for every view


class ScrapeCost:
    """What the previous scrape cost: wall seconds from its start until its text was ready, and how
    many times it gave the loop back. Set apart from a scrape's latency at the client, it tells the
    console's own work from the wait for the loop (and the machine) around it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.turns = 0


PREVIOUS_SCRAPE: Final = ScrapeCost()


# -- the text format ------------------------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in pairs)
    return f"{{{inner}}}" if inner else ""


def _number(value: float) -> str:
    if type(value) is int:
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


class Exposition:
    """Builds one scrape: each metric family once, with HELP and TYPE before its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, labels: Iterable[tuple[str, str]] = ()) -> None:
        self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def samples(self, name: str, rows: Iterable[tuple[str, float]]) -> None:
        """Samples of one family whose label sets are already rendered (see `_labels`)."""
        self.lines.extend(f"{name}{labels} {_number(value)}" for labels, value in rows)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# Per-session families: (name, type, help, value of a Health).
_PER_SESSION: Final[tuple[tuple[str, str, str, Callable[[Health], float]], ...]] = (
    ("agent_console_session_up", "gauge", "1 while the session's link is live.", lambda h: _up(h)),
    ("agent_console_session_events_total", "counter", "Frames received.", lambda h: h.events),
    ("agent_console_session_tokens_total", "counter", "Text deltas applied.", lambda h: h.tokens),
    (
        "agent_console_session_events_per_second",
        "gauge",
        "Frames received per second.",
        lambda h: h.events_per_s,
    ),
    ("agent_console_session_tokens_per_second", "gauge", "Text deltas per second.", lambda h: h.tokens_per_s),
    (
        "agent_console_session_reconnects_total",
        "counter",
        "Times the link went down.",
        lambda h: h.reconnects,
    ),
    (
        "agent_console_session_errors_total",
        "counter",
        "Server errors and malformed frames.",
        lambda h: h.errors,
    ),
    (
        "agent_console_session_interrupted_total",
        "counter",
        "Replies that never finished.",
        lambda h: h.interrupted,
    ),
    ("agent_console_session_crashes_total", "counter", "Client crashes (restarted).", lambda h: h.crashes),
    (
        "agent_console_session_pending_tool_calls",
        "gauge",
        "Tool calls waiting for a result.",
        lambda h: h.pending_tools,
    ),
    (
        "agent_console_session_seconds_since_last_event",
        "gauge",
        "Seconds since the last frame arrived (-1 before any).",
        lambda h: -1.0 if h.since_last_event is None else h.since_last_event,
    ),
)


def _up(health: Health) -> int:
    return 1 if health.state in ("open", "streaming", "tool_call_pending") else 0


def render(supervisor: Supervisor, lag: LoopLag | None = None) -> str:
    """One scrape of the whole console, at once."""
    out = Exposition()
    for _ in _build(out, supervisor, supervisor.healths(), lag):
        pass
    return out.text()


async def scrape(supervisor: Supervisor, lag: LoopLag | None = None) -> str:
    """One scrape of the whole console, built `SLICE_SECONDS` of work per loop iteration."""
    started = time.perf_counter()
    slices = _Slices()
    healths: list[Health] = []
    for session_id in supervisor.ids:
        health = supervisor.health(session_id)
        if health is not None:
            healths.append(health)
        await slices.check()
    out = Exposition()
    for _ in _build(out, supervisor, healths, lag):
        await slices.check()
    text = out.text()
    PREVIOUS_SCRAPE.seconds = time.perf_counter() - started
    PREVIOUS_SCRAPE.turns = slices.turns
    return text


async def encode(text: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """A scrape's body and its headers: gzip when the client takes it (Prometheus does), built in
    slices like the scrape."""
    data = text.encode()
    if len(data) < GZIP_FROM or not accepts_gzip(accept_encoding):
        return data, {}
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip header
    slices = _Slices()
    parts: list[bytes] = []
    for start in range(0, len(data), GZIP_CHUNK):
        parts.append(compressor.compress(data[start : start + GZIP_CHUNK]))
        await slices.check()
    parts.append(compressor.flush())
    return b"".join(parts), {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or `*`, and not with q=0)."""
    for item in accept_encoding.lower().split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding in ("gzip", "*"):
            weight = next((param[2:] for param in params if param.startswith("q=")), "1")
            try:
                return float(weight) > 0
            except ValueError:
                return False
    return False


class _Slices:
    """Gives the loop back once a slice's time is spent (and only then: each turn may be long).

    The time is the loop thread's CPU time, not the clock's: on a loaded machine the process waits
    for a core mid-slice, and a slice counted on the clock ended after a fraction of its work, every
    time, for another turn behind everything else."""

    def __init__(self) -> None:
        self.resumed = time.thread_time()
        self.turns = 0

    async def check(self) -> None:
        if time.thread_time() - self.resumed >= SLICE_SECONDS:
            await asyncio.sleep(0)
            self.turns += 1
            self.resumed = time.thread_time()


def _build(
    out: Exposition, supervisor: Supervisor, healths: list[Health], lag: LoopLag | None
) -> Iterator[None]:
    """Writes the scrape to `out`, pausing (a yield) after each metric family of every session."""
    healths.sort(key=lambda h: h.session_id)
    yield from _sessions(out, healths)
    _sequencing(out, healths)
    _aggregate(out, supervisor, healths)
    if lag is not None:
        _loop(out, lag)
    _scrape(out, PREVIOUS_SCRAPE)
    _process(out)


def _session_labels(health: Health) -> str:
    return _labels((("session", health.session_id), ("dialect", health.target.dialect)))


def _sessions(out: Exposition, healths: list[Health]) -> Iterator[None]:
    # A scrape of 1,000 sessions is some 15,000 samples: each session's labels are escaped once.
    labels = [_session_labels(h) for h in healths]
    out.family("agent_console_session_info", "gauge", "One per session; its state is a label.")
    for h in healths:
        out.sample(
            "agent_console_session_info",
            1,
            (("session", h.session_id), ("dialect", h.target.dialect), ("name", h.name), ("state", h.state)),
        )
    for name, kind, help_text, value in _PER_SESSION:
        yield
        out.family(name, kind, help_text)
        out.samples(name, ((label, value(h)) for h, label in zip(healths, labels, strict=True)))
    yield


def _sequencing(out: Exposition, healths: list[Health]) -> None:
    sequenced = [(_session_labels(h), h.seq) for h in healths if h.seq is not None]
    for name, help_text, pick in (
        ("agent_console_session_frames_received_total", "Frames received (sequenced dialects).", 0),
        ("agent_console_session_frames_applied_total", "Frames applied in seq order.", 1),
        ("agent_console_session_frames_held", "Frames waiting behind a seq gap.", 2),
    ):
        out.family(name, "gauge" if pick == 2 else "counter", help_text)
        out.samples(name, ((label, (seq.received, seq.applied, seq.held)[pick]) for label, seq in sequenced))


def _aggregate(out: Exposition, supervisor: Supervisor, healths: list[Health]) -> None:
    summary = supervisor.summary(healths)
    out.family("agent_console_sessions", "gauge", "Sessions by state.")
    for state in STATES:
        out.sample("agent_console_sessions", summary.by_state.get(state, 0), (("state", state),))
    out.family("agent_console_events_per_second", "gauge", "Frames received per second, all sessions.")
    out.sample("agent_console_events_per_second", summary.events_per_s)
    out.family("agent_console_tokens_per_second", "gauge", "Text deltas per second, all sessions.")
    out.sample("agent_console_tokens_per_second", summary.tokens_per_s)
    out.family("agent_console_events_total", "counter", "Frames received, sessions open now.")
    out.sample("agent_console_events_total", sum(h.events for h in healths))
    out.family("agent_console_errors_total", "counter", "Errors, sessions open now.")
    out.sample("agent_console_errors_total", summary.errors)
    out.family("agent_console_crashes_total", "counter", "Client crashes, sessions open now.")
    out.sample("agent_console_crashes_total", summary.crashes)


def _loop(out: Exposition, lag: LoopLag) -> None:
    name = "agent_console_event_loop_lag_seconds"
    out.family(name, "histogram", "How late a timer fires on the event loop every session shares.")
    cumulative = 0
    for bound, count in zip(LAG_BUCKETS, lag.buckets, strict=True):
        cumulative += count
        out.sample(f"{name}_bucket", cumulative, (("le", _number(bound)),))
    out.sample(f"{name}_bucket", lag.count, (("le", "+Inf"),))
    out.sample(f"{name}_sum", lag.total)
    out.sample(f"{name}_count", lag.count)
    recent = "agent_console_event_loop_lag_recent_seconds"
    out.family(recent, "gauge", f"Loop lag quantiles over the last {len(lag.samples)} samples.")
    for q in (0.5, 0.99, 1.0):
        out.sample(recent, lag.quantile(q), (("quantile", _number(q)),))


def _scrape(out: Exposition, cost: ScrapeCost) -> None:
    name = "agent_console_scrape_duration_seconds"
    out.family(name, "gauge", "The previous scrape: from its start until its text was ready.")
    out.sample(name, cost.seconds)
    name = "agent_console_scrape_turns"
    out.family(name, "gauge", "The previous scrape: times it gave the event loop back.")
    out.sample(name, cost.turns)


def _process(out: Exposition) -> None:
    cpu = os.times()
    out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the console process.")
    out.sample("process_cpu_seconds_total", cpu.user + cpu.system)
    rss = _resident_bytes()
    if rss is not None:
        out.family("process_resident_memory_bytes", "gauge", "Resident memory of the console process.")
        out.sample("process_resident_memory_bytes", rss)


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
