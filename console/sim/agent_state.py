"""The agent simulator's sessions and their replay log: the per-session log of numbered frames, each
connection's cursor into it and what it owes the client (PONG deadlines, held frames), and the ground
truth of the reply being streamed."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Final, Literal

from websockets.asyncio.server import ServerConnection

from console.jsonvalue import JsonObject, JsonValue
from console.sim import ws_wire
from console.sim.agent_chaos import CLEAN, ChaosRates, Delivery
from console.sim.agent_truth import Truth, TruthWindow
from console.sim.pacing import Timeline

RESUME_GRACE: Final = 2.0  # a reconnecting client that says nothing this long has not resumed
HOLD_TIMEOUT: Final = 0.25  # (scaled) a held out-of-order frame goes out anyway when nothing follows
END_DELAY: Final = 0.05  # (scaled) last token -> STREAM_END
KEEP_NUMBERINGS: Final = 4  # old numberings kept for replay to a lagging or resuming client
CALLS_KEPT: Final = 1_000  # tool calls whose ack state a session remembers, newest first


@dataclass(frozen=True, slots=True)
class SimConfig:
    mode: Literal["normal", "chaos"] = "normal"
    seed: int = 0
    time_scale: float = 1.0
    ping_interval: float = 5.0
    chaos: ChaosRates = field(default_factory=ChaosRates)
    # What the ground truth keeps (console/sim/agent_truth.py): a console's memory window.
    truth: TruthWindow = field(default_factory=TruthWindow)


@dataclass(slots=True)
class Frame:
    seq: int | None  # None: a malformed frame (chaos), which takes no seq
    kind: str
    text: str
    ref: str | None = None  # the call_id of a TOOL_CALL, the challenge of a PING
    delivery: Delivery = CLEAN
    sent: bool = False  # on the wire at least once (a replayed PING is not a new PING)


@dataclass(slots=True)
class Numbering:
    index: int
    frames: list[Frame] = field(default_factory=list)
    next_seq: int = 1

    def position_after(self, last_seq: int) -> int:
        """The position of the first sequenced frame with seq > last_seq (or the end)."""
        for i, frame in enumerate(self.frames):
            if frame.seq is not None and frame.seq > last_seq:
                return i
        return len(self.frames)


@dataclass(slots=True)
class Held:
    epoch: int
    frame: Frame
    countdown: int
    duplicate: bool


class ReplyTruth:
    """The ground truth of the reply being streamed. Its texts are joined when they are read, not per
    token: rebuilding them on every token cost O(length) each, O(n^2) over a long reply."""

    def __init__(self, message: JsonObject, blocks: list[JsonValue]) -> None:
        self.message = message
        self.blocks = blocks
        self.texts: list[str] = []
        self.block: JsonObject | None = None  # the text block tokens go to, if the last block is text
        self.block_texts: list[str] = []

    def token(self, text: str) -> None:
        self.texts.append(text)
        if self.block is None:
            self.block = {"kind": "text", "text": ""}
            self.blocks.append(self.block)
            self.block_texts = []
        self.block_texts.append(text)

    def card(self, card: JsonObject) -> None:
        self.sync()
        self.block = None
        self.blocks.append(card)

    def sync(self) -> None:
        self.message["text"] = "".join(self.texts)
        if self.block is not None:
            self.block["text"] = "".join(self.block_texts)


class Session:
    def __init__(self, session_id: str, seed: int, truth: TruthWindow | None = None) -> None:
        self.id = session_id
        self.numberings: dict[int, Numbering] = {0: Numbering(0)}
        self.current = 0
        self.truth = Truth(truth or TruthWindow())
        self.streaming: ReplyTruth | None = None
        self.prompts: asyncio.Queue[str] = asyncio.Queue()
        self.busy = False
        self.worker: asyncio.Task[None] | None = None
        self.conn: Conn | None = None
        self.connections = 0
        self.responses = 0
        # Loop times of the newest reply's end and prompt (the reply cycle's parts, `Cycles`).
        self.ended_at: float | None = None
        self.prompted_at = 0.0
        self.started_at: float | None = None  # the reply being played, since when
        self.timeline: Timeline | None = None  # and its timeline
        self.made_at = 0.0  # when the server first heard of the session
        self.acks: dict[str, asyncio.Event] = {}
        self.call_sent: dict[str, float] = {}  # call_id -> last time its TOOL_CALL went on the wire
        self.sent_epoch = 0  # the latest numbering any frame was sent from, and its highest seq sent
        self.sent_high = 0
        # (numbering, position) whose chaos was done, of the numberings kept
        self.performed: set[tuple[int, int]] = set()
        self.signal = asyncio.Event()
        self.ping_rng = random.Random(f"{seed}:{session_id}:ping")

    def wake(self) -> None:
        self.signal.set()
        self.signal = asyncio.Event()

    def numbering(self) -> Numbering:
        return self.numberings[self.current]

    def new_numbering(self) -> None:
        self.current += 1
        self.numberings[self.current] = Numbering(self.current)
        gone = [i for i in self.numberings if i <= self.current - KEEP_NUMBERINGS]
        for index in gone:
            del self.numberings[index]
        if gone:  # a frame of a numbering let go is never sent again: its chaos record goes too
            first = min(self.numberings)
            self.performed = {done for done in self.performed if done[0] >= first}

    def call(self, call_id: str) -> asyncio.Event:
        """A tool call goes out: the event its TOOL_ACK sets. Only the newest `CALLS_KEPT` calls are
        remembered (an ACK for an older one is then an unknown call: a client acking a call a
        thousand calls late is wrong either way)."""
        event = self.acks[call_id] = asyncio.Event()
        for calls in (self.acks, self.call_sent):
            while len(calls) > CALLS_KEPT:
                del calls[next(iter(calls))]
        return event


class Conn:
    def __init__(self, ws: ServerConnection, session: Session, number: int) -> None:
        self.ws = ws
        self.session = session
        self.number = number
        self.reconnection = number > 1
        self.ready = asyncio.Event()
        self.got_frame = False
        self.closed = False
        self.epoch = session.current
        self.cursor = len(session.numbering().frames)
        self.held: list[Held] = []
        self.pending: dict[str, float] = {}  # challenge -> when its PING was sent on this connection
        self.deadlines: dict[str, asyncio.TimerHandle] = {}
        self.expired: set[str] = set()
        self.answered: set[str] = set()
        self.replayed: set[str] = set()  # challenges of PINGs this connection got only as replays
        self.missed = 0
        self.grace: asyncio.TimerHandle | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.waiting = False  # the sender has sent all there was and waits for more

    def abort(self) -> None:
        ws_wire.abort(self.ws)


DEFAULT_CONFIG: Final = SimConfig()
