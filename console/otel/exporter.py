"""Live export: every session of the console as spans, batched off the event loop to an OTLP/HTTP endpoint.

Theory of operation
-------------------
Each live session gets a `LiveCapture` (a coarse subscriber: nothing per token). Once a `interval`
the exporter's task takes what every capture gathered, sorts incidents and snapshots into their
replies (`spans.group`) and writes the spans with the SDK tracer. Ending a span only puts it on the
`BatchSpanProcessor`'s queue; encoding and the HTTP POST happen in the processor's own thread, so a
slow or dead collector never slows a stream. Context diffs, the one piece of real work here, run in a
worker thread too.

Nothing leaves the machine unless an endpoint was given (`--otlp URL`, or the standard
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` and their headers, timeout and
compression variables, which the OTLP exporter reads itself). `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` turn it off; so does the switch on the overview, at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer

from console.dialects.chat.client import ChatClient
from console.otel import conventions as cv
from console.otel.capture import LiveCapture, summarize_all
from console.otel.records import Incident, Reply, SessionInfo, Snapshot
from console.otel.spans import SpanWriter, group
from console.session import Conversation
from console.sessions import SessionEntry
from console.supervisor import Supervisor

log = logging.getLogger(__name__)

INTERVAL: Final = 1.0  # seconds between two takes of every session's records
MAX_QUEUE: Final = 65_536  # spans the processor holds for a slow collector before it drops
TRACES_PATH: Final = "/v1/traces"
EVENTS_PER_SPAN: Final = 4096
FLUSH_SECONDS: Final = 3.0  # what is queued at exit gets this long to go out

ProcessorFactory = Callable[[SpanExporter], SpanProcessor]
WatchKey = tuple[str, str]  # session id, chat id ("" for a session of one conversation)


def endpoint_from(otlp: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Where spans go: `--otlp URL` (a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT, or the full traces
    URL), else the environment's; None when nothing is configured or the SDK is disabled."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if otlp:
        return otlp if otlp.rstrip("/").endswith(TRACES_PATH) else otlp.rstrip("/") + TRACES_PATH
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    if traces := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return traces
    if base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return base.rstrip("/") + TRACES_PATH
    return None


def span_limits() -> SpanLimits:
    """The SDK keeps 128 events per span by default; a reply through a storm has more incidents than
    that, and every one is the point of the export. The standard variable still decides when set."""
    if "OTEL_SPAN_EVENT_COUNT_LIMIT" in os.environ:
        return SpanLimits()
    return SpanLimits(max_events=EVENTS_PER_SPAN)


def otel_export(owner: Supervisor, otlp: str | None) -> OtelExport | None:
    """The console's exporter, when an endpoint is configured (else None: nothing leaves the machine)."""
    endpoint = endpoint_from(otlp)
    if endpoint is None:
        return None
    # Configured by the environment, the exporter reads it itself: endpoint, headers, timeout, TLS.
    exporter = OTLPSpanExporter(endpoint=endpoint if otlp else None)
    return OtelExport(owner, exporter, destination=endpoint)


class CountingExporter(SpanExporter):
    """The real exporter, counted: what was sent, what failed (runs in the processor's thread)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.sent = 0
        self.failed = 0
        self.failing = False  # the last export failed
        self.last_error = ""
        self._closed = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # an exporter bug must not end the processor's thread
            log.exception("OTLP export failed")
            result, error = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        else:
            error = "" if result is SpanExportResult.SUCCESS else "the endpoint refused or did not answer"
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.sent += len(spans)
                self.failing = False
            else:
                self.failed += len(spans)
                self.failing = True
                self.last_error = error
        return result

    def shutdown(self) -> None:
        if not self._closed:  # the console ends it before the processor does
            self._closed = True
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


@dataclass(frozen=True, slots=True)
class ExportStats:
    enabled: bool
    destination: str
    spans: int  # written so far
    sent: int
    failed: int
    queued: int  # written, not yet sent or failed
    failing: bool
    last_error: str

    @property
    def state(self) -> str:
        if not self.enabled:
            return "off"
        return "failing" if self.failing else "ok"


@dataclass(slots=True)
class _Watch:
    entry: SessionEntry
    capture: LiveCapture
    writer: SpanWriter
    incidents: list[Incident] = field(default_factory=list)  # kept for the reply in progress
    snapshots: list[Snapshot] = field(default_factory=list)


class OtelExport:
    def __init__(
        self,
        owner: Supervisor,
        exporter: SpanExporter,
        *,
        destination: str,
        enabled: bool = True,
        processor: ProcessorFactory | None = None,
        interval: float = INTERVAL,
    ) -> None:
        self.owner = owner  # the sessions, read from their one owner
        self.destination = destination
        self.interval = interval
        self.enabled = enabled
        self.counter = CountingExporter(exporter)
        resource = Resource.create({SERVICE_NAME: cv.SERVICE})
        self.provider = TracerProvider(resource=resource, span_limits=span_limits())
        make = processor or (lambda e: BatchSpanProcessor(e, max_queue_size=MAX_QUEUE))
        self.provider.add_span_processor(make(self.counter))
        self.tracer: Tracer = self.provider.get_tracer(cv.SCOPE, schema_url=cv.SCHEMA_URL)
        self.spans = 0
        self._watches: dict[WatchKey, _Watch] = {}
        self._seen: weakref.WeakSet[Conversation] = weakref.WeakSet()  # captured before (from then on)
        self._task: asyncio.Task[None] | None = None
        self._ticking: asyncio.Future[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="otel-export")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._ticking is not None:
            with contextlib.suppress(Exception):
                await self._ticking
        await self.tick()
        for key in list(self._watches):
            self._unwatch(key, flush=True)
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        """What is queued goes out, for `FLUSH_SECONDS` at most: a dead collector (the exporter retries
        for its whole timeout, 10 s by default) must not hold the console's exit."""
        # The processor flushes in this thread, through every retry: ending the exporter from a timer
        # is what cuts a retry short (the exporter then refuses what is left, at once).
        deadline = threading.Timer(FLUSH_SECONDS, self.counter.shutdown)
        deadline.start()
        try:
            self.provider.shutdown()
        finally:
            deadline.cancel()

    def set_enabled(self, enabled: bool) -> None:
        """The off switch: off, every session is let go (nothing per event at all); on, sessions are
        watched again from now."""
        self.enabled = enabled
        if not enabled:
            for key in list(self._watches):
                self._unwatch(key)

    def stats(self) -> ExportStats:
        counter = self.counter
        sent, failed = counter.sent, counter.failed
        return ExportStats(
            enabled=self.enabled,
            destination=self.destination,
            spans=self.spans,
            sent=sent,
            failed=failed,
            queued=max(0, self.spans - sent - failed),
            failing=counter.failing,
            last_error=counter.last_error,
        )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            # Shielded: a tick holds records it took from the captures; cancelled halfway (close),
            # they would be lost. `close` waits for it instead.
            self._ticking = asyncio.ensure_future(self.tick())
            try:
                await asyncio.shield(self._ticking)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("OpenTelemetry export tick failed")

    # -- the work ---------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Take every session's records and write their spans, one session at a time (each take is
        bounded; between two, the streams go on)."""
        if not self.enabled:
            return
        self._sync()
        for watch in list(self._watches.values()):
            batch = watch.capture.take()
            pairs = batch.snapshots
            snapshots = await asyncio.to_thread(summarize_all, pairs) if pairs else []
            self._write(watch, batch.replies, batch.incidents, snapshots)
            await asyncio.sleep(0)

    def _write(
        self, watch: _Watch, replies: list[Reply], incidents: list[Incident], snapshots: list[Snapshot]
    ) -> None:
        grouped = group(
            replies,
            watch.incidents + incidents,
            watch.snapshots + snapshots,
            watch.capture.open_since(),
        )
        watch.incidents, watch.snapshots = grouped.kept_incidents, grouped.kept_snapshots
        self.spans += watch.writer.write(grouped)

    def _sync(self) -> None:
        """Watch every live conversation of the console: a session's, or each chat of a chat session.
        A conversation that went (its session removed, or replaced after a crash) is let go."""
        wanted: dict[WatchKey, tuple[SessionEntry, Conversation]] = {}
        for session_id, entry in self.owner.sessions.items():
            client = entry.client
            if client.recording is not None:  # a trace opened offline, or received: not this console's
                continue
            chats = client.conversations if isinstance(client, ChatClient) else {"": client.conversation}
            for chat_id, conversation in chats.items():
                wanted[(session_id, chat_id)] = (entry, conversation)
        for key, watch in list(self._watches.items()):
            if key not in wanted or wanted[key][1] is not watch.capture.conversation:
                self._unwatch(key, flush=True)
        for key, (entry, conversation) in wanted.items():
            if key not in self._watches:
                self._watch(key, entry, conversation)

    def _watch(self, key: WatchKey, entry: SessionEntry, conversation: Conversation) -> None:
        chat = f"-{key[1]}" if key[1] else ""
        info = SessionInfo(
            conversation_id=f"{entry.id}{chat}-{uuid.uuid4().hex[:12]}",
            session_id=entry.id,
            name=entry.name,
            dialect=entry.target.dialect,
            wall_offset=time.time() - time.monotonic(),
        )
        capture = LiveCapture(conversation, from_start=conversation not in self._seen)
        self._seen.add(conversation)
        self._watches[key] = _Watch(entry, capture, SpanWriter(self.tracer, info))

    def _unwatch(self, key: WatchKey, *, flush: bool = False) -> None:
        watch = self._watches.pop(key)
        watch.capture.close()
        if flush:  # the session is gone: what it did last, and what waited for its reply, goes now
            watch.capture.settle(all_now=True)
            batch = watch.capture.take()
            grouped = group(
                batch.replies,
                watch.incidents + batch.incidents,
                watch.snapshots + summarize_all(batch.snapshots),
            )
            self.spans += watch.writer.write(grouped)
