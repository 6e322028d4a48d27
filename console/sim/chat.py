"""The chat backend simulator (seed 002): a WebSocket server at `/ws`, plus `GET /health`.

It receives `{"message", "chatId"}` and streams the response as entries, zero or more ideas then one
message, each in chunks of at least `min_chunk` characters (an entry's last chunk may be shorter and
carries `done: true`), then `{"chatId", "tag": "done"}`.

Two responders:
* scripted (default): deterministic for a seed, no network. It answers in varied ways and carries
  ideas when asked to save (the items of its previous list), suggest or brainstorm things.
* a model behind an OpenAI-compatible endpoint (`llm_base_url` + `llm_model`, key from the
  environment): told to answer in the seed's `idea:`/`message:` format, its stream is parsed as it
  arrives (console/sim/structured.py), so ideas and message reach the client while the model writes.

Each chatId's turns are kept in SQLite (console/sim/chat_store.py) and sent with every model request,
so follow-ups have context; with `store_path` set, a restart keeps the conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import os
import random
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import jsonvalue
from console.protocols.chat import FrameError, UserMessage, done_frame, entry_frame, parse_user_message
from console.sim.chat_store import MEMORY, ChatStore
from console.sim.llm import ChatTurn, LlmClient, LlmConfig, LlmError
from console.sim.structured import Piece, StructuredParser, Tag, parse, render

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000  # the seed's backend port
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
    # Seed 002's backend ends every response with `{"chatId", "tag": "done"}`; its spec never says so
    # (a response is over when its one message is done). False serves the spec to the letter.
    done_tag: bool = True

    @property
    def uses_llm(self) -> bool:
        return self.llm_base_url is not None

    def llm_config(self) -> LlmConfig:
        if self.llm_base_url is None or not self.llm_model:
            raise ValueError("llm_base_url and llm_model go together")
        api_key = os.environ.get(self.api_key_env) or None
        return LlmConfig(self.llm_base_url, self.llm_model, api_key, self.temperature)


# -- chunking: sans-I/O ---------------------------------------------------------------------------


@dataclass(slots=True)
class Chunker:
    """Cuts one entry's streamed text into wire chunks of at least `min_chunk` characters.

    The last character seen is held back until more text or the end comes, so the entry's final
    chunk (the one with `done: true`) is never empty unless the entry is.
    """

    min_chunk: int
    _buffer: str = ""

    def push(self, text: str) -> list[str]:
        self._buffer += text
        if len(self._buffer) <= self.min_chunk:
            return []
        chunk, self._buffer = self._buffer[:-1], self._buffer[-1:]
        return [chunk]

    def finish(self) -> str:
        rest, self._buffer = self._buffer, ""
        return rest


@dataclass(slots=True)
class ResponseWriter:
    """Turns the responder's pieces into the frames of one response, keeping the wire to the spec.

    "the model outputs only one message per response, and any ideas appear before the message": a
    second `message:` from the model continues the first (after a blank line) and the message is done
    only when the response ends; an idea that comes once the message has begun waits for the
    message's end instead of splitting it.
    """

    chat_id: str
    min_chunk: int
    entries: list[tuple[Tag, str]] = field(default_factory=list)
    _idea: Chunker | None = None
    _idea_text: str = ""
    _message: Chunker | None = None
    _message_text: str = ""
    _between_messages: bool = False
    _late_ideas: list[str] = field(default_factory=list)
    _seen_text: bool = False

    @property
    def empty(self) -> bool:
        """Nothing to show so far: no text in any entry."""
        return not self._seen_text

    def piece(self, piece: Piece) -> list[str]:
        self._seen_text = self._seen_text or bool(piece.text)
        if piece.tag == "message":
            return self._message_piece(piece)
        if self._message is not None:
            self._idea_text += piece.text
            if piece.done:
                self._late_ideas.append(self._idea_text)
                self._idea_text = ""
            return []
        return self._idea_piece(piece)

    def note(self, text: str) -> list[str]:
        """A paragraph of our own at the end of the message (e.g. why the answer stops there)."""
        self._between_messages = True
        return self.piece(Piece("message", text, True))

    def finish(self) -> list[str]:
        frames: list[str] = []
        if self._message is not None and self._idea_text:  # a late idea the stream cut short
            self._late_ideas.append(self._idea_text)
            self._idea_text = ""
        if self._idea is not None:  # an idea the stream cut short
            frames += self._idea_piece(Piece("idea", "", True))
        if self._message is not None:
            frames.append(entry_frame("message", self._message.finish(), self.chat_id, done=True))
            self.entries.append(("message", self._message_text))
            self._message = None
        for idea in self._late_ideas:
            frames += self._idea_piece(Piece("idea", idea, True))
        self._late_ideas = []
        return frames

    def _idea_piece(self, piece: Piece) -> list[str]:
        if self._idea is None:
            self._idea, self._idea_text = Chunker(self.min_chunk), ""
        self._idea_text += piece.text
        frames = [entry_frame("idea", chunk, self.chat_id) for chunk in self._idea.push(piece.text)]
        if piece.done:
            if self._idea_text:
                frames.append(entry_frame("idea", self._idea.finish(), self.chat_id, done=True))
                self.entries.append(("idea", self._idea_text))
            self._idea, self._idea_text = None, ""
        return frames

    def _message_piece(self, piece: Piece) -> list[str]:
        frames: list[str] = []
        if self._message is None:
            if self._idea is not None:  # entries never interleave: the idea is over
                frames += self._idea_piece(Piece("idea", "", True))
            self._message = Chunker(self.min_chunk)
        text = piece.text
        if text and self._message_text and self._between_messages:
            text = "\n\n" + text  # a second message entry continues the first, as a new paragraph
        if text:
            self._between_messages = False
        self._message_text += text
        frames += [entry_frame("message", chunk, self.chat_id) for chunk in self._message.push(text)]
        if piece.done:
            self._between_messages = True
        return frames


# -- responders -----------------------------------------------------------------------------------


class Responder(Protocol):
    def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]: ...


class LlmResponder:
    def __init__(self, client: LlmClient, system_prompt: str) -> None:
        self.client = client
        self.system_prompt = system_prompt

    async def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]:
        turns = [ChatTurn("system", self.system_prompt), *history, ChatTurn("user", message)]
        parser = StructuredParser()
        stream = self.client.stream(turns)
        async with contextlib.aclosing(stream):
            async for text in stream:
                for piece in parser.feed(text):
                    yield piece
        for piece in parser.close():
            yield piece


_TOPICS: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (
    (
        ("cat", "kitten"),
        "cat names",
        ("Whiskers", "Fluffy", "Mochi", "Pumpkin", "Shadow", "Luna", "Biscuit", "Tofu", "Pepper"),
    ),
    (
        ("dog", "puppy"),
        "dog names",
        ("Ranger", "Maple", "Scout", "Juniper", "Bolt", "Hazel", "Waffles", "Otis"),
    ),
    (
        ("dinner", "recipe", "meal", "cook", "food", "lunch"),
        "dinner ideas",
        (
            "Lemon garlic pasta",
            "Chickpea curry",
            "Sheet-pan salmon with greens",
            "Mushroom risotto",
            "Black bean tacos",
            "Miso soup with tofu",
        ),
    ),
    (
        ("trip", "travel", "vacation", "holiday", "weekend"),
        "trip ideas",
        ("Lisbon", "Kyoto", "Vancouver Island", "The Dolomites", "Oaxaca", "Edinburgh", "The Faroe Islands"),
    ),
    (
        ("book", "read", "novel"),
        "books",
        (
            "The Left Hand of Darkness",
            "Piranesi",
            "Project Hail Mary",
            "The Remains of the Day",
            "Station Eleven",
            "A Psalm for the Wild-Built",
        ),
    ),
    (
        ("gift", "present", "birthday"),
        "gift ideas",
        (
            "A handmade photo book",
            "A pottery class for two",
            "A plant subscription",
            "A good chef's knife",
            "Tickets to a live show",
        ),
    ),
    (
        ("websocket", "protocol", "stream", "real-time", "realtime", "transport"),
        "real-time transports",
        ("WebSockets", "HTTP + SSE", "Long polling", "WebTransport", "gRPC streaming"),
    ),
    (
        ("project", "app", "startup", "product", "name"),
        "project names",
        ("Lighthouse", "Paper Crane", "Northwind", "Quill", "Tandem", "Orbit", "Fieldnotes"),
    ),
)

_GREETINGS = (
    "Hi! I can suggest ideas (dinner, a trip, a gift, names for a project), make lists, and save the "
    "ones you like. What shall we start with?",
    "Hello! Ask me for suggestions and I can save the good ones as ideas.",
    "Hey there! I can brainstorm, make lists, and keep ideas for you.",
)
_SAVED = ("Saved them!", "Done, they're in your ideas.", "Okay, I've saved them!", "Got it, all saved.")
_NOTHING_TO_SAVE = (
    "There's nothing to save yet. Ask me for some suggestions first, then tell me to save them.",
    "I don't have anything to save yet: ask me to list or suggest something first.",
)
_ALREADY_SAVED = (
    "Those are saved already: {items}. You'll find them in your ideas.",
    "Already done: {items} are in your ideas list.",
)
_WHICH_TOPIC = (
    "Happy to! Ideas about what? For example: dinner, a weekend trip, a gift, or names for a project.",
    "Sure. What should the ideas be about? A trip, a recipe, a book to read, a project name…",
)
_SUGGESTED = (
    "Here are a few {topic}. I've saved them as ideas so you can come back to them.",
    "Some {topic} to consider; each one is saved as an idea.",
    "How about these {topic}? They're saved as ideas.",
)
_LISTED = (
    "Here are some {topic}:\n\n{items}\n\nWant me to save them?",
    'Sure! A few {topic}:\n\n{items}\n\nSay "save them" and I\'ll keep them as ideas.',
    "Here you go:\n\n{items}\n\nI can save any of these for you.",
)
_ANSWERS = (
    "Good question. The short answer: it depends on {topic}, but start with the simplest thing that "
    "could work, measure it, and only then add complexity.",
    "I'd look at {topic} from two angles: what it costs you today, and what it will cost you to change "
    "later. Pick the option that keeps the second one small.",
    "Here's how I'd think about {topic}:\n\n1. Write down what \"done\" looks like.\n2. Find the one "
    "step that gets you closest to it.\n3. Do that step today.",
)
_REMARKS = (
    "Got it. Tell me more about {topic}: what would a great outcome look like?",
    "Interesting! If you want, I can suggest a few ideas about {topic} and save them for you.",
    "Noted. I can make a list, brainstorm ideas, or just think it through with you, whichever helps.",
    "That makes sense. One thing worth trying with {topic}: start small, and keep what works.",
)
_LONG = (
    "Let me take this slowly.\n\n**Where it starts.** Most questions about {topic} begin with a "
    "constraint nobody wrote down. Naming it is half of the work: once it is on paper, people argue "
    "about the constraint instead of about each other.\n\n**What usually goes wrong.** The first plan "
    "is too big. It tries to solve next year's problem with this week's information, and it stalls "
    "the moment reality disagrees with it.\n\n**What works better.** Small steps that each leave "
    "something useful behind: a note, a prototype, a decision with its reason. Each one makes the next "
    "cheaper.\n\n**So, in practice:**\n\n- decide what you will not do,\n- do the smallest useful "
    "thing,\n- look at what happened, and\n- repeat.\n\nThat's the whole trick, and it is harder than "
    "it sounds."
)

_SAVE_WORDS = re.compile(r"\b(save|keep|remember|bookmark|store)\b")
_SUGGEST_WORDS = re.compile(r"\b(suggest\w*|ideas?|brainstorm\w*|recommend\w*|propos\w*|inspir\w*)\b")
_LIST_WORDS = re.compile(r"\b(list|names?|give me|some|options|examples?|top \d+)\b")
_LONG_WORDS = re.compile(r"\b(long|story|essay|explain|detail\w*|in depth|elaborate)\b")
_GREETING_WORDS = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b")
_TOPIC_AFTER = re.compile(r"\b(?:about|for|on|of|with|regarding)\s+([^.?!,;:\n]{2,60})")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+?)\s*$", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|'([^']{1,80})'")


class ScriptedResponder:
    """Deterministic replies: the same seed, chat, turn and message always give the same answer."""

    def __init__(self, seed: int, token_delay: float, think_delay: float) -> None:
        self.seed = seed
        self.token_delay = token_delay
        self.think_delay = think_delay

    async def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]:
        entries = self.compose(chat_id, history, message)
        if self.think_delay:
            await asyncio.sleep(self.think_delay)
        for tag, text in entries:
            tokens = re.findall(r"\s*\S+|\s+", text) or [""]
            for index, token in enumerate(tokens):
                yield Piece(tag, token, index == len(tokens) - 1)
                if self.token_delay:
                    await asyncio.sleep(self.token_delay)

    def compose(self, chat_id: str, history: Sequence[ChatTurn], message: str) -> list[tuple[Tag, str]]:
        # A string seed is hashed with SHA-512 by `random`: stable across runs and processes.
        rng = random.Random(f"{self.seed}|{chat_id}|{len(history)}|{message}")
        lowered = message.lower()
        topic_words, topic, items = _topic(lowered)
        if _SAVE_WORDS.search(lowered):
            saved, kept = _items_to_save(history, message)
            if saved:
                return [*(("idea", item) for item in saved), ("message", rng.choice(_SAVED))]
            if kept:  # what the user means is in the ideas list already
                return [("message", rng.choice(_ALREADY_SAVED).format(items=_spoken(kept)))]
            return [("message", rng.choice(_NOTHING_TO_SAVE))]
        if _SUGGEST_WORDS.search(lowered) and not topic_words and _subject(message) == "this":
            return [("message", rng.choice(_WHICH_TOPIC))]
        if _SUGGEST_WORDS.search(lowered):
            picked = rng.sample(items, k=min(len(items), rng.randint(2, 4)))
            return [
                *(("idea", item) for item in picked),
                ("message", rng.choice(_SUGGESTED).format(topic=topic)),
            ]
        if _LIST_WORDS.search(lowered) and topic_words:
            picked = rng.sample(items, k=min(len(items), rng.randint(3, 5)))
            listed = "\n".join(f"- {item}" for item in picked)
            return [("message", rng.choice(_LISTED).format(topic=topic, items=listed))]
        if _LONG_WORDS.search(lowered):
            return [("message", _LONG.format(topic=_subject(message)))]
        if _GREETING_WORDS.search(lowered) and len(lowered) < 40:
            return [("message", rng.choice(_GREETINGS))]
        templates = _ANSWERS if message.rstrip().endswith("?") else _REMARKS
        return [("message", rng.choice(templates).format(topic=_subject(message)))]


def _topic(lowered: str) -> tuple[bool, str, tuple[str, ...]]:
    """(whether a known topic matched, how to call it, its items)."""
    for words, name, items in _TOPICS:
        if any(word in lowered for word in words):
            return True, name, items
    subject = _subject(lowered)
    generic = (
        f"Sketch a one-page plan for {subject}",
        f"Collect three examples of {subject} you like, and say why",
        f"Ask someone who has done {subject} what they would do differently",
        f"Block one evening this week for {subject}",
        f"Write down the one question about {subject} you most want answered",
    )
    return False, f"ideas about {subject}", generic


def _subject(message: str) -> str:
    match = _TOPIC_AFTER.search(message)
    if match is None:
        return "this"
    words = match.group(1).strip().split()[:5]
    return " ".join(words) or "this"


def _items_to_save(history: Sequence[ChatTurn], message: str) -> tuple[list[str], list[str]]:
    """What "save them" refers to, and what is saved already: quoted text in the request, else the
    items of the latest list; if the latest reply with items saved them as ideas, those (kept)."""
    quoted = [a or b for a, b in _QUOTED.findall(message)]
    if quoted:
        return quoted, []
    for turn in reversed(history):
        if turn.role != "assistant":
            continue
        entries = parse(turn.content)
        ideas = [value for tag, value in entries if tag == "idea"]
        if ideas:
            return [], ideas
        text = "\n".join(value for tag, value in entries if tag == "message")
        listed = [item.strip("*_ ") for item in _LIST_ITEM.findall(text)]
        if listed:
            return listed, []
    return [], []


def _spoken(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


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
            ws.transport.abort()
        return len(victims)

    def drop_all(self) -> int:
        return self.drop(None)

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
