"""The agent-server profile "strict": how the published agent-server behaves, not how the spec reads.

`python main.py sim agent --mode chaos --profile strict`. The default simulator (`console/sim/agent.py`)
is generous: sessions outlive connections, replies keep streaming across reconnects and a RESUME
replays any numbering. The published server is not, and a client tuned only against the generous one
loses whole replies on it. This profile reproduces what was measured on it:

* One connection at a time. A new connection aborts the reply that was running: no more frames and
  no STREAM_END for it, ever. RESUME replays frames of the current reply only.
* `seq` restarts at 1 with every USER_MESSAGE; PINGs take seq numbers from the same counter.
* A PING every 12 s, written outside the chaos layer (it overtakes whatever the layer holds). A PONG
  when no PING is pending is logged "unexpected"; three missed PONGs end the connection.
* Chaos is drawn per connection: half the connections are dropped after 15–44 frames; each frame has
  a 15–35% chance to enter a reorder buffer of 4, released shuffled only when a later frame passes
  through (so a TOOL_CALL or the STREAM_END itself can sit there until something else is sent — the
  STREAM_END possibly never); 5–15% duplicated; 5–13% preceded by a 2–8 s pause; 15–25% of PINGs
  with an empty challenge. The server waits 5 s for TOOL_ACK, then 0.8–2 s, then sends the result.

Every duration but the client's 3 s PONG deadline is multiplied by `time_scale`. `truth()` is what
was generated per reply, with how it ended; `log()` every client-side event with a verdict, and every
disconnect with who caused it (`by`: "server" or "client") and whether a reply was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Final, Literal

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.sim import agent_chaos
from console.sim import agent_scripts as scripts
from console.sim import agent_steps as steps
from console.sim.background import Background

logger = logging.getLogger(__name__)

PONG_DEADLINE: Final = 3.0  # real seconds: the client's obligation
MISSED_PONGS: Final = 3
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


# What the scripts add at generation time; delivery chaos is this module's own.
_GENERATION: Final = agent_chaos.ChaosRates.only(rapid_tools=0.3, oversized=0.1, error=0.1)


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

    def json(self) -> JsonObject:
        return {
            "prompt": self.prompt,
            "stream_id": self.stream_id,
            "text": "".join(self.texts),
            "status": self.status,
            "server_dropped": self.server_dropped,
            "aborted_by": self.aborted_by,
        }


@dataclass(slots=True)
class _Conn:
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


class _Dropped(Exception):
    """The chaos layer dropped the connection."""


class StrictAgentServer:
    """The published agent-server's behaviour, in process (see the module docstring)."""

    def __init__(self, config: StrictConfig | None = None) -> None:
        self.config = config or StrictConfig()
        self.replies: list[Reply] = []
        self._log: list[JsonValue] = []
        self._t0 = time.monotonic()
        self._server: Server | None = None
        self._port = 0
        self._conn: _Conn | None = None
        self._last_ended_by = "client"  # who ended the latest connection that ended
        self._connections = 0
        self._seq = 1
        self._numbering: list[tuple[int, str]] = []  # (seq, frame) since the last USER_MESSAGE
        self._reply: Reply | None = None
        self._worker: asyncio.Task[None] | None = None
        self._acks: dict[str, asyncio.Event] = {}
        self._answered: set[str] = set()  # challenges a PONG answered (empty ones are not told apart)
        self._background = Background()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await ws_serve(
            self._handler, host, port, process_request=self._http, ping_interval=None,
            compression=None, max_size=4 * 1024 * 1024,
        )  # fmt: skip
        self._port = self._server.sockets[0].getsockname()[1]
        return self._port

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self._conn is not None:
            self._conn.ws.transport.abort()
        self._background.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws"

    # -- what tests and benchmarks read -----------------------------------------------------------

    def truth(self) -> dict[str, JsonValue]:
        return {"replies": [r.json() for r in self.replies]}

    def log(self) -> list[JsonValue]:
        return list(self._log)

    def count(self, kind: str, **match: JsonValue) -> int:
        return sum(
            1
            for e in self._log
            if isinstance(e, dict) and e["kind"] == kind and all(e.get(k) == v for k, v in match.items())
        )

    def _record(self, conn: _Conn | None, kind: str, verdict: str = "info", **fields: JsonValue) -> None:
        entry: JsonObject = {
            "t": round((time.monotonic() - self._t0) * 1000, 1),
            "connection": conn.number if conn else None,
            "kind": kind,
            "verdict": verdict,
        }
        entry.update(fields)
        self._log.append(entry)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?")[0]
        bodies: dict[str, JsonValue] = {
            "/health": {"status": "ok", "mode": self.config.mode, "profile": "strict"},
            "/log": self.log(),
            "/truth": self.truth(),
        }
        if path == "/ws":
            return None
        if path not in bodies:
            return connection.respond(404, "Not Found\n")
        data = jsonvalue.dumps_bytes(bodies[path])
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return Response(200, "OK", headers, data)

    # -- connections ------------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        old = self._conn
        if old is not None:
            old.ws.transport.abort()
        self._connections += 1
        number = self._connections
        rng = random.Random(f"{self.config.seed}:conn:{number}")
        conn = _Conn(ws, number, ConnChaos.draw(rng, self.config), rng)
        self._conn = conn
        self._record(conn, "connect", drop_after=conn.chaos.drop_after)
        if number > 1 and self._reply is not None and self._reply.status == "streaming":
            ended_by = old.ended_by if old is not None else self._last_ended_by
            cause = "server drop" if ended_by == "server" else "client reconnect"
            self._abort_reply(conn, cause)
        conn.tasks = [asyncio.create_task(self._sender(conn)), asyncio.create_task(self._pinger(conn))]
        try:
            async for message in ws:
                self._on_client_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            for task in conn.tasks:
                task.cancel()
            if self._conn is conn:
                self._conn = None
                self._last_ended_by = conn.ended_by
            running = self._reply is not None and self._reply.status == "streaming"
            if conn.ended_by == "server" and running and self._reply is not None:
                self._reply.server_dropped = True
            self._record(conn, "disconnect", by=conn.ended_by, during_reply=running, code=ws.close_code)

    def _abort_reply(self, conn: _Conn | None, cause: str) -> None:
        reply = self._reply
        if reply is None or reply.status != "streaming":
            return
        reply.status, reply.aborted_by = "aborted", cause
        if self._worker is not None:
            self._worker.cancel()
        self._record(conn, "reply_aborted", reply=reply.number, cause=cause)

    def _drop(self, conn: _Conn, why: str) -> None:
        conn.ended_by = "server"
        self._record(conn, "chaos", behaviour="drop", detail=why)
        conn.ws.transport.abort()

    # -- the client's frames -------------------------------------------------------------------------

    def _on_client_frame(self, conn: _Conn, message: str | bytes) -> None:
        first, conn.got_frame = not conn.got_frame, True
        try:
            frame = jsonvalue.loads(message)
        except jsonvalue.JsonDecodeError:
            self._record(conn, "invalid", "violation")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if not isinstance(frame, dict) or not isinstance(kind, str):
            self._record(conn, "invalid", "violation")
            return
        if kind == "RESUME":
            self._on_resume(conn, frame.get("last_seq"), first)
        elif kind == "USER_MESSAGE" and isinstance(frame.get("content"), str):
            self._on_user_message(conn, str(frame["content"]))
        elif kind == "PONG":
            self._on_pong(conn, frame.get("echo"))
        elif kind == "TOOL_ACK":
            call_id = frame.get("call_id")
            event = self._acks.get(call_id) if isinstance(call_id, str) else None
            self._record(conn, "tool_ack", "ok" if event else "violation", call_id=call_id)
            if event is not None:
                event.set()
        else:
            self._record(conn, "invalid", "violation", detail=f"unknown type {kind!r}")

    def _on_resume(self, conn: _Conn, last_seq: JsonValue, first: bool) -> None:
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            self._record(conn, "resume", "violation", last_seq=last_seq)
            return
        replay = [text for seq, text in self._numbering if seq > last_seq]
        for text in replay:
            conn.queue.put_nowait(text)
        self._record(conn, "resume", "ok" if first else "violation", last_seq=last_seq, replayed=len(replay))

    def _on_user_message(self, conn: _Conn, content: str) -> None:
        self._abort_reply(conn, "new prompt")
        self._seq, self._numbering = 1, []
        reply = Reply(len(self.replies) + 1, content)
        self.replies.append(reply)
        self._reply = reply
        self._record(conn, "user_message", content=content[:200])
        self._worker = asyncio.create_task(self._respond(reply))

    def _on_pong(self, conn: _Conn, echo: JsonValue) -> None:
        if not isinstance(echo, str):
            self._record(conn, "pong", "violation", detail="echo must be a string")
        elif echo in conn.pending:
            latency = asyncio.get_running_loop().time() - conn.pending.pop(echo)
            if echo:
                self._answered.add(echo)
            ok = latency <= PONG_DEADLINE
            conn.missed = 0 if ok else conn.missed
            self._record(conn, "pong", "ok" if ok else "violation", latency_ms=round(latency * 1000, 1))
        else:
            # "repeat": that PING was answered already (a second PONG to a replayed copy). Otherwise
            # the client first saw the PING in a replay: its original was lost with its connection.
            repeat = echo in self._answered
            self._record(conn, "pong", "unexpected", echo=echo, repeat=repeat,
                         detail="no PING pending with that challenge")  # fmt: skip

    # -- writing --------------------------------------------------------------------------------------

    def _emit(self, fields: JsonObject, *, chaos: bool = True) -> str:
        """Number a frame, keep it for RESUME, and hand it to the live connection."""
        seq, self._seq = self._seq, self._seq + 1
        obj: JsonObject = {"type": fields["type"], "seq": seq}
        obj.update(fields)
        text = jsonvalue.dumps(obj)
        self._numbering.append((seq, text))
        conn = self._conn
        if conn is not None:
            if chaos:
                conn.queue.put_nowait(text)
            else:
                self._background.spawn(conn.ws.send(text))
        return text

    async def _sender(self, conn: _Conn) -> None:
        """The chaos layer: pauses, the reorder buffer, duplicates and the drop, per connection."""
        c, rng, scale = conn.chaos, conn.rng, self.config.time_scale
        try:
            while True:
                text = await conn.queue.get()
                if rng.random() < c.pause:
                    seconds = rng.uniform(*self.config.pause_seconds) * scale
                    self._record(conn, "chaos", behaviour="pause", seconds=round(seconds, 3))
                    await asyncio.sleep(seconds)
                duplicate = rng.random() < c.duplicate
                if len(conn.held) < self.config.reorder_capacity and rng.random() < c.reorder:
                    conn.held.append((text, duplicate))
                    self._record(conn, "chaos", behaviour="reorder", frame=text[:60])
                    continue
                await self._wire(conn, text, duplicate)
                released, conn.held = conn.held, []
                rng.shuffle(released)
                for held, dup in released:
                    await self._wire(conn, held, dup)
        except (_Dropped, ConnectionClosed):
            return

    async def _wire(self, conn: _Conn, text: str, duplicate: bool) -> None:
        for _ in range(2 if duplicate else 1):
            await conn.ws.send(text)
            conn.sent += 1
            if conn.chaos.drop_after is not None and conn.sent >= conn.chaos.drop_after:
                self._drop(conn, f"after {conn.sent} frames")
                raise _Dropped
        if duplicate:
            self._record(conn, "chaos", behaviour="duplicate", frame=text[:60])

    async def _pinger(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.ping_interval * self.config.time_scale)
            if self._conn is not conn:
                return  # a newer connection took over: its own pinger keeps its heartbeats
            empty = conn.rng.random() < conn.chaos.empty_ping
            challenge = "" if empty else steps.hex_id(conn.rng)
            conn.pending[challenge] = loop.time()
            self._emit({"type": "PING", "challenge": challenge}, chaos=False)
            loop.call_later(PONG_DEADLINE, self._pong_deadline, conn, challenge)

    def _pong_deadline(self, conn: _Conn, challenge: str) -> None:
        if self._conn is not conn or conn.pending.pop(challenge, None) is None:
            return
        conn.missed += 1
        self._record(conn, "pong_missing", "violation", missed=conn.missed)
        if conn.missed >= MISSED_PONGS:
            self._drop(conn, f"{MISSED_PONGS} missed PONGs")

    # -- generating -----------------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds * self.config.time_scale))

    async def _respond(self, reply: Reply) -> None:
        cfg = self.config
        rng = random.Random(f"{cfg.seed}:reply:{reply.number}:{reply.prompt}")
        script = scripts.build_script(reply.prompt, rng, _GENERATION if cfg.mode == "chaos" else None)
        sid = reply.stream_id = script.stream_id
        for step in script.steps:
            if isinstance(step, steps.Token):
                await self._sleep(step.delay)
                self._emit({"type": "TOKEN", "text": step.text, "stream_id": sid})
                reply.texts.append(step.text)
            elif isinstance(step, steps.Snapshot):
                await self._sleep(step.delay)
                self._emit({"type": "CONTEXT_SNAPSHOT", "context_id": step.context_id, "data": step.data})
            elif isinstance(step, steps.ToolCalls):
                await self._tool_calls(sid, step, rng)
            elif isinstance(step, steps.ErrorFrame):
                await self._sleep(step.delay)
                self._emit({"type": "ERROR", "code": step.code, "message": step.message})
        await self._sleep(END_DELAY)
        self._emit({"type": "STREAM_END", "stream_id": sid})
        reply.status = "done"

    async def _await_ack(self, call_id: str) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._acks[call_id].wait(), self.config.ack_timeout * self.config.time_scale
            )
        if not self._acks[call_id].is_set():
            self._record(self._conn, "tool_ack_missing", "violation", call_id=call_id)

    async def _tool_calls(self, sid: str, step: steps.ToolCalls, rng: random.Random) -> None:
        await self._sleep(step.delay)
        for i, call in enumerate(step.calls):
            if i:
                await self._sleep(step.gap)
            self._acks[call.call_id] = asyncio.Event()
            self._emit(
                {"type": "TOOL_CALL", "call_id": call.call_id, "tool_name": call.tool_name,
                 "args": call.args, "stream_id": sid}
            )  # fmt: skip
        await asyncio.gather(*(self._await_ack(call.call_id) for call in step.calls))
        for call in step.calls:
            await self._sleep(rng.uniform(*self.config.result_delay))
            self._emit(
                {"type": "TOOL_RESULT", "call_id": call.call_id, "result": call.result, "stream_id": sid}
            )
        await self._sleep(step.pause_after)


async def serve(host: str, port: int, config: StrictConfig) -> None:
    """Run the strict profile until cancelled (`python main.py sim agent --profile strict`)."""
    server = StrictAgentServer(config)
    await server.start(host, port)
    try:
        await asyncio.Future()
    finally:
        await server.stop()
