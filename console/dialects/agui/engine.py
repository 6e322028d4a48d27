"""The client side of AG-UI, sans-I/O: one run at a time, the thread's history, resume and retry.

Theory of operation
-------------------
AG-UI has no connection of its own: every prompt is a new run, an HTTP POST of the whole thread
(`RunAgentInput`: thread id, a fresh run id, the history, the current state) answered by one SSE stream.
The engine queues prompts and approval answers, hands the transport one `RunRequest` at a time
(`next_request`), traces and applies every event of the answer (`receive`), and decides what the end
of a stream means (`ended`):

- RUN_FINISHED or RUN_ERROR came: the run is over; its messages join the history (not after an error).
- It did not, and the server gave SSE ids: the transport POSTs the same run again with `Last-Event-ID`
  (a server that supports it continues after that event), up to `MAX_RESUMES` times.
- It did not, and there were no ids: AG-UI has no resumption, so the reply is marked interrupted with
  what arrived; Retry asks the same prompt again in the same thread, with the history as it stood.

A run that ends interrupted for approval leaves its tool cards asking; once every question of the run
is answered (`answer`), a run with the `resume` entries continues the same reply. The link state is the
reachability of the agent: a probe before the first run, and again after a refused request.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ag_ui import core

from console import events as ev
from console import session_runs
from console.connection import ConnectionState
from console.dialects.agui import protocol, takeover
from console.dialects.agui.history import History
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.link import LinkEvent, LinkState
from console.runtime.engine import Lifecycle, LinkKeeper, retry_prompt
from console.session import Conversation, Message
from console.trace_kinds import as_kind

S = ConnectionState
L = LinkState
E = LinkEvent
MAX_RESUMES = 5  # Last-Event-ID reconnections of one run before it counts as interrupted
RAW_LIMIT = 64 * 1024  # characters of a request kept on its trace row


@frozen
class RunRequest:
    run_id: str
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class _Queued:
    text: str | None = None  # a prompt (shown queued until its run goes out), or
    message: Message | None = None
    resume: list[core.ResumeEntry] = field(default_factory=list)  # answers that continue a reply
    stream_id: str | None = None


@dataclass(slots=True)
class _Run:
    request: RunRequest
    decoder: protocol.RunDecoder
    last_event_id: str | None = None
    resumes: int = 0
    received: int = 0
    seen: set[str] = field(default_factory=set)  # event ids of this run, to drop a replay after a resume


def _new_id() -> str:
    return uuid.uuid4().hex


class AguiEngine(Lifecycle):
    def __init__(
        self,
        conversation: Conversation | None = None,
        *,
        thread_id: str | None = None,
        ids: Callable[[], str] = _new_id,
    ) -> None:
        self.conversation = conversation or Conversation()
        self.thread_id = thread_id or ids()
        self.history = History()
        self._ids = ids
        self._link = LinkKeeper(self.conversation)
        self._queue: deque[_Queued] = deque()
        self._run: _Run | None = None
        self._asks: dict[str, tuple[str, str]] = {}  # call id -> (interrupt id, reply stream id)
        self._answers: dict[str, list[core.ResumeEntry]] = {}  # reply stream id -> answers so far

    @property
    def idle(self) -> bool:
        """No run in flight and none queued (a run paused for approval waits on the user)."""
        return self._run is None and not self._queue

    @property
    def pending_approvals(self) -> list[str]:
        return list(self._asks)

    # -- the user's side --------------------------------------------------------------------------

    def send_user_message(self, text: str, now: float) -> Message:
        if not self.history.thread and self.conversation.messages:
            # A conversation taken over from another client (a restart): its thread goes on.
            takeover.restore(self.history, self.conversation.messages)
        message = self.conversation.add_user_message(text, now, queued=True)
        self.history.user(message.id, text)
        self._queue.append(_Queued(text=text, message=message))
        return message

    def retry(self, message_id: str, now: float) -> Message | None:
        """Ask again what an interrupted (once) or failed reply answered."""
        prompt = retry_prompt(self.conversation, message_id)
        return None if prompt is None else self.send_user_message(prompt, now)

    def answer(self, call_id: str, approved: bool, now: float) -> bool:
        """Approve or deny what a paused run asks; the last answer of the run resumes it."""
        asked = self._asks.pop(call_id, None)
        if asked is None:
            return False
        interrupt_id, stream_id = asked
        payload = {"approved": approved} if approved else {"approved": False, "reason": "denied by the user"}
        entry = core.ResumeEntry(interrupt_id=interrupt_id, status="resolved", payload=payload)
        self._answers.setdefault(stream_id, []).append(entry)
        session_runs.answer(self.conversation, call_id, approved)
        verdict = "approved" if approved else "denied"
        self.conversation.record(now, "client", "ANSWER", f"{call_id}: {verdict}", ref=call_id)
        if not any(sid == stream_id for _, sid in self._asks.values()):
            self._queue.append(_Queued(resume=self._answers.pop(stream_id), stream_id=stream_id))
        return True

    # -- reachability -------------------------------------------------------------------------------

    # `connected`: the agent answered a probe; `disconnected`: a probe or a request could not reach it.
    CONNECTED = "the agent answers"

    def _reconnected(self, now: float) -> None:
        self._record(now, "RESUME", "the agent answers again")
        self._link.handle(E.CONNECTED)  # runs are requests: there is no stream to resume

    def _dropped(self, now: float, reason: str) -> None:
        run = self._run
        if run is not None:  # the request never reached the agent: the reply says why
            self._finish(run, "lost", f"cannot reach the agent: {reason}", now)

    # -- runs -----------------------------------------------------------------------------------------

    def next_request(self, now: float) -> RunRequest | None:
        """The next run to POST, when the agent is reachable and no run is in flight."""
        if self._run is not None or not self._queue or not self.live:
            return None
        queued = self._queue.popleft()
        if queued.message is not None:
            self.conversation.mark_sent(queued.message)
        run_id = self._ids()
        stream_id = queued.stream_id or run_id
        run = core.RunAgentInput(
            thread_id=self.thread_id,
            run_id=run_id,
            protocol_version=protocol.PROTOCOL_VERSION,
            state=self._state(),
            messages=self.history.messages(),
            tools=[],
            context=[],
            forwarded_props={},
            resume=queued.resume or None,
        )
        body = protocol.run_input_json(run)
        request = RunRequest(run_id, body, {"Accept": "text/event-stream"})
        self._run = _Run(request, protocol.RunDecoder(stream_id, self.history))
        what = queued.text if queued.text is not None else f"resume: {len(queued.resume)} answer(s)"
        text = body.decode()
        raw = text if len(text) <= RAW_LIMIT else ev.excerpt(text, RAW_LIMIT)
        self.conversation.record(now, "out", "RUN_AGENT_INPUT", what, raw=raw, stream_id=stream_id)
        return request

    def resume_request(self) -> RunRequest | None:
        """The run in flight again, to continue after the last event id received."""
        run = self._run
        if run is None or run.last_event_id is None:
            return None
        headers = {**run.request.headers, "Last-Event-ID": run.last_event_id}
        return RunRequest(run.request.run_id, run.request.body, headers)

    def opened(self, now: float) -> None:
        """The server accepted the request and streams events."""
        if self._link.link.state is L.RECONNECTING:
            self._link.handle(E.RECONNECTED)
        if self._link.link.state is L.RESUMING:
            self._link.handle(E.RESUMED)

    def receive(
        self,
        data: str,
        event_id: str | None,
        now: float,
        prepared: tuple[protocol.Parsed, JsonObject] | None = None,
    ) -> None:
        """One SSE event; `prepared`: what `protocol.parse` made of it, when the transport already
        parsed it (off the loop, when large)."""
        run = self._run
        if run is None:
            self.conversation.record(
                now, "in", "PROTOCOL_ERROR", "an event outside any run", raw=ev.excerpt(data)
            )
            return
        if event_id:
            if event_id in run.seen:
                # A server that ignores Last-Event-ID sends the run again: what arrived stays as it was.
                self.conversation.record(
                    now, "in", "DUPLICATE", f"event id {event_id} again", raw=ev.excerpt(data)
                )
                return
            run.seen.add(event_id)
            run.last_event_id = event_id
        run.received += 1
        parsed, raw = prepared or protocol.parse(data)
        sid = run.decoder.stream_id
        if isinstance(parsed, protocol.Malformed):
            self.conversation.record(
                now, "in", "PROTOCOL_ERROR", parsed.reason, raw=ev.excerpt(data), stream_id=sid
            )
            return
        if isinstance(parsed, protocol.Unknown):
            summary = f"an event of unknown type {parsed.type}: shown, not used"
            self.conversation.record(now, "in", "UNKNOWN_EVENT", summary, raw=data, stream_id=sid)
            return
        events = run.decoder.feed(parsed, raw, len(data))
        self.conversation.record(
            now,
            "in",
            as_kind(parsed.type.value),
            _summary(parsed, events),
            raw=data,
            stream_id=sid,
            ref=_ref(events),
        )
        for event in events:
            if isinstance(event, ev.ProtocolError):
                self.conversation.record(
                    now, "in", "PROTOCOL_ERROR", event.reason, raw=event.excerpt, stream_id=sid
                )
            else:
                self.conversation.apply(event, now)
                if isinstance(event, ev.ContextSnapshot):
                    session_runs.keep_live(self.conversation, event.context_id, event.data)
                elif isinstance(event, ev.ApprovalRequested):
                    # Answerable at once: the stream may stay open a while after RUN_FINISHED.
                    self._asks[event.call_id] = (event.interrupt_id, event.stream_id)

    def broken(self, now: float, reason: str) -> None:
        """The stream could not be framed any further (a line or event over the size limit); the
        transport ends it, and `ended` decides whether the run resumes."""
        sid = self._run.decoder.stream_id if self._run is not None else None
        self.conversation.record(now, "in", "PROTOCOL_ERROR", f"stream broken: {reason}", stream_id=sid)

    def http_error(self, status: int, body: str, now: float) -> None:
        """The agent refused the run with an HTTP error: the reply says so, with the server's words."""
        run = self._run
        if run is None:
            return
        detail = f"HTTP {status}: {body.strip()}" if body.strip() else f"HTTP {status}"
        self.conversation.record(now, "in", "HTTP_ERROR", ev.excerpt(detail), raw=ev.excerpt(body, 4000))
        self._finish(run, "error", ev.excerpt(detail), now)

    def ended(self, now: float, reason: str) -> bool:
        """The stream ended (cleanly or not). True: POST again with `resume_request` after a backoff."""
        run = self._run
        if run is None:
            return False
        if run.decoder.outcome is not None:
            self._finish(run, run.decoder.outcome, run.decoder.detail, now)
            return False
        last = run.last_event_id
        if last is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in last):
            # No header can carry it: the run cannot resume after it.
            reason = "event id holds a control character: it cannot be sent back as Last-Event-ID"
            self.conversation.record(now, "in", "PROTOCOL_ERROR", reason, raw=repr(last))
            last = run.last_event_id = None
        if last is not None and run.resumes < MAX_RESUMES:
            run.resumes += 1
            self.conversation.record(
                now, "client", "DISCONNECTED", f"{reason}; resuming after event id {run.last_event_id}"
            )
            self._link.handle(E.LOST, reason)
            return True
        why = f"{reason} before RUN_FINISHED" if run.received else reason
        self.conversation.record(now, "client", "INTERRUPTED", why, stream_id=run.decoder.stream_id)
        self._finish(run, "lost", why, now)
        return False

    # -- internals ------------------------------------------------------------------------------------

    def _finish(self, run: _Run, outcome: ev.RunOutcome, detail: str, now: float) -> None:
        self._run = None
        sid = run.decoder.stream_id
        if outcome in ("success", "interrupt"):
            self.history.commit()
        else:
            self.history.discard()
        if run.decoder.outcome is None:
            # The wire never said how the run ended: the console says it, so no reply stays "streaming".
            self.conversation.apply(ev.RunStarted(sid, self.thread_id, run.request.run_id), now)
            self.conversation.apply(ev.RunEnded(sid, outcome, detail), now)
        if self._link.link.state is L.RECONNECTING:
            self._link.handle(E.CONNECTED)  # the agent answered
        elif self._link.link.state is L.RESUMING:
            self._link.handle(E.RESUMED)

    def _state(self) -> JsonValue:
        history = self.conversation.contexts.get(protocol.STATE)
        return history[-1].data if history else None


def _summary(event: core.BaseEvent, events: list[ev.Event]) -> str:
    for item in events:
        match item:
            case ev.TextDelta(text=text) | ev.ReasoningDelta(text=text) if text:
                return text
            case ev.ToolArgsDelta(delta=delta):
                return delta
            case ev.ToolCallStart(tool_name=name, call_id=cid):
                return f"{name} ({cid})"
            case ev.RunEnded(outcome=outcome, detail=detail):
                return f"{outcome}: {detail}" if detail else outcome
            case ev.Step(name=name):
                return name
    if isinstance(event, core.CustomEvent):
        return event.name
    if isinstance(event, core.RawEvent):
        return event.source or "raw"
    return ""


def _ref(events: list[ev.Event]) -> str | None:
    for item in events:
        if isinstance(item, ev.ToolCallStart | ev.ToolArgsDelta | ev.ToolCall | ev.ToolResult):
            return item.call_id
        if isinstance(item, ev.ContextSnapshot | ev.ContextDelta):
            return item.context_id
    return None
