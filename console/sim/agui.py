"""A simulated AG-UI agent over HTTP: `POST /agent` with a `RunAgentInput`, answered as an SSE stream.

HTTP is parsed by h11 (the sans-I/O HTTP/1.1 library); what the agent says is `agui_script`, framed by
the dialect's protocol module, so the simulator speaks exactly the event types the console decodes.
Each event carries an `id:` (unless `ids=False`), and a run POSTed again with `Last-Event-ID`
continues after that event, which is what lets the console show a resumed stream. In chaos mode one
run in four goes well and the others meet one trouble each (see `agui_script`); a cut closes the
socket without ending the chunked body, as a network failure would.

In-process: `sim = AguiSimulator(config); await sim.start(); sim.url; await sim.stop()`.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Literal

import h11
from ag_ui import core
from pydantic import ValidationError

from console import jsonvalue
from console.dialects.agui import protocol
from console.jsonvalue import JsonValue
from console.sim.agui_script import Script, choose_trouble, script
from console.sim.http_server import StreamServer

DEFAULT_PORT = 4749
READ_LIMIT = 8 * 1024 * 1024  # bytes of a request body (the thread and the state come with each run)


@dataclass(frozen=True, slots=True)
class SimConfig:
    mode: Literal["normal", "chaos"] = "normal"
    seed: int = 0
    ids: bool = True
    delay: float = 0.025  # seconds between events
    time_scale: float = 1.0


@dataclass(slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class AguiSimulator(StreamServer):
    def __init__(self, config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.config = config or SimConfig()
        self.runs = 0
        self._scripts: dict[str, Script] = {}  # by run id, for Last-Event-ID resumes
        self._rng = random.Random(self.config.seed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/agent"

    # -- HTTP -----------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            request = await _read(conn, reader)
            if request is not None:
                await self._respond(conn, writer, request)
        except h11.ProtocolError:
            pass  # the client spoke something else: nothing to tell it

    async def _respond(self, conn: h11.Connection, writer: asyncio.StreamWriter, request: _Request) -> None:
        if request.path == "/health":
            body = jsonvalue.dumps_bytes({"status": "ok", "runs": self.runs})
            await _send(conn, writer, 200, "application/json", body)
        elif request.path != "/agent":
            await _send(conn, writer, 404, "text/plain", b"not found\n")
        elif request.method != "POST":
            await _send(conn, writer, 405, "text/plain", b"POST a RunAgentInput here\n")
        else:
            await self._run(conn, writer, request)

    async def _run(self, conn: h11.Connection, writer: asyncio.StreamWriter, request: _Request) -> None:
        try:
            run = protocol.parse_run_input(request.body)
        except ValidationError as exc:
            await _send(conn, writer, 422, "text/plain", f"not a RunAgentInput: {exc}\n".encode())
            return
        after = request.headers.get("last-event-id")
        resumed = self._scripts.get(run.run_id) if after else None
        if resumed is None:
            self.runs += 1
            trouble = choose_trouble(self._rng, self.config.mode == "chaos")
            resumed = script(run, _state(request.body), trouble, random.Random(self._rng.random()))
            self._scripts[run.run_id] = resumed
            while len(self._scripts) > 64:
                del self._scripts[next(iter(self._scripts))]
            start, cut = 0, resumed.cut_at
        else:
            start, cut = int(after or 0), None  # a resume is never cut again
        if resumed.http_error is not None:
            await _send(conn, writer, 503, "text/plain", f"{resumed.http_error}\n".encode())
            return
        headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("connection", "close"),
        ]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)) or b"")
        delay = self.config.delay * self.config.time_scale
        for index in range(start, len(resumed.items)):
            if cut is not None and index >= cut:
                writer.transport.abort()  # no terminating chunk: the stream just stops
                return
            writer.write(
                conn.send(h11.Data(data=self._frame(resumed.items[index], index + 1).encode())) or b""
            )
            await writer.drain()
            await asyncio.sleep(delay)
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()

    def _frame(self, item: core.BaseEvent | str, number: int) -> str:
        event_id = str(number) if self.config.ids else None
        if isinstance(item, str):  # chaos: a line that is not a valid event
            return f"id: {event_id}\ndata: {item}\n\n" if event_id else f"data: {item}\n\n"
        return protocol.frame(item, event_id)


def _state(body: bytes) -> JsonValue:
    """The state the client sent, as JSON: the agent holds what the client holds."""
    raw = jsonvalue.loads(body)
    return raw.get("state") if isinstance(raw, dict) else None


async def _read(conn: h11.Connection, reader: asyncio.StreamReader) -> _Request | None:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > READ_LIMIT:
                return None
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
            path = request.target.decode("latin-1").split("?", 1)[0]
            return _Request(request.method.decode("latin-1"), path, headers, bytes(body))
        else:
            return None


async def _send(
    conn: h11.Connection, writer: asyncio.StreamWriter, status: int, kind: str, body: bytes
) -> None:
    headers = [("content-type", kind), ("content-length", str(len(body))), ("connection", "close")]
    writer.write(
        (conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        + (conn.send(h11.Data(data=body)) or b"")
    )
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()


async def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: SimConfig | None = None) -> None:
    """Run the simulator until cancelled."""
    await AguiSimulator(config, host=host, port=port).serve_forever()
