"""The strict agent-server profile's configuration and state: the chaos drawn for each connection,
the ground truth of each reply, and the log of what the client did, each event with a verdict."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Final, Literal

from websockets.asyncio.server import ServerConnection

from console.jsonvalue import JsonObject, JsonValue
from console.transcript import Message, Status, Text

END_DELAY: Final = 0.05
Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class StrictConfig:
    mode: Literal["normal", "chaos"] = "chaos"
    seed: int = 0
    time_scale: float = 1.0
    ping_interval: float = 12.0
    ack_timeout: float = 5.0
    result_delay: Range = (0.8, 2.0)
    drop_share: float = 0.5  # of connections
    drop_after: tuple[int, int] = (15, 44)  # frames through the chaos layer
    reorder: Range = (0.15, 0.35)
    reorder_capacity: int = 4
    duplicate: Range = (0.05, 0.15)
    pause: Range = (0.05, 0.13)
    pause_seconds: Range = (2.0, 8.0)
    empty_ping: Range = (0.15, 0.25)


@dataclass(frozen=True, slots=True)
class ConnChaos:
    """The chaos of one connection, drawn when it opens."""

    drop_after: int | None
    reorder: float
    duplicate: float
    pause: float
    empty_ping: float

    @classmethod
    def draw(cls, rng: random.Random, cfg: StrictConfig) -> ConnChaos:
        if cfg.mode == "normal":
            return cls(None, 0.0, 0.0, 0.0, 0.0)
        drop = rng.randint(*cfg.drop_after) if rng.random() < cfg.drop_share else None
        return cls(
            drop, rng.uniform(*cfg.reorder), rng.uniform(*cfg.duplicate), rng.uniform(*cfg.pause),
            rng.uniform(*cfg.empty_ping),
        )  # fmt: skip


@dataclass(slots=True)
class Reply:
    number: int
    prompt: str
    stream_id: str = ""
    texts: list[str] = field(default_factory=list)
    status: Literal["streaming", "done", "aborted"] = "streaming"
    server_dropped: bool = False  # the server dropped a connection while it was streaming
    aborted_by: str = ""  # why it never ended: "server drop", "client reconnect", "new prompt"

    def messages(self) -> tuple[Message, Message]:
        """The prompt and this reply, as a transcript has them: a reply that never ended is
        interrupted, and its note says why (and whether the server dropped a connection during it)."""
        text = "".join(self.texts)
        why = [self.aborted_by] if self.aborted_by else []
        if self.server_dropped:
            why.append("the server dropped a connection while it streamed")
        status: Status = "interrupted" if self.status == "aborted" else self.status
        reply = Message(
            "assistant", status, (Text(text),) if text else (), stream_id=self.stream_id or None,
            prompt=self.prompt, note="; ".join(why),
        )  # fmt: skip
        return Message("user", "sent", (Text(self.prompt),)), reply


@dataclass(slots=True)
class StrictConn:
    ws: ServerConnection
    number: int
    chaos: ConnChaos
    rng: random.Random
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    held: list[tuple[str, bool]] = field(default_factory=list)  # (frame, duplicate it)
    sent: int = 0
    pending: dict[str, float] = field(default_factory=dict)  # PING challenge -> sent at
    missed: int = 0
    got_frame: bool = False
    ended_by: str = "client"
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class StrictLog:
    """Every client-side event with a verdict, every disconnect with who caused it, every chaos
    behaviour, in order, with milliseconds since the server was made."""

    def __init__(self) -> None:
        self.entries: list[JsonValue] = []
        self._t0 = time.monotonic()

    def record(self, conn: StrictConn | None, kind: str, verdict: str = "info", **fields: JsonValue) -> None:
        entry: JsonObject = {
            "t": round((time.monotonic() - self._t0) * 1000, 1),
            "connection": conn.number if conn else None,
            "kind": kind,
            "verdict": verdict,
        }
        entry.update(fields)
        self.entries.append(entry)

    def count(self, kind: str, **match: JsonValue) -> int:
        return sum(
            1
            for e in self.entries
            if isinstance(e, dict) and e["kind"] == kind and all(e.get(k) == v for k, v in match.items())
        )
