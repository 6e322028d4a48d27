"""The embedded agent-server: the seq-numbered agent WebSocket protocol, normal and chaos mode.

Theory of operation
-------------------
A *session* (query parameter `session` on `/ws`, default "default") outlives its connections. Each
session has a worker that turns queued prompts into responses (`agent_scripts.build_script`) and plays
them out, independently of any connection: a drop does not stop generation. Every frame it generates is
appended to the session's log of the current *numbering*; like the real server, a USER_MESSAGE starts a
new response and with it a new numbering whose seq restarts at 1, and PINGs take the next seq of the
current numbering (numbering 0 holds the PINGs before any response).

A connection's *sender* walks the log from its cursor (numbering, position) and puts frames on the
wire, applying the frame's chaos delivery plan the first time that frame is sent at all (replays are
clean); its *pinger* appends a PING every `ping_interval` seconds; its receiver logs and acts on the
client's frames. On RESUME{last_seq} the cursor moves to just after last_seq in the numbering the
client last saw and the sender replays from there, through any numbering begun since, then goes live.

The server records every client-side event with a verdict (`log()`, `GET /log`): PONG echo and
latency (<= 3 s), TOOL_ACK (within 2 s by the spec; missing after 5 s is logged by the response),
RESUME first on every reconnection with a plausible last_seq, malformed client frames. Chaos it
performs is logged as `{"kind": "chaos", "behaviour": NAME, ...}`. `truth()` (`GET /truth`) is what
was generated, in the console's transcript format, independent of delivery.

Timing: script delays, tool latencies, chaos spikes and hold timeouts are multiplied by `time_scale`;
the deadlines the server enforces on the client (3 s PONG, 5 s ACK, 2 s to send RESUME) and
`ping_interval` are real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from console import jsonvalue
from console.events import excerpt
from console.jsonvalue import JsonObject, JsonValue
from console.sim import agent_scripts as scripts
from console.sim.agent_scripts import CLEAN, ChaosRates, Delivery
from console.sim.pacing import Pacer

__all__ = ["AgentSimulator", "ChaosRates", "SimConfig", "serve"]

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


_Planner = Callable[[str], Delivery]  # frame type -> its chaos delivery plan


@dataclass(slots=True)
class _Frame:
    seq: int | None  # None: a malformed frame (chaos), which takes no seq
    kind: str
    text: str
    ref: str | None = None  # the call_id of a TOOL_CALL, the challenge of a PING
    delivery: Delivery = CLEAN
    sent: bool = False  # on the wire at least once (a replayed PING is not a new PING)


@dataclass(slots=True)
class _Numbering:
    index: int
    frames: list[_Frame] = field(default_factory=list)
    next_seq: int = 1

    def position_after(self, last_seq: int) -> int:
        """The position of the first sequenced frame with seq > last_seq (or the end)."""
        for i, frame in enumerate(self.frames):
            if frame.seq is not None and frame.seq > last_seq:
                return i
        return len(self.frames)


@dataclass(slots=True)
class _Held:
    epoch: int
    frame: _Frame
    countdown: int
    duplicate: bool


class _ReplyTruth:
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


class _Session:
    def __init__(self, session_id: str, seed: int) -> None:
        self.id = session_id
        self.numberings: dict[int, _Numbering] = {0: _Numbering(0)}
        self.current = 0
        self.messages: list[JsonObject] = []
        self.streaming: _ReplyTruth | None = None
        self.contexts: dict[str, list[JsonValue]] = {}
        self.prompts: asyncio.Queue[str] = asyncio.Queue()
        self.busy = False
        self.worker: asyncio.Task[None] | None = None
        self.conn: _Conn | None = None
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

    def numbering(self) -> _Numbering:
        return self.numberings[self.current]

    def new_numbering(self) -> None:
        self.current += 1
        self.numberings[self.current] = _Numbering(self.current)
        for index in [i for i in self.numberings if i <= self.current - KEEP_NUMBERINGS]:
            del self.numberings[index]


class _Conn:
    def __init__(self, ws: ServerConnection, session: _Session, number: int) -> None:
        self.ws = ws
        self.session = session
        self.number = number
        self.reconnection = number > 1
        self.ready = asyncio.Event()
        self.got_frame = False
        self.closed = False
        self.epoch = session.current
        self.cursor = len(session.numbering().frames)
        self.held: list[_Held] = []
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
class _ResponseState:
    dropped: bool = False
    spiked: bool = False
    held_previous: bool = False  # frames are never held back to back: something must overtake them


_DEFAULT_CONFIG: Final = SimConfig()


class AgentSimulator:
    """The agent-server, in process. See the module docstring for how it behaves."""

    def __init__(self, config: SimConfig = _DEFAULT_CONFIG) -> None:
        self.config = config
        self._sessions: dict[str, _Session] = {}
        self._log: list[JsonValue] = []
        self._t0 = time.monotonic()
        self._server: Server | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._background: set[asyncio.Task[None]] = set()
        self._pacer = Pacer()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await ws_serve(
            self._handler,
            host,
            port,
            process_request=self._process_request,
            ping_interval=None,  # heartbeats are the protocol's PING/PONG, not WebSocket pings
            compression=None,
            max_size=4 * 1024 * 1024,
            # `--streams 1000` connects a thousand sessions at once; asyncio's default backlog of
            # 100 would make most of them wait for TCP retransmits, seconds each.
            backlog=2048,
        )
        self._host = host
        self._port = self._server.sockets[0].getsockname()[1]
        return self._port

    async def stop(self) -> None:
        for session in self._sessions.values():
            if session.worker is not None:
                session.worker.cancel()
            if session.conn is not None:
                session.conn.abort()
        for task in list(self._background):
            task.cancel()
        self._pacer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        workers = [s.worker for s in self._sessions.values() if s.worker is not None]
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    @property
    def url(self) -> str:
        return f"ws://{self._authority()}/ws"

    @property
    def http_url(self) -> str:
        return f"http://{self._authority()}"

    def _authority(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}"

    # -- inspection ---------------------------------------------------------------------------------

    def truth(self, session: str = "default") -> dict[str, JsonValue]:
        s = self._sessions.get(session)
        if s is None:
            return {"messages": [], "contexts": {}}
        if s.streaming is not None:
            s.streaming.sync()
        value = jsonvalue.loads(
            jsonvalue.dumps_bytes({"messages": list(s.messages), "contexts": dict(s.contexts)})
        )
        assert isinstance(value, dict)
        return value

    def log(self, session: str | None = None) -> list[JsonValue]:
        return [e for e in self._log if session is None or (isinstance(e, dict) and e["session"] == session)]

    def violations(self, session: str | None = None) -> list[JsonValue]:
        return [e for e in self.log(session) if isinstance(e, dict) and e["verdict"] == "violation"]

    def drop(self, session: str = "default") -> bool:
        """Abort the session's live connection now, with no close frame (for tests)."""
        s = self._sessions.get(session)
        if s is None or s.conn is None:
            return False
        self._record(s, s.conn, "drop_requested", "info")
        s.conn.abort()
        return True

    # -- the log ---------------------------------------------------------------------------------------

    def _record(self, s: _Session, conn: _Conn | None, kind: str, verdict: str, **fields: JsonValue) -> None:
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

    def _chaos(self, s: _Session, conn: _Conn | None, behaviour: str, **fields: JsonValue) -> None:
        self._record(s, conn, "chaos", "info", behaviour=behaviour, **fields)

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        if url.path == "/ws":
            return None
        if url.path == "/health":
            return _json_response({"status": "ok", "mode": self.config.mode, "sessions": len(self._sessions)})
        if url.path == "/log":
            return _json_response(self.log(query["session"][0] if "session" in query else None))
        if url.path == "/truth":
            return _json_response(self.truth(query.get("session", ["default"])[0]))
        return connection.respond(404, "Not Found\n")

    # -- connections ------------------------------------------------------------------------------------

    def _session(self, session_id: str) -> _Session:
        s = self._sessions.get(session_id)
        if s is None:
            s = self._sessions[session_id] = _Session(session_id, self.config.seed)
        return s

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        s = self._session(query.get("session", ["default"])[0])
        if s.conn is not None:
            # A reconnect while the old socket still looks open (half-open): the new one wins.
            self._record(s, s.conn, "superseded", "info", detail="a newer connection took over")
            s.conn.abort()
        s.connections += 1
        conn = _Conn(ws, s, s.connections)
        s.conn = conn
        self._record(s, conn, "connect", "info", reconnection=conn.reconnection)
        loop = asyncio.get_running_loop()
        if conn.reconnection:
            conn.grace = loop.call_later(RESUME_GRACE, self._resume_grace, conn)
        else:
            conn.ready.set()
        conn.tasks = [asyncio.create_task(self._sender(conn)), asyncio.create_task(self._pinger(conn))]
        try:
            async for message in ws:
                self._on_client_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            for task in conn.tasks:
                task.cancel()
            for handle in conn.deadlines.values():
                handle.cancel()
            if conn.grace is not None:
                conn.grace.cancel()
            if s.conn is conn:
                s.conn = None
            self._record(s, conn, "disconnect", "info", code=ws.close_code)
            for task in conn.tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await task

    def _go_live(self, conn: _Conn) -> None:
        s = conn.session
        conn.epoch = s.current
        conn.cursor = len(s.numbering().frames)
        self._ready(conn)

    def _ready(self, conn: _Conn) -> None:
        if conn.grace is not None:
            conn.grace.cancel()
            conn.grace = None
        conn.ready.set()
        conn.session.wake()

    def _resume_grace(self, conn: _Conn) -> None:
        conn.grace = None
        if conn.closed or conn.got_frame:
            return
        self._record(
            conn.session,
            conn,
            "resume_missing",
            "violation",
            detail=f"no RESUME within {RESUME_GRACE:g} s of reconnecting",
        )
        self._go_live(conn)

    # -- the client's frames ----------------------------------------------------------------------------------

    def _on_client_frame(self, conn: _Conn, message: str | bytes) -> None:
        s = conn.session
        raw = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        first = not conn.got_frame
        conn.got_frame = True
        try:
            frame = jsonvalue.loads(raw)
        except jsonvalue.JsonDecodeError as exc:
            frame = None
            reason = f"malformed JSON: {exc}"
        else:
            reason = "" if isinstance(frame, dict) and isinstance(frame.get("type"), str) else "no 'type'"
        kind = frame.get("type") if isinstance(frame, dict) else None
        if first and conn.reconnection and kind != "RESUME":
            self._record(
                s,
                conn,
                "resume_missing",
                "violation",
                detail=f"the first frame of a reconnection was {kind or 'invalid'}, not RESUME",
            )
            self._go_live(conn)
        if not isinstance(frame, dict) or not isinstance(kind, str):
            self._record(s, conn, "invalid", "violation", detail=reason, excerpt=excerpt(raw, 200))
            return
        if kind == "RESUME":
            self._on_resume(conn, frame, first)
        elif kind == "USER_MESSAGE":
            self._on_user_message(conn, frame)
        elif kind == "PONG":
            self._on_pong(conn, frame)
        elif kind == "TOOL_ACK":
            self._on_tool_ack(conn, frame)
        else:
            self._record(
                s,
                conn,
                "invalid",
                "violation",
                detail=f"unknown client frame type {kind!r}",
                excerpt=excerpt(raw, 200),
            )

    def _on_resume(self, conn: _Conn, frame: JsonObject, first: bool) -> None:
        s = conn.session
        last_seq = frame.get("last_seq")
        problems: list[str] = []
        if not first:
            problems.append("RESUME was not the first frame of the connection")
        valid = isinstance(last_seq, int) and not isinstance(last_seq, bool) and last_seq >= 0
        replayed = 0
        if not valid:
            problems.append("last_seq must be a non-negative integer")
            self._go_live(conn)
        else:
            assert isinstance(last_seq, int)
            if last_seq > s.sent_high:
                problems.append(f"last_seq {last_seq} is beyond the highest seq sent ({s.sent_high})")
            # The client's last_seq counts in the numbering it last received from.
            epoch = s.sent_epoch if s.sent_epoch in s.numberings else min(s.numberings)
            numbering = s.numberings[epoch]
            conn.held.clear()
            conn.epoch = epoch
            conn.cursor = numbering.position_after(last_seq)
            replayed = sum(1 for f in numbering.frames[conn.cursor :] if f.seq is not None) + sum(
                len(n.frames) for i, n in s.numberings.items() if i > epoch
            )
            self._ready(conn)
        self._record(
            s,
            conn,
            "resume",
            "violation" if problems else "ok",
            last_seq=last_seq,
            first=first,
            highest_sent=s.sent_high,
            numbering_changed=s.sent_epoch != s.current,
            replayed=replayed,
            detail="; ".join(problems),
        )

    def _on_user_message(self, conn: _Conn, frame: JsonObject) -> None:
        s = conn.session
        content = frame.get("content")
        if not isinstance(content, str):
            self._record(s, conn, "user_message", "violation", detail="content must be a string")
            return
        queued = s.busy or not s.prompts.empty()
        self._record(s, conn, "user_message", "ok", content=excerpt(content, 200), queued=queued)
        s.prompts.put_nowait(content)
        if s.worker is None or s.worker.done():
            s.worker = asyncio.create_task(self._work(s))

    def _on_pong(self, conn: _Conn, frame: JsonObject) -> None:
        s = conn.session
        echo = frame.get("echo")
        if not isinstance(echo, str):
            self._record(s, conn, "pong", "violation", echo=echo, detail="echo must be a string")
            return
        now = asyncio.get_running_loop().time()
        sent = conn.pending.pop(echo, None)
        if sent is not None:
            handle = conn.deadlines.pop(echo, None)
            if handle is not None:
                handle.cancel()
            conn.answered.add(echo)
            latency = now - sent
            ok = latency <= PONG_DEADLINE
            if ok:
                conn.missed = 0
            self._record(
                s,
                conn,
                "pong",
                "ok" if ok else "violation",
                echo=echo,
                latency_ms=round(latency * 1000, 1),
                detail="" if ok else f"PONG after {latency:.2f} s (limit {PONG_DEADLINE:g} s)",
            )
        elif echo in conn.expired:
            self._record(
                s, conn, "pong", "violation", echo=echo, detail="late PONG: its 3 s deadline had passed"
            )
        elif echo in conn.answered:
            self._record(s, conn, "pong", "info", echo=echo, detail="repeat PONG for an answered PING")
        elif echo in conn.replayed:
            # Its first copy may never have reached the client: answering the replay is not wrong.
            self._record(s, conn, "pong", "info", echo=echo, detail="PONG for a replayed PING")
        else:
            self._record(
                s, conn, "pong", "violation", echo=echo, detail="echo matches no PING sent on this connection"
            )

    def _on_tool_ack(self, conn: _Conn, frame: JsonObject) -> None:
        s = conn.session
        call_id = frame.get("call_id")
        event = s.acks.get(call_id) if isinstance(call_id, str) else None
        if event is None:
            self._record(s, conn, "tool_ack", "violation", call_id=call_id, detail="unknown call_id")
            return
        assert isinstance(call_id, str)
        if event.is_set():
            self._record(s, conn, "tool_ack", "info", call_id=call_id, detail="repeat TOOL_ACK")
            return
        event.set()
        sent = s.call_sent.get(call_id)
        if sent is None:
            self._record(
                s, conn, "tool_ack", "violation", call_id=call_id, detail="ACK for a call never sent"
            )
            return
        latency = asyncio.get_running_loop().time() - sent
        ok = latency <= ACK_SPEC
        self._record(
            s,
            conn,
            "tool_ack",
            "ok" if ok else "violation",
            call_id=call_id,
            latency_ms=round(latency * 1000, 1),
            detail="" if ok else f"TOOL_ACK after {latency:.2f} s (spec: within {ACK_SPEC:g} s)",
        )

    # -- sending ---------------------------------------------------------------------------------------------

    async def _sender(self, conn: _Conn) -> None:
        s = conn.session
        await conn.ready.wait()
        hold_timeout = max(0.01, HOLD_TIMEOUT * self.config.time_scale)
        while True:
            signal = s.signal
            numbering = s.numberings.get(conn.epoch)
            if numbering is None:  # fell behind the kept numberings: continue from the oldest kept
                conn.epoch, conn.cursor = min(s.numberings), 0
                continue
            if conn.cursor < len(numbering.frames):
                position = conn.cursor
                conn.cursor += 1
                if not await self._deliver(conn, conn.epoch, position, numbering.frames[position]):
                    return
                continue
            if conn.epoch < s.current:
                # A new response began: what is held of the old numbering goes first.
                self._flush_held(conn)
                conn.epoch = min(i for i in s.numberings if i > conn.epoch)
                conn.cursor = 0
                continue
            if conn.held:
                try:
                    await asyncio.wait_for(signal.wait(), hold_timeout)
                except TimeoutError:
                    self._flush_held(conn)
            else:
                conn.waiting = True  # `_append` may send what comes next itself
                try:
                    await signal.wait()
                finally:
                    conn.waiting = False

    async def _deliver(self, conn: _Conn, epoch: int, position: int, frame: _Frame) -> bool:
        """Send one log frame; False when the connection is gone (chaos may have dropped it)."""
        s = conn.session
        first = (epoch, position) not in s.performed
        if frame.seq is None:  # malformed: sent once, never replayed
            if first:
                s.performed.add((epoch, position))
                self._chaos(s, conn, "malformed", excerpt=excerpt(frame.text, 80))
                return self._send(conn, epoch, frame)
            return True
        plan = frame.delivery if first else CLEAN
        if plan is not CLEAN:
            s.performed.add((epoch, position))
        if plan.spike > 0:
            self._chaos(s, conn, "spike", seq=frame.seq, seconds=plan.spike)
            await self._sleep(plan.spike)
        if plan.hold > 0:
            self._chaos(s, conn, "reorder", seq=frame.seq, frame_type=frame.kind, after=plan.hold)
            conn.held.append(_Held(epoch, frame, plan.hold, plan.duplicate))
            return True
        if not self._send(conn, epoch, frame):
            return False
        if plan.duplicate:
            self._chaos(s, conn, "duplicate", seq=frame.seq, frame_type=frame.kind)
            self._send(conn, epoch, frame)
        self._release_held(conn)
        if plan.drop_after:
            self._flush_held(conn)  # so what chaos was performed does not depend on timing
            self._chaos(s, conn, "drop", seq=frame.seq)
            conn.abort()
            return False
        return True

    def _release_held(self, conn: _Conn) -> None:
        for held in conn.held:
            held.countdown -= 1
        due = [h for h in conn.held if h.countdown <= 0]
        conn.held = [h for h in conn.held if h.countdown > 0]
        for held in due:
            self._send_held(conn, held)

    def _flush_held(self, conn: _Conn) -> None:
        due, conn.held = conn.held, []
        for held in due:
            self._send_held(conn, held)

    def _send_held(self, conn: _Conn, held: _Held) -> None:
        self._send(conn, held.epoch, held.frame)
        if held.duplicate:
            self._chaos(conn.session, conn, "duplicate", seq=held.frame.seq, frame_type=held.frame.kind)
            self._send(conn, held.epoch, held.frame)

    def _send(self, conn: _Conn, epoch: int, frame: _Frame) -> bool:
        """Write one frame now; False when the connection is closing (the frame stays in the log).

        Written through the connection's sans-I/O protocol rather than `await ws.send()`: the
        coroutine, its context manager and the wait for the write buffer cost more than the frame,
        and simulated frames are small enough for the transport's buffer to absorb.
        """
        ws = conn.ws
        if ws.protocol.state is not State.OPEN or ws.transport.is_closing():
            return False
        ws.protocol.send_text(frame.text.encode())
        ws.send_data()
        s = conn.session
        now = asyncio.get_running_loop().time()
        if frame.seq is not None:
            if epoch > s.sent_epoch:
                s.sent_epoch, s.sent_high = epoch, frame.seq
            elif epoch == s.sent_epoch:
                s.sent_high = max(s.sent_high, frame.seq)
        if frame.kind == "PING" and frame.ref is not None and not frame.sent:
            # As the published server: only a PING's first send awaits a PONG; a replayed copy was
            # answered already (or is lost with its connection), and a client answers it no more.
            self._ping_sent(conn, frame.ref, now)
        elif frame.kind == "PING" and frame.ref is not None:
            conn.replayed.add(frame.ref)
        elif frame.kind == "TOOL_CALL" and frame.ref is not None:
            s.call_sent[frame.ref] = now
        frame.sent = True
        return True

    # -- heartbeats ---------------------------------------------------------------------------------------------

    async def _pinger(self, conn: _Conn) -> None:
        s = conn.session
        rates = self.config.chaos if self.config.mode == "chaos" else None
        await conn.ready.wait()
        while True:
            await asyncio.sleep(self.config.ping_interval)
            challenge = scripts.challenge(s.ping_rng, rates)
            frame = self._append(s, "PING", {"challenge": challenge}, ref=challenge)
            if challenge == "":
                self._chaos(s, conn, "empty_ping", seq=frame.seq)

    def _ping_sent(self, conn: _Conn, challenge: str, now: float) -> None:
        conn.pending[challenge] = now
        conn.expired.discard(challenge)
        if challenge == "":
            return  # a corrupt heartbeat: answering it is optional, so it is never "missed"
        old = conn.deadlines.pop(challenge, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        conn.deadlines[challenge] = loop.call_later(PONG_DEADLINE, self._pong_deadline, conn, challenge)

    def _pong_deadline(self, conn: _Conn, challenge: str) -> None:
        conn.deadlines.pop(challenge, None)
        if conn.closed or conn.pending.pop(challenge, None) is None:
            return
        conn.expired.add(challenge)
        conn.missed += 1
        s = conn.session
        self._record(
            s,
            conn,
            "pong_missing",
            "violation",
            challenge=challenge,
            missed=conn.missed,
            detail=f"no PONG within {PONG_DEADLINE:g} s",
        )
        if conn.missed >= MISSED_PONGS:
            self._record(s, conn, "terminate", "info", detail=f"{MISSED_PONGS} missed PONGs")
            self._spawn(conn.ws.close(4000, f"{MISSED_PONGS} missed PONGs"))

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            with contextlib.suppress(ConnectionClosed):
                await work

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- generating responses ----------------------------------------------------------------------------------

    def _append(
        self,
        s: _Session,
        kind: str,
        fields: JsonObject,
        *,
        ref: str | None = None,
        delivery: Delivery = CLEAN,
    ) -> _Frame:
        numbering = s.numbering()
        seq = numbering.next_seq
        numbering.next_seq += 1
        obj: JsonObject = {"type": kind, "seq": seq}
        obj.update(fields)
        frame = _Frame(seq, kind, jsonvalue.dumps(obj), ref, delivery)
        numbering.frames.append(frame)
        if not self._sent_at_once(s, numbering, frame):
            s.wake()
        return frame

    def _sent_at_once(self, s: _Session, numbering: _Numbering, frame: _Frame) -> bool:
        """Write a frame the connection's sender would send next, and plainly, without waking it: a
        task switch per token was most of a token's cost at a thousand sessions."""
        conn = s.conn
        if conn is None or not conn.waiting or frame.delivery is not CLEAN:
            return False
        if conn.epoch != numbering.index or conn.cursor != len(numbering.frames) - 1:
            return False
        if not self._send(conn, numbering.index, frame):
            return False
        conn.cursor += 1
        return True

    async def _work(self, s: _Session) -> None:
        while True:
            prompt = await s.prompts.get()
            s.busy = True
            try:
                await self._respond(s, prompt)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one response must not kill the session
                logger.exception("agent simulator: response to %r failed", prompt)
            finally:
                s.busy = False

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self._pacer.sleep(seconds * self.config.time_scale)

    async def _respond(self, s: _Session, prompt: str) -> None:
        cfg = self.config
        chaos = cfg.chaos if cfg.mode == "chaos" else None
        s.responses += 1
        n = s.responses
        script = scripts.build_script(prompt, random.Random(f"{cfg.seed}:{s.id}:{n}:{prompt}"), chaos)
        delivery_rng = random.Random(f"{cfg.seed}:{s.id}:{n}:delivery")
        state = _ResponseState()

        def plan(kind: str) -> Delivery:
            if chaos is None:
                return CLEAN
            d = scripts.plan_delivery(
                delivery_rng,
                chaos,
                kind,
                may_drop=not state.dropped,
                may_spike=not state.spiked,
                may_hold=not state.held_previous,
            )
            state.dropped = state.dropped or d.drop_after
            state.spiked = state.spiked or d.spike > 0
            state.held_previous = d.hold > 0
            return d

        sid = script.stream_id
        s.new_numbering()
        s.messages.append(
            {
                "role": "user",
                "stream_id": None,
                "text": prompt,
                "status": "done",
                "blocks": [{"kind": "text", "text": prompt}],
            }
        )
        blocks: list[JsonValue] = []
        message: JsonObject = {
            "role": "assistant",
            "stream_id": sid,
            "text": "",
            "status": "streaming",
            "blocks": blocks,
        }
        s.messages.append(message)
        if s.streaming is not None:
            s.streaming.sync()  # a reply that failed half way: its truth is what was sent of it
        truth = s.streaming = _ReplyTruth(message, blocks)
        for behaviour in script.chaos:
            self._chaos(s, s.conn, behaviour, stream_id=sid)

        for step in script.steps:
            if isinstance(step, scripts.Token):
                await self._sleep(step.delay)
                self._append(s, "TOKEN", {"text": step.text, "stream_id": sid}, delivery=plan("TOKEN"))
                truth.token(step.text)
            elif isinstance(step, scripts.Snapshot):
                await self._sleep(step.delay)
                self._append(
                    s,
                    "CONTEXT_SNAPSHOT",
                    {"context_id": step.context_id, "data": step.data},
                    delivery=plan("CONTEXT_SNAPSHOT"),
                )
                s.contexts.setdefault(step.context_id, []).append(step.data)
            elif isinstance(step, scripts.ToolCalls):
                await self._tool_calls(s, sid, step, truth, plan)
            elif isinstance(step, scripts.ErrorFrame):
                await self._sleep(step.delay)
                frame = self._append(
                    s, "ERROR", {"code": step.code, "message": step.message}, delivery=plan("ERROR")
                )
                self._chaos(s, s.conn, "error", seq=frame.seq, code=step.code)
            elif isinstance(step, scripts.Malformed):
                await self._sleep(step.delay)
                s.numbering().frames.append(_Frame(None, "MALFORMED", step.text))
                s.wake()
        await self._sleep(END_DELAY)
        self._append(s, "STREAM_END", {"stream_id": sid}, delivery=plan("STREAM_END"))
        truth.sync()
        s.streaming = None
        message["status"] = "done"

    async def _tool_calls(
        self,
        s: _Session,
        sid: str,
        step: scripts.ToolCalls,
        truth: _ReplyTruth,
        plan: _Planner,
    ) -> None:
        await self._sleep(step.delay)
        cards: list[JsonObject] = []
        for i, call in enumerate(step.calls):
            if i:
                await self._sleep(step.gap)
            s.acks[call.call_id] = asyncio.Event()
            self._append(
                s,
                "TOOL_CALL",
                {"call_id": call.call_id, "tool_name": call.tool_name, "args": call.args, "stream_id": sid},
                ref=call.call_id,
                delivery=plan("TOOL_CALL"),
            )
            card = scripts.tool_block(call, done=False)
            cards.append(card)
            truth.card(card)
        await asyncio.gather(*(self._await_ack(s, call.call_id) for call in step.calls))
        for i, (call, card) in enumerate(zip(step.calls, cards, strict=True)):
            await self._sleep(call.latency if i == 0 else step.gap)
            self._append(
                s,
                "TOOL_RESULT",
                {"call_id": call.call_id, "result": call.result, "stream_id": sid},
                delivery=plan("TOOL_RESULT"),
            )
            card["result"] = call.result
            card["status"] = "done"
        await self._sleep(step.pause_after)

    async def _await_ack(self, s: _Session, call_id: str) -> None:
        """Wait for the TOOL_ACK: 5 s from the TOOL_CALL's (latest) send, counted while a client is
        connected; then log the violation and let the result go anyway (spec)."""
        event = s.acks[call_id]
        loop = asyncio.get_running_loop()
        while not event.is_set():
            sent = s.call_sent.get(call_id)
            if sent is None or s.conn is None:
                # Not on the wire yet, or nobody connected to ACK it: the 5 s have not started.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 0.05)
                continue
            remaining = sent + ACK_DEADLINE - loop.time()
            if remaining <= 0:
                self._record(
                    s,
                    s.conn,
                    "tool_ack_missing",
                    "violation",
                    call_id=call_id,
                    detail=f"TOOL_ACK missing after {ACK_DEADLINE:g} s",
                )
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


def _json_response(body: JsonValue) -> Response:
    data = jsonvalue.dumps_bytes(body)
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("Access-Control-Allow-Origin", "*"),
            ("Connection", "close"),
        ]
    )
    return Response(200, "OK", headers, data)


async def serve(host: str, port: int, config: SimConfig) -> None:
    """Run the agent simulator until cancelled (`python main.py sim agent`)."""
    sim = AgentSimulator(config)
    bound = await sim.start(host, port)
    logger.info("agent simulator (%s mode, seed %d) on ws://%s:%d/ws", config.mode, config.seed, host, bound)
    try:
        await asyncio.Future()
    finally:
        await sim.stop()
