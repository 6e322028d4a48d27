"""The chat backend simulator (the dialect: docs/protocols/chat.md): a WebSocket server at `/ws`, plus
`GET /health` and `GET /truth?chat=ID` (a conversation's completed turns as a transcript,
`console.transcript`).

It receives `{"message", "chatId"}` and streams the response as entries, zero or more ideas then one
message, each in chunks of at least `min_chunk` characters (an entry's last chunk may be shorter and
carries `done: true`), then `{"chatId", "tag": "done"}`.

Two responders:
* scripted (default): deterministic for a seed, no network. It answers in varied ways and carries
  ideas when asked to save (the items of its previous list), suggest or brainstorm things.
* a model behind an OpenAI-compatible endpoint (`llm_base_url` + `llm_model`, key from the
  environment): told to answer in `idea:`/`message:` lines (`SYSTEM_PROMPT`), its stream is parsed as
  it arrives (console/sim/structured.py), so ideas and message reach the client while the model
  writes.

Each chatId's turns are kept in SQLite (console/sim/chat_store.py) and sent with every model request,
so follow-ups have context; with `store_path` set, a restart keeps the conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import os
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import jsonvalue
from console.dialects.chat.protocol import FrameError, UserMessage, done_frame, parse_user_message
from console.sim import ws_wire
from console.sim.chat_responders import LlmResponder, Responder, ScriptedResponder
from console.sim.chat_store import MEMORY, ChatStore, transcript
from console.sim.chat_writer import ResponseWriter
from console.sim.llm import LlmClient, LlmConfig, LlmError
from console.sim.structured import render
from console.transcript import Transcript

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000  # the reference backend's port
WS_PATH = "/ws"

SYSTEM_PROMPT = """\
You are a friendly, concise assistant in a chat app that can save ideas for the user.

Always answer in this single-level YAML format and nothing else:

idea: "..."
message: "..."

Rules:
- `idea` entries are optional and there may be several. Use them for things worth saving: when the
  user asks you to save, keep, suggest, brainstorm or list things, put each item in its own `idea`
  (a short title, a few words).
- Exactly one `message` entry, always last: your reply to the user (Markdown is fine).
- Every value is in double quotes on one line: write a line break as \\n and a double quote as \\".
- No other keys, no code fences, no text outside the entries.

Example:
idea: "WebSockets"
idea: "HTTP + SSE"
message: "Okay, I've saved them!"
"""


@dataclass(frozen=True, slots=True)
class ChatSimConfig:
    seed: int = 0
    min_chunk: int = 20  # "chunks have a (configurable) minimum size of 20 characters"
    token_delay: float = 0.015  # scripted: seconds between the tokens of a reply
    think_delay: float = 0.15  # scripted: seconds before a reply starts
    llm_base_url: str | None = None
    llm_model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = None
    store_path: str | None = None  # SQLite file of the conversations; None keeps them in memory only
    history_limit: int = 40  # turns sent back to the model with each request
    system_prompt: str = SYSTEM_PROMPT
    # The reference backend ends every response with `{"chatId", "tag": "done"}`; its wire description
    # never says so (a response is over when its one message is done). False serves the description
    # to the letter.
    done_tag: bool = True

    @property
    def uses_llm(self) -> bool:
        return self.llm_base_url is not None

    def llm_config(self) -> LlmConfig:
        if self.llm_base_url is None or not self.llm_model:
            raise ValueError("llm_base_url and llm_model go together")
        api_key = os.environ.get(self.api_key_env) or None
        return LlmConfig(self.llm_base_url, self.llm_model, api_key, self.temperature)


# -- the server -----------------------------------------------------------------------------------


class ChatSimulator:
    def __init__(self, config: ChatSimConfig | None = None) -> None:
        self.config = config or ChatSimConfig()
        self.host = "127.0.0.1"
        self.port = 0
        self._server: Server | None = None
        self._store: ChatStore | None = None
        self._llm: LlmClient | None = None
        self._responder: Responder | None = None
        self._chats: dict[ServerConnection, set[str]] = {}  # chat ids each connection asked about
        self._tasks: set[asyncio.Task[None]] = set()  # responses in progress

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def store(self) -> ChatStore:
        if self._store is None:
            raise RuntimeError("the chat simulator is not running")
        return self._store

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0: any free port); returns the port."""
        config = self.config
        self._store = ChatStore(config.store_path or MEMORY)
        if config.uses_llm:
            self._llm = LlmClient(config.llm_config())
            self._responder = LlmResponder(self._llm, config.system_prompt)
        else:
            self._responder = ScriptedResponder(config.seed, config.token_delay, config.think_delay)
        self._server = await ws_serve(self._handle, host, port, process_request=self._http)
        self.host = host
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("chat simulator listening on %s (%s)", self.url, "llm" if config.uses_llm else "scripted")
        return self.port

    async def stop(self) -> None:
        """Close every connection and release the store; the conversations stay in the file, if any."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()  # a model may take long to send its next piece: do not wait for it
            await self._server.wait_closed()
            self._server = None
        if self._llm is not None:
            await self._llm.aclose()
            self._llm = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def drop(self, chat_id: str | None = None) -> int:
        """Cut connections the hard way: no close frame, like a network failure.

        With a chat id, the connections that asked about that chat; without, all of them. Returns how
        many were cut.
        """
        victims = [ws for ws, chats in self._chats.items() if chat_id is None or chat_id in chats]
        for ws in victims:
            ws_wire.abort(ws)
        return len(victims)

    def drop_all(self) -> int:
        return self.drop(None)

    def truth(self, chat_id: str) -> Transcript:
        """What a client must show of one conversation: every turn that completed (`GET /truth?chat=ID`)."""
        return transcript(self.store.history(chat_id))

    # -- HTTP side ---------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            return None  # go on with the WebSocket handshake
        if path == "/health":
            body: jsonvalue.JsonObject = {
                "status": "ok",
                "dialect": "chat",
                "responder": "llm" if self.config.uses_llm else "scripted",
                "connections": len(self._chats),
            }
            return _json_response(connection, body)
        if path == "/truth":
            chat_id = parse_qs(urlsplit(request.path).query).get("chat", [""])[0]
            return _json_response(connection, self.truth(chat_id).to_json())
        return connection.respond(
            http.HTTPStatus.NOT_FOUND, f"no such path: {path} (WebSocket at {WS_PATH})\n"
        )

    # -- WebSocket side ----------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        self._chats[ws] = set()
        try:
            async for raw in ws:
                try:
                    request = parse_user_message(raw)
                except FrameError as exc:
                    # The dialect has no error frame: the client only sees that no answer comes.
                    log.warning("chat simulator ignored a client frame: %s", exc)
                    continue
                self._chats[ws].add(request.chat_id)
                task = asyncio.create_task(self._respond(ws, request))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                # Responses on one connection are sequential; asyncio.wait does not raise when the
                # response is cancelled by stop().
                await asyncio.wait([task])
        except ConnectionClosed:
            pass
        finally:
            self._chats.pop(ws, None)

    async def _respond(self, ws: ServerConnection, request: UserMessage) -> None:
        chat_id = request.chat_id
        store, responder = self.store, self._responder
        assert responder is not None
        history = store.history(chat_id, self.config.history_limit)
        store.append(chat_id, "user", request.message)
        writer = ResponseWriter(chat_id, self.config.min_chunk)
        try:
            failed = False
            try:
                pieces = responder.reply(chat_id, history, request.message)
                async with contextlib.aclosing(pieces):
                    async for piece in pieces:
                        await _send_all(ws, writer.piece(piece))
                if writer.empty:
                    raise LlmError("the answer was empty")
            except LlmError as exc:
                log.warning("chat simulator: %s", exc)
                failed = True
                # Said inside the message: what already arrived stays, the reason follows it.
                apology = f"Sorry, I could not get an answer from the model: {exc}."
                await _send_all(ws, writer.note(apology))
            await _send_all(ws, writer.finish())
            if not failed:
                store.append(chat_id, "assistant", render(writer.entries))
            if self.config.done_tag:
                await ws.send(done_frame(chat_id))
        except ConnectionClosed:
            pass  # the client is gone (or was dropped): the rest of the answer has nowhere to go


async def _send_all(ws: ServerConnection, frames: list[str]) -> None:
    for frame in frames:
        await ws.send(frame)


def _json_response(connection: ServerConnection, body: jsonvalue.JsonObject) -> Response:
    response = connection.respond(http.HTTPStatus.OK, jsonvalue.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


async def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: ChatSimConfig | None = None
) -> None:
    """Run the simulator standalone until cancelled (`python main.py sim chat`)."""
    simulator = ChatSimulator(config)
    await simulator.start(host, port)
    responder = "model " + (simulator.config.llm_model or "") if simulator.config.uses_llm else "scripted"
    print(f"chat simulator ({responder}) on {simulator.url}  health: http://{host}:{simulator.port}/health")
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()
