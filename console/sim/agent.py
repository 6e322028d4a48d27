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
was generated, as a transcript (`console.transcript`), independent of delivery.

Timing: script delays, tool latencies, chaos spikes and hold timeouts are multiplied by `time_scale`;
the deadlines the server enforces on the client (3 s PONG, 5 s ACK, 2 s to send RESUME) and
`ping_interval` are real seconds.

The parts, each an object this server composes: `agent_state` (sessions, their replay log, connections),
`agent_context` (configuration, the verdict log, pacing), `agent_delivery` (senders and the chaos of
delivery), `agent_heartbeat` (PING/PONG), `agent_responses` (the workers that play scripts out),
`agent_client_side` (the client's frames); this module is the server: HTTP, connections, inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import heap, jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_chaos import ChaosRates
from console.sim.agent_client_side import ClientSide
from console.sim.agent_context import Shared
from console.sim.agent_delivery import Wire
from console.sim.agent_heartbeat import Heartbeats
from console.sim.agent_responses import Responder
from console.sim.agent_state import DEFAULT_CONFIG, RESUME_GRACE, Conn, Session, SimConfig
from console.transcript import Transcript

__all__ = ["AgentSimulator", "ChaosRates", "SimConfig", "serve"]

logger = logging.getLogger(__name__)


class AgentSimulator:
    """The agent-server, in process. See the module docstring for how it behaves."""

    def __init__(self, config: SimConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._shared = Shared(config)
        self._heartbeats = Heartbeats(self._shared)
        self._wire = Wire(self._shared, self._heartbeats)
        self._responder = Responder(self._shared, self._wire)
        self._client = ClientSide(self._shared, self._heartbeats, self._responder)
        self._sessions: dict[str, Session] = {}
        self._server: Server | None = None
        self._host = "127.0.0.1"
        self._port = 0

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
        self._shared.close()
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

    def truth(self, session: str = "default") -> Transcript:
        s = self._sessions.get(session)
        if s is None:
            return Transcript()
        if s.streaming is not None:
            s.streaming.sync()
        # Through JSON text: a copy the generation that goes on can never change under the reader.
        encoded = jsonvalue.dumps_bytes(s.truth.to_json())
        return Transcript.from_json(jsonvalue.loads(encoded))

    def log(self, session: str | None = None) -> list[JsonValue]:
        return self._shared.recorder.of(session)

    def violations(self, session: str | None = None) -> list[JsonValue]:
        return [e for e in self.log(session) if isinstance(e, dict) and e["verdict"] == "violation"]

    def drop(self, session: str = "default") -> bool:
        """Abort the session's live connection now, with no close frame (for tests)."""
        s = self._sessions.get(session)
        if s is None or s.conn is None:
            return False
        self._shared.recorder.record(s, s.conn, "drop_requested", "info")
        s.conn.abort()
        return True

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        if url.path == "/ws":
            return None
        if url.path == "/health":
            return _json_response(self._health())
        if url.path == "/log":
            return _json_response(self.log(query["session"][0] if "session" in query else None))
        if url.path == "/truth":
            return _json_response(self.truth(query.get("session", ["default"])[0]).to_json())
        return connection.respond(404, "Not Found\n")

    def _health(self) -> JsonObject:
        """Alive, and how it keeps up: frames written, and how late its paced waits ended."""
        pacer = self._shared.pacer
        return {
            "status": "ok",
            "mode": self.config.mode,
            "sessions": len(self._sessions),
            "frames": self._shared.frames,
            "waits": pacer.released,
            "lateness_s": round(pacer.lateness, 3),  # summed over the waits
            "let_go_s": round(pacer.let_go, 3),  # script time given up (console/sim/pacing.py)
            # where the sessions' time went (their reply cycles' parts)
            "cycles": self._shared.cycles.health(self._sessions.values(), asyncio.get_running_loop().time()),
        }

    # -- connections ------------------------------------------------------------------------------------

    def _session(self, session_id: str) -> Session:
        s = self._sessions.get(session_id)
        if s is None:
            s = self._sessions[session_id] = Session(session_id, self.config.seed, self.config.truth)
            s.made_at = asyncio.get_running_loop().time()
        return s

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        s = self._session(query.get("session", ["default"])[0])
        if s.conn is not None:
            # A reconnect while the old socket still looks open (half-open): the new one wins.
            self._shared.recorder.record(
                s, s.conn, "superseded", "info", detail="a newer connection took over"
            )
            s.conn.abort()
        s.connections += 1
        conn = Conn(ws, s, s.connections)
        s.conn = conn
        self._shared.recorder.record(s, conn, "connect", "info", reconnection=conn.reconnection)
        loop = asyncio.get_running_loop()
        if conn.reconnection:
            conn.grace = loop.call_later(RESUME_GRACE, self._client.resume_grace, conn)
        else:
            conn.ready.set()
        conn.tasks = [
            asyncio.create_task(self._wire.sender(conn)),
            asyncio.create_task(self._heartbeats.pinger(conn, self._wire.append)),
        ]
        try:
            async for message in ws:
                self._client.on_frame(conn, message)
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
            self._shared.recorder.record(s, conn, "disconnect", "info", code=ws.close_code)
            for task in conn.tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await task


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
    heap.freeze_startup()  # the collector as a simulator process keeps it (console/sim/process.py)
    sim = AgentSimulator(config)
    bound = await sim.start(host, port)
    heap.FREEZE_SURVIVORS.start()
    logger.info("agent simulator (%s mode, seed %d) on ws://%s:%d/ws", config.mode, config.seed, host, bound)
    try:
        await asyncio.Future()
    finally:
        await sim.stop()
