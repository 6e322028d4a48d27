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
was generated per reply, as a transcript (`console.transcript`) with how each reply ended; `log()`
every client-side event with a verdict, and every disconnect with who caused it (`by`: "server" or
"client") and whether a reply was running.

The parts: `agent_strict_state` (configuration, per-connection chaos, replies, the log),
`agent_strict_wire` (numbering, the chaos layer, heartbeats), `agent_strict_replies` (generation);
this module is the server: connections, the client's frames, inspection.
"""

from __future__ import annotations

import asyncio
import random

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import jsonvalue
from console.dialects.agent import protocol as proto
from console.jsonvalue import JsonValue
from console.sim import ws_wire
from console.sim.agent_strict_replies import StrictReplies
from console.sim.agent_strict_state import ConnChaos, Reply, StrictConfig, StrictConn, StrictLog
from console.sim.agent_strict_wire import StrictWire
from console.transcript import Transcript

__all__ = ["Reply", "StrictAgentServer", "StrictConfig", "serve"]


class StrictAgentServer:
    """The published agent-server's behaviour, in process (see the module docstring)."""

    def __init__(self, config: StrictConfig | None = None) -> None:
        self.config = config or StrictConfig()
        self.replies: list[Reply] = []
        self._log = StrictLog()
        self._wire = StrictWire(self.config, self._log)
        self._replies = StrictReplies(self.config, self._log, self._wire)
        self._server: Server | None = None
        self._port = 0
        self._last_ended_by = "client"  # who ended the latest connection that ended
        self._connections = 0
        self._reply: Reply | None = None
        self._worker: asyncio.Task[None] | None = None

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
        if self._wire.conn is not None:
            ws_wire.abort(self._wire.conn.ws)
        self._wire.background.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws"

    # -- what tests and benchmarks read -----------------------------------------------------------

    def truth(self) -> Transcript:
        return Transcript(tuple(m for r in self.replies for m in r.messages()))

    def log(self) -> list[JsonValue]:
        return list(self._log.entries)

    def count(self, kind: str, **match: JsonValue) -> int:
        return self._log.count(kind, **match)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?")[0]
        bodies: dict[str, JsonValue] = {
            "/health": {"status": "ok", "mode": self.config.mode, "profile": "strict"},
            "/log": self.log(),
            "/truth": self.truth().to_json(),
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
        old = self._wire.conn
        if old is not None:
            ws_wire.abort(old.ws)
        self._connections += 1
        number = self._connections
        rng = random.Random(f"{self.config.seed}:conn:{number}")
        conn = StrictConn(ws, number, ConnChaos.draw(rng, self.config), rng)
        self._wire.conn = conn
        self._log.record(conn, "connect", drop_after=conn.chaos.drop_after)
        if number > 1 and self._reply is not None and self._reply.status == "streaming":
            ended_by = old.ended_by if old is not None else self._last_ended_by
            cause = "server drop" if ended_by == "server" else "client reconnect"
            self._abort_reply(conn, cause)
        conn.tasks = [
            asyncio.create_task(self._wire.sender(conn)),
            asyncio.create_task(self._wire.pinger(conn)),
        ]
        try:
            async for message in ws:
                self._on_client_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            for task in conn.tasks:
                task.cancel()
            if self._wire.conn is conn:
                self._wire.conn = None
                self._last_ended_by = conn.ended_by
            running = self._reply is not None and self._reply.status == "streaming"
            if conn.ended_by == "server" and running and self._reply is not None:
                self._reply.server_dropped = True
            self._log.record(conn, "disconnect", by=conn.ended_by, during_reply=running, code=ws.close_code)

    def _abort_reply(self, conn: StrictConn | None, cause: str) -> None:
        reply = self._reply
        if reply is None or reply.status != "streaming":
            return
        reply.status, reply.aborted_by = "aborted", cause
        if self._worker is not None:
            self._worker.cancel()
        self._log.record(conn, "reply_aborted", reply=reply.number, cause=cause)

    # -- the client's frames -------------------------------------------------------------------------

    def _on_client_frame(self, conn: StrictConn, message: str | bytes) -> None:
        first, conn.got_frame = not conn.got_frame, True
        frame = proto.decode_client(message)
        fields = frame.fields
        if frame.problem:
            self._log.record(conn, "invalid", "violation", detail=frame.problem)
        elif frame.kind == "RESUME":
            self._on_resume(conn, fields.get("last_seq"), first)
        elif frame.kind == "USER_MESSAGE" and isinstance(content := fields.get("content"), str):
            self._on_user_message(conn, content)
        elif frame.kind == "PONG":
            self._wire.on_pong(conn, fields.get("echo"))
        elif frame.kind == "TOOL_ACK":
            call_id = fields.get("call_id")
            event = self._replies.acks.get(call_id) if isinstance(call_id, str) else None
            self._log.record(conn, "tool_ack", "ok" if event else "violation", call_id=call_id)
            if event is not None:
                event.set()
        else:
            self._log.record(conn, "invalid", "violation", detail="USER_MESSAGE content must be a string")

    def _on_resume(self, conn: StrictConn, last_seq: JsonValue, first: bool) -> None:
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            self._log.record(conn, "resume", "violation", last_seq=last_seq)
            return
        replayed = self._wire.replay(conn, last_seq)
        self._log.record(conn, "resume", "ok" if first else "violation", last_seq=last_seq, replayed=replayed)

    def _on_user_message(self, conn: StrictConn, content: str) -> None:
        self._abort_reply(conn, "new prompt")
        self._wire.restart_numbering()
        reply = Reply(len(self.replies) + 1, content)
        self.replies.append(reply)
        self._reply = reply
        self._log.record(conn, "user_message", content=content[:200])
        self._worker = asyncio.create_task(self._replies.respond(reply))


async def serve(host: str, port: int, config: StrictConfig) -> None:
    """Run the strict profile until cancelled (`python main.py sim agent --profile strict`)."""
    server = StrictAgentServer(config)
    await server.start(host, port)
    try:
        await asyncio.Future()
    finally:
        await server.stop()
