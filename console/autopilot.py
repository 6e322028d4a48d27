"""An autopilot types into a session like a busy user: a new prompt shortly after each reply ends.

It gives the operations view realistic live load: every session streams, calls tools and waits like a
real one, with prompts drawn (seeded) from a mix of the requests an agent gets. It follows the session
rather than one client, so it keeps going after the supervisor replaces a crashed client, and it only
types while the link is up and the session is idle, so a prompt never queues behind a reconnection.

It runs on timer callbacks, not a task: a task waking on an event (a reply's end, a think time) cost
several task steps and futures per prompt, which hundreds of pilots paid fifty times a second. Its
timers are set on the loop's grid (console/runtime/grid.py), halfway between two ticks of the
poller: the pilots whose think times end within the same tenth of a second type in one wake of the
loop, and that burst of prompts (a thousand sessions type ~16 at a time) does not lengthen the turn in
which the poller reads, nor reach the agents in the same instant as every answer of that turn.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from console.clients import SessionClient, Target
from console.connection import ConnectionState
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine
from console.limits import Limits
from console.runtime import grid
from console.session import Change, ConnectionChanged, Conversation
from console.sessions import ClientReplaced, SessionEvent, SessionRemoved
from console.supervisor import Supervisor
from console.window import Window

log = logging.getLogger(__name__)

TOPICS: Final = (
    "Q3",
    "churn",
    "EMEA revenue",
    "onboarding funnel",
    "support backlog",
    "pricing experiment",
    "retention cohort",
    "APAC pipeline",
    "incident postmortem",
    "renewal forecast",
)

# (template, weight): the mix leans on tool-using replies, with a few greetings and long documents.
# The simulator picks the kind of reply by keyword, so the words matter.
PROMPTS: Final[tuple[tuple[str, int], ...]] = (
    ("summarize the {topic} report", 5),
    ("what are the {topic} metrics this quarter?", 3),
    ("analyze and compare the regions for {topic}", 4),
    ("show the trends in {topic}", 2),
    ("look up the {topic} definition", 3),
    ("search the policy on {topic}", 2),
    ("hello, can you help with {topic}?", 2),
    ("thanks! one more thing about {topic}", 1),
    ("write a long detailed document on {topic}", 1),
)
_OPEN: Final = ConnectionState.OPEN  # read at every change of what a session shows

# What an autopiloted session keeps in memory (console/window.py): a hundred of them run for hours,
# watched in aggregate, so each keeps about the last ten minutes of its messages (ten a minute) and
# four of its trace (500 rows a minute), its snapshots within 2 MB (some 0.5 MB a minute under chaos:
# four to five minutes), and the raw text of one oversized frame (a copy of a snapshot it keeps).
# Each part is full within minutes, after which the console's memory stays flat; the rest is in the
# store, read back when a user opens it.
STREAM_WINDOW: Final = Window(
    messages=100, trace_rows=2_000, snapshot_bytes=2 * 1024 * 1024, oversized_frames=1
)

# Half-megabyte snapshots from a hundred sessions would measure the snapshots, not the console.
LARGE_CONTEXT_PROMPT: Final = ("show the database schema behind {topic}", 1)


@dataclass(frozen=True, slots=True)
class AutopilotConfig:
    think: tuple[float, float] = (0.5, 2.5)  # seconds between a reply's end and the next prompt
    first: tuple[float, float] = (0.0, 2.0)  # before the first prompt, so sessions do not move in step
    # A session says when its state changes (and the supervisor when its client is replaced: see
    # `open_streams`); this is how long to wait at most if neither says anything. A look costs a
    # wake-up on cold objects: every 2 s, 300 streaming pilots' looks were 2% of the console's CPU.
    poll: float = 10.0
    large_context: bool = False

    def scaled(self, factor: float) -> AutopilotConfig:
        """The same pacing at another speed (the simulators' time scale)."""
        return AutopilotConfig(
            (self.think[0] * factor, self.think[1] * factor),
            (self.first[0] * factor, self.first[1] * factor),
            self.poll,
            self.large_context,
        )


class Autopilot:
    def __init__(
        self,
        client_of: Callable[[], SessionClient | None],
        *,
        seed: int | str = 0,
        config: AutopilotConfig | None = None,
    ) -> None:
        """`client_of` returns the session's current client, or None once the session is gone."""
        self._client_of = client_of
        self._rng = random.Random(f"autopilot:{seed}")
        self.config = config or AutopilotConfig()
        prompts = PROMPTS + ((LARGE_CONTEXT_PROMPT,) if self.config.large_context else ())
        # Drawn from at every prompt: the templates and their running weights once (the same draws as
        # from the weights themselves: `choices` accumulates them into these very sums).
        self._templates = tuple(t for t, _ in prompts)
        self._cum_weights = tuple(itertools.accumulate(w for _, w in prompts))
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop its timers run on (asked once)
        self._paused = False
        self._running = False
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None  # the next step
        self._waiting = False  # the timer is the poll: a change of the session comes first
        self._watched: Conversation | None = None  # the conversation whose changes wake the pilot
        self._unwatch: Callable[[], None] | None = None
        self.sent = 0
        self.looks = 0  # times it looked whether the session was ready for a prompt

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop typing; a reply already streaming finishes."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake()

    def start(self) -> None:
        if not self._running:
            self._running = True
            self._later(self._rng.uniform(*self.config.first), self._check)

    async def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._watch(None)
        self._loop = None

    def next_prompt(self) -> str:
        template = self._rng.choices(self._templates, cum_weights=self._cum_weights)[0]
        return template.format(topic=self._rng.choice(TOPICS))

    def _later(self, delay: float, step: Callable[[], None]) -> None:
        loop = self._running_loop()
        self._timer = loop.call_at(grid.at(loop, delay, grid.STEP / 2), step)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:  # asked once: asking is a system call (getpid) on Python 3.11
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def _check(self) -> None:
        """Type after a think time if the session is ready; else wait until what it shows changes (a
        reply ended, the link came back) or `poll` passed: not a wake-up per tick, nor per message or
        block, for a thousand pilots."""
        self._timer = None
        self._waiting = False
        if not self._running:
            return
        self.looks += 1
        client = self._client_of()
        if client is None:
            self._running = False
            self._watch(None)
            return
        if self._paused or not _ready(client):
            self._wait_for(client)
            return
        self._later(self._rng.uniform(*self.config.think), self._type)

    def _wait_for(self, client: SessionClient) -> None:
        """Until what `client`'s session shows changes, or `poll` passed."""
        self._watch(client.conversation)
        self._waiting = True
        self._later(self.config.poll, self._check)

    def _type(self) -> None:
        self._timer = None
        if not self._running:
            return
        client = self._client_of()
        sent = client is not None and not self._paused and _ready(client) and self._send(client)
        if sent and client is not None and not client.idle:
            # What `_check` would find now, without asking for the client again: it waits.
            self.looks += 1
            self._wait_for(client)
            return
        self._check()

    def replaced(self) -> None:
        """The session's client was replaced (a restart): look at the new one now, not at the next poll."""
        self._wake()

    def _wake(self) -> None:
        """The session changed while the pilot waited for it: look again in the next turn of the loop
        (the change is told while the session is still applying it)."""
        if self._waiting and self._running:
            self._waiting = False
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._running_loop().call_soon(self._check)

    def _watch(self, conversation: Conversation | None) -> None:
        """Hear of `conversation`'s status (subscribed once per client, not once per wait)."""
        if conversation is self._watched:
            return
        if self._unwatch is not None:
            self._unwatch()
        self._watched, self._unwatch = conversation, None
        if conversation is not None:
            self._unwatch = conversation.subscribe(self._on_change, deltas=False)

    def _on_change(self, change: Change) -> None:
        # The session is idle and live again only with a change of what it shows to open (live, and
        # neither streaming nor waiting on a tool): a reply's end, a stall, a reconnection. What it
        # shows changes several times in every reply (streaming, a tool call pending, streaming
        # again), and a look at each cost hundreds of pilots a callback and a new timer apiece.
        if type(change) is ConnectionChanged and change.status.state is _OPEN:
            self._wake()

    def _send(self, client: SessionClient) -> bool:
        try:
            client.send_user_message(self.next_prompt())
            self.sent += 1
            return True
        except Exception:
            # A session that cannot take a prompt now is the supervisor's business, not ours.
            log.exception("autopilot could not send to %s", client.url)
            return False


def _ready(client: SessionClient) -> bool:
    return client.idle and client.conversation.link.live


def open_streams(
    supervisor: Supervisor,
    agent_urls: str | Sequence[str],
    count: int,
    *,
    seed: int = 0,
    time_scale: float = 1.0,
    config: AutopilotConfig | None = None,
) -> list[str]:
    """`--streams N`: N autopiloted agent sessions, each its own `session` on the agent server (on
    several servers, dealt out in turn: a fleet of simulator processes)."""
    urls = [agent_urls] if isinstance(agent_urls, str) else list(agent_urls)
    width = max(2, len(str(count)))
    pacing = (config or AutopilotConfig()).scaled(time_scale)
    ids: list[str] = []
    pilots: dict[str, Autopilot] = {}

    def on_session(event: SessionEvent) -> None:
        # A pilot hears of its own conversation only: a restarted session's new client it is told of.
        if type(event) is ClientReplaced and (pilot := pilots.get(event.entry.id)) is not None:
            pilot.replaced()
        elif type(event) is SessionRemoved:
            pilots.pop(event.session_id, None)

    supervisor.subscribe(on_session)
    for n in range(1, count + 1):
        name = f"agent-{n:0{width}d}"
        agent_url = urls[(n - 1) % len(urls)]
        separator = "&" if "?" in agent_url else "?"
        target = Target("agent", f"{agent_url}{separator}session={name}")
        entry = supervisor.add(target, name=name, factory=stream_client)
        pilot = Autopilot(client_of(supervisor, entry.id), seed=f"{seed}:{name}", config=pacing)
        supervisor.attach(entry.id, pilot)
        pilots[entry.id] = pilot
        pilot.start()
        ids.append(entry.id)
    return ids


def stream_client(target: Target) -> SessionClient:
    """An agent client with a shorter trace: an autopiloted session is watched in aggregate."""
    return AgentClient(target.url, AgentEngine(Conversation(limits=Limits(window=STREAM_WINDOW))))


def client_of(sessions: Supervisor, session_id: str) -> Callable[[], SessionClient | None]:
    """The session's client of the moment (it changes when a crashed one is replaced)."""

    def current() -> SessionClient | None:
        entry = sessions.get(session_id)
        return None if entry is None else entry.client

    return current
