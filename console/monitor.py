"""The health of one supervised session: live counters read from its conversation, rates sampled once
a second, and the `Health` a card, /metrics and the summary are drawn from."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from console.clients import SessionClient, Target
from console.connection import ConnectionState
from console.dialects.agent.client import AgentClient
from console.session import (
    BlockAdded,
    BlockUpdated,
    Change,
    ConnectionChanged,
    Conversation,
    MessageAdded,
    MessageStatusChanged,
    NoticeAdded,
    Reset,
    TextBlock,
    ToolBlock,
)
from console.sessions import SessionEntry

S = ConnectionState
CRASHED: Final = "crashed"
TAIL_CHARS: Final = 240  # what a card shows of the reply in progress
HISTORY: Final = 60  # rate samples kept per session (one a second: the last minute)
RECENT_ERROR: Final = 60.0  # an error this recent makes a session "failing"

ClientFactory = Callable[[Target], SessionClient]
Clock = Callable[[], float]
DriverState = Literal["none", "running", "paused"]


class Driver(Protocol):
    """Something that drives a session (an autopilot); the supervisor stops it with the session."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SeqLag:
    """Frames received vs applied in order; `held` wait behind a gap (agent dialect)."""

    received: int
    applied: int
    held: int


@dataclass(frozen=True, slots=True)
class Health:
    session_id: str
    name: str
    target: Target
    state: str  # a ConnectionState value, or "crashed" while a restart is pending
    attempt: int  # reconnection attempts since the last good connection
    detail: str  # the last link failure, or the crash, in words
    events: int  # frames received
    tokens: int  # text deltas applied
    events_per_s: float
    tokens_per_s: float
    since_last_event: float | None
    reconnects: int
    pending_tools: int
    errors: int
    interrupted: int
    crashes: int
    last_crash: str  # the reason of the latest crash, kept after the restart
    restart_in: float | None
    seq: SeqLag | None
    tail: str
    history: tuple[float, ...]  # events/s, one sample a second, oldest first
    driver: DriverState
    recent_error: bool

    @property
    def reconnecting(self) -> bool:
        return self.state in (S.RECONNECTING, S.RESUMING) or (self.state == S.CONNECTING and self.attempt > 0)

    @property
    def failing(self) -> bool:
        """Needs a look: crashed, cannot connect, or an error or interrupted reply in the last minute."""
        return self.state == CRASHED or (self.state == S.CONNECTING and self.attempt > 0) or self.recent_error


@dataclass(frozen=True, slots=True)
class Summary:
    sessions: int
    by_state: dict[str, int]
    events_per_s: float
    tokens_per_s: float
    errors: int
    crashes: int
    reconnects: int
    failing: int


class Monitor:
    """The live counters of one session: its conversation's counts, read a few times a second, and
    the changes that are not per token (status, connection, notices)."""

    def __init__(self, entry: SessionEntry, factory: ClientFactory, clock: Clock) -> None:
        self.entry = entry
        self.factory = factory
        self.clock = clock
        self.client: SessionClient | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.events = 0
        self.tokens = 0
        self.reconnects = 0
        self.errors = 0
        self.interrupted = 0
        self.crashes = 0
        self.last_event_at: float | None = None
        self.last_error_at: float | None = None
        self.crash_reason = ""
        self.restart_at: float | None = None  # set while crashed
        self.history: deque[float] = deque(maxlen=HISTORY)
        self.rates = (0.0, 0.0)
        self._marks = (0, 0, clock())
        self.version = 0  # bumped on every change a card shows
        self.watcher: asyncio.Task[None] | None = None
        self.driver: Driver | None = None
        self.removed = False
        self.replacing = False  # a new client is being put in place (a restart)
        self._link = S.CONNECTING
        self.observe(entry.client)

    def observe(self, client: SessionClient) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.client = client
        conversation = client.conversation
        self._link = conversation.link.state
        # Not told of each token: the counts are read a few times a second (`poll`).
        self._unsubscribe = conversation.subscribe(self._on_change, deltas=False)
        self._seen = counts(conversation)
        self.version += 1

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_change(self, change: Change) -> None:
        match change:
            case MessageAdded() | BlockAdded() | BlockUpdated() | Reset():
                pass  # the tail or the pending tool calls changed
            case MessageStatusChanged(message=message) if message.status == "interrupted":
                self.interrupted += 1
                self.last_error_at = self.clock()
            case NoticeAdded(level="error"):
                self._error()
            case ConnectionChanged(status=status):
                if status.state is S.RECONNECTING and self._link is not S.RECONNECTING:
                    self.reconnects += 1
                self._link = status.state
            case _:
                return
        self.version += 1

    def poll(self) -> int:
        """Take in what the conversation counted since the last look; returns the version."""
        seen = counts(self.entry.client.conversation)
        if seen != self._seen:
            received, deltas, errors = self._seen
            self._seen = seen
            now = self.clock()
            if seen[0] != received:
                self.events += seen[0] - received
                self.last_event_at = now
            self.tokens += seen[1] - deltas
            if seen[2] != errors:
                self.errors += seen[2] - errors
                self.last_error_at = now
            self.version += 1
        return self.version

    def _error(self) -> None:
        self.errors += 1
        self.last_error_at = self.clock()

    def sample(self, now: float) -> None:
        self.poll()
        events, tokens, then = self._marks
        elapsed = max(now - then, 1e-6)
        self.rates = ((self.events - events) / elapsed, (self.tokens - tokens) / elapsed)
        self._marks = (self.events, self.tokens, now)
        self.history.append(self.rates[0])

    def crashed(self, reason: str, restart_at: float) -> None:
        self.crashes += 1
        self.crash_reason = reason
        self.restart_at = restart_at
        self.last_error_at = self.clock()
        self.version += 1

    def restarted(self) -> None:
        self.restart_at = None
        self.version += 1

    def health(self, now: float) -> Health:
        self.poll()
        client = self.entry.client
        conversation = client.conversation
        link = conversation.link
        crashed = self.restart_at is not None
        return Health(
            session_id=self.entry.id,
            name=self.entry.name,
            target=self.entry.target,
            state=CRASHED if crashed else link.state.value,
            attempt=link.attempt,
            detail=self.crash_reason if crashed else link.detail,
            events=self.events,
            tokens=self.tokens,
            events_per_s=self.rates[0],
            tokens_per_s=self.rates[1],
            since_last_event=None if self.last_event_at is None else max(0.0, now - self.last_event_at),
            reconnects=self.reconnects,
            pending_tools=len(conversation.waiting_tool_calls()),
            errors=self.errors,
            interrupted=self.interrupted,
            crashes=self.crashes,
            last_crash=self.crash_reason,
            restart_in=None if self.restart_at is None else max(0.0, self.restart_at - now),
            seq=seq_lag(client),
            tail=reply_tail(conversation),
            history=tuple(self.history),
            driver="none" if self.driver is None else ("paused" if self.driver.paused else "running"),
            recent_error=self.last_error_at is not None and now - self.last_error_at < RECENT_ERROR,
        )


def counts(conversation: Conversation) -> tuple[int, int, int]:
    return conversation.received, conversation.text_deltas, conversation.protocol_errors


def reply_tail(conversation: Conversation) -> str:
    """The end of the latest agent reply as a card shows it: its last words, tool calls as ⟨name⟩."""
    reply = next((m for m in reversed(conversation.messages) if m.role == "assistant"), None)
    if reply is None:
        return ""
    parts: list[str] = []
    size = 0
    for block in reversed(reply.blocks):
        if isinstance(block, TextBlock):
            part = block.tail(TAIL_CHARS - size)
        elif isinstance(block, ToolBlock):
            part = f" ⟨{block.tool_name}⟩ "
        else:
            continue
        parts.append(part)
        size += len(part)
        if size >= TAIL_CHARS:
            break
    return "".join(reversed(parts))[-TAIL_CHARS:]


def seq_lag(client: SessionClient) -> SeqLag | None:
    """Received vs applied, for clients that sequence frames (the agent dialect)."""
    if not isinstance(client, AgentClient):
        return None
    engine = client.engine
    return SeqLag(engine.frames_in, engine.sequencer.stats.applied, engine.sequencer.held)
