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

The parts: `agent_state` (the log, sessions, connections), `agent_delivery` (senders, pingers, chaos of
delivery), `agent_responses` (the workers that play scripts out); this module is the server and the
client's side of the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import jsonvalue
from console.events import excerpt
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_chaos import ChaosRates
from console.sim.agent_responses import Responding
from console.sim.agent_state import (
    ACK_SPEC,
    PONG_DEADLINE,
    RESUME_GRACE,
    Conn,
    Session,
    SimConfig,
)

__all__ = ["AgentSimulator", "ChaosRates", "SimConfig", "serve"]

logger = logging.getLogger(__name__)


class AgentSimulator(Responding):
    """The agent-server, in process. See the module docstring for how it behaves."""

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
        self._background.cancel()
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

    def _session(self, session_id: str) -> Session:
        s = self._sessions.get(session_id)
        if s is None:
            s = self._sessions[session_id] = Session(session_id, self.config.seed)
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
        conn = Conn(ws, s, s.connections)
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

    def _go_live(self, conn: Conn) -> None:
        s = conn.session
        conn.epoch = s.current
        conn.cursor = len(s.numbering().frames)
        self._ready(conn)

    def _ready(self, conn: Conn) -> None:
        if conn.grace is not None:
            conn.grace.cancel()
            conn.grace = None
        conn.ready.set()
        conn.session.wake()

    def _resume_grace(self, conn: Conn) -> None:
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

    def _on_client_frame(self, conn: Conn, message: str | bytes) -> None:
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

    def _on_resume(self, conn: Conn, frame: JsonObject, first: bool) -> None:
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

    def _on_user_message(self, conn: Conn, frame: JsonObject) -> None:
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

    def _on_pong(self, conn: Conn, frame: JsonObject) -> None:
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

    def _on_tool_ack(self, conn: Conn, frame: JsonObject) -> None:
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
