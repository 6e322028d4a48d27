"""The agent simulator's state and its log: the per-session log of numbered frames, each connection's
cursor into it, the ground truth of the reply being streamed, and the record of what the client did."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from websockets.asyncio.server import Server, ServerConnection

from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_chaos import CLEAN, ChaosRates, Delivery
from console.sim.background import Background
from console.sim.pacing import Pacer

logger = logging.getLogger(__name__)


PONG_DEADLINE: Final = 3.0  # spec: PONG within 3 s
ACK_DEADLINE: Final = 5.0  # spec: the server waits 5 s for TOOL_ACK, then logs and sends the result
ACK_SPEC: Final = 2.0  # spec: the client must ACK within 2 s
MISSED_PONGS: Final = 3  # spec: three missed PONGs and the server terminates the connection
RESUME_GRACE: Final = 2.0  # a reconnecting client that says nothing this long has not resumed
HOLD_TIMEOUT: Final = 0.25  # (scaled) a held out-of-order frame goes out anyway when nothing follows
END_DELAY: Final = 0.05  # (scaled) last token -> STREAM_END
KEEP_NUMBERINGS: Final = 4  # old numberings kept for replay to a lagging or resuming client


@dataclass(frozen=True, slots=True)
class SimConfig:
    mode: Literal["normal", "chaos"] = "normal"
    seed: int = 0
    time_scale: float = 1.0
    ping_interval: float = 5.0
    chaos: ChaosRates = field(default_factory=ChaosRates)


Planner = Callable[[str], Delivery]  # frame type -> its chaos delivery plan


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
    def __init__(self, session_id: str, seed: int) -> None:
        self.id = session_id
        self.numberings: dict[int, Numbering] = {0: Numbering(0)}
        self.current = 0
        self.messages: list[JsonObject] = []
        self.streaming: ReplyTruth | None = None
        self.contexts: dict[str, list[JsonValue]] = {}
        self.prompts: asyncio.Queue[str] = asyncio.Queue()
        self.busy = False
        self.worker: asyncio.Task[None] | None = None
        self.conn: Conn | None = None
        self.connections = 0
        self.responses = 0
        self.acks: dict[str, asyncio.Event] = {}
        self.call_sent: dict[str, float] = {}  # call_id -> last time its TOOL_CALL went on the wire
        self.sent_epoch = 0  # the latest numbering any frame was sent from, and its highest seq sent
        self.sent_high = 0
        self.performed: set[tuple[int, int]] = set()  # (numbering, position) whose chaos was done
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
        for index in [i for i in self.numberings if i <= self.current - KEEP_NUMBERINGS]:
            del self.numberings[index]


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
        self.ws.transport.abort()


@dataclass(slots=True)
class ResponseState:
    dropped: bool = False
    spiked: bool = False
    held_previous: bool = False  # frames are never held back to back: something must overtake them


DEFAULT_CONFIG: Final = SimConfig()


class SimCore:
    """What every part of the simulator shares: its configuration, sessions, log and background tasks."""

    def __init__(self, config: SimConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._sessions: dict[str, Session] = {}
        self._log: list[JsonValue] = []
        self._t0 = time.monotonic()
        self._server: Server | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._background = Background()
        self._pacer = Pacer()

    # -- the log ---------------------------------------------------------------------------------------

    def _record(self, s: Session, conn: Conn | None, kind: str, verdict: str, **fields: JsonValue) -> None:
        entry: JsonObject = {
            "t": round((time.monotonic() - self._t0) * 1000, 1),
            "session": s.id,
            "connection": conn.number if conn is not None else None,
            "kind": kind,
            "verdict": verdict,
        }
        entry.update(fields)
        self._log.append(entry)
        if verdict == "violation":
            logger.info("protocol violation in session %s: %s %s", s.id, kind, fields.get("detail", ""))

    def _chaos(self, s: Session, conn: Conn | None, behaviour: str, **fields: JsonValue) -> None:
        self._record(s, conn, "chaos", "info", behaviour=behaviour, **fields)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self._pacer.sleep(seconds * self.config.time_scale)
