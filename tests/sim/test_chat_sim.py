"""The chat simulator over loopback: a real WebSocket client, and for the model path a real HTTP server
speaking the OpenAI streaming API (server-sent events), started by the test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from console import jsonvalue
from console.dialects.chat.protocol import ChatDecoder, done_frame, user_message
from console.events import ProtocolError
from console.jsonvalue import JsonObject
from console.session import ComponentBlock, Conversation
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.sim.chat_writer import ResponseWriter
from console.sim.structured import Piece
from console.transcript import Block, Component, Text
from tests.helpers import running

FAST = ChatSimConfig(token_delay=0, think_delay=0)
TIMEOUT = 10


@pytest.fixture
async def sim() -> AsyncIterator[ChatSimulator]:
    async with running(ChatSimulator(FAST)) as simulator:
        yield simulator


async def ask(ws: ClientConnection, chat_id: str, message: str) -> list[JsonObject]:
    """Send one message; the frames of its response, up to and including the done tag."""
    await ws.send(user_message(message, chat_id))
    frames: list[JsonObject] = []
    while True:
        raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
        value = jsonvalue.loads(raw)
        assert isinstance(value, dict)
        frames.append(value)
        if value.get("tag") == "done":
            return frames


def entries_of(frames: list[JsonObject], min_chunk: int = 20) -> list[tuple[str, str]]:
    """Check the chunking rules and reassemble the response's entries (tag, text)."""
    assert frames[-1] == {"chatId": frames[-1]["chatId"], "tag": "done"}
    entries: list[tuple[str, str]] = []
    chunks: list[str] = []
    for frame in frames[:-1]:
        tag, chunk = frame["tag"], frame["chunk"]
        assert isinstance(tag, str) and isinstance(chunk, str)
        chunks.append(chunk)
        if frame.get("done") is True:
            # Every chunk but an entry's last one carries at least min_chunk characters.
            assert all(len(c) >= min_chunk for c in chunks[:-1]), chunks
            entries.append((tag, "".join(chunks)))
            chunks = []
        else:
            assert "done" not in frame
    assert not chunks, "an entry never got its done flag"
    return entries


pieces = st.lists(
    st.builds(Piece, st.sampled_from(["idea", "message"]), st.text(max_size=30), st.booleans()), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(pieces=pieces, min_chunk=st.integers(1, 25))
def test_whatever_the_model_writes_the_wire_follows_the_spec(pieces: list[Piece], min_chunk: int) -> None:
    """Any sequence of parsed pieces becomes frames our decoder accepts, chunked by the rules."""
    writer = ResponseWriter("c", min_chunk)
    frames = [f for piece in pieces for f in writer.piece(piece)]
    if writer.empty:
        frames += writer.note("Sorry, the answer was empty.")  # as the simulator does
    frames += [*writer.finish(), done_frame("c")]
    decoder = ChatDecoder("c")
    assert not [e for f in frames for e in decoder.decode(f) if isinstance(e, ProtocolError)]
    objects = [v for v in map(jsonvalue.loads, frames) if isinstance(v, dict)]
    entries = entries_of(objects, min_chunk)
    assert [tag for tag, _ in entries].count("message") <= 1
    ideas = "".join(text for tag, text in entries if tag == "idea")
    assert ideas == "".join(p.text for p in pieces if p.tag == "idea")


async def test_health_and_unknown_paths(sim: ChatSimulator) -> None:
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{sim.port}/health")
        missing = await client.get(f"http://127.0.0.1:{sim.port}/nope")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert missing.status_code == 404


async def test_truth_is_each_completed_turn_as_a_transcript(sim: ChatSimulator) -> None:
    async with connect(sim.url) as ws:
        listed = entries_of(await ask(ws, "cats", "Hi! Please cat names"))
        saved = entries_of(await ask(ws, "cats", "Great! Save them please"))
    async with httpx.AsyncClient() as client:
        served = (await client.get(f"http://127.0.0.1:{sim.port}/truth", params={"chat": "cats"})).json()
        nobody = (await client.get(f"http://127.0.0.1:{sim.port}/truth", params={"chat": "dogs"})).json()
    truth = sim.truth("cats")
    assert served == truth.to_json() and nobody == {"messages": [], "contexts": {}}
    assert [(m.role, m.status, m.prompt) for m in truth.messages] == [
        ("user", "sent", None),
        ("assistant", "done", "Hi! Please cat names"),
        ("user", "sent", None),
        ("assistant", "done", "Great! Save them please"),
    ]
    shown = [[_entry(b) for b in r.blocks] for r in truth.replies]
    assert shown == [listed, saved] and saved[0][0] == "idea"


def _entry(block: Block) -> tuple[str, str]:
    if isinstance(block, Component):
        return ("idea", str(block.fields["text"]))
    assert isinstance(block, Text)
    return ("message", block.text)


async def test_scripted_replies_stream_in_chunks_and_end_with_the_done_tag(sim: ChatSimulator) -> None:
    async with connect(sim.url) as ws:
        for prompt in [
            "Hello!",
            "Tell me a long story about rivers",
            "Any ideas for dinner?",
            "Why is the sky blue?",
        ]:
            frames = await ask(ws, "c1", prompt)
            assert all(f["chatId"] == "c1" for f in frames)
            entries = entries_of(frames)
            assert entries[-1][0] == "message" and entries[-1][1]
            # Ideas, if any, come before the one message.
            assert [tag for tag, _ in entries].count("message") == 1


async def test_the_seed_conversation_lists_then_saves_ideas(sim: ChatSimulator) -> None:
    """'Please cat names' lists names; 'Save them' answers with those names as ideas."""
    decoder, conversation = ChatDecoder("123"), Conversation()
    async with connect(sim.url) as ws:
        for prompt in ["Hi! Please cat names", "Great! Save them please"]:
            conversation.add_user_message(prompt, at=0.0)
            for frame in await ask(ws, "123", prompt):
                for event in decoder.decode(jsonvalue.dumps(frame)):
                    conversation.apply(event, at=0.0)
    listed, saved = [m for m in conversation.messages if m.role == "assistant"]
    names = [line[2:] for line in listed.text.splitlines() if line.startswith("- ")]
    ideas = [b.fields["text"] for b in saved.blocks if isinstance(b, ComponentBlock)]
    assert len(names) >= 3 and ideas == names
    assert listed.status == saved.status == "done" and saved.text
    assert all(b.complete for b in saved.blocks if isinstance(b, ComponentBlock))


async def test_a_long_idea_arrives_as_several_chunks() -> None:
    simulator = ChatSimulator(ChatSimConfig(token_delay=0, think_delay=0, min_chunk=5))
    await simulator.start()
    try:
        async with connect(simulator.url) as ws:
            frames = await ask(ws, "c", "Suggest some dinner ideas")
    finally:
        await simulator.stop()
    ideas = [f for f in frames if f.get("tag") == "idea"]
    assert len(ideas) > len([f for f in ideas if f.get("done")]) >= 2
    assert [tag for tag, _ in entries_of(frames, min_chunk=5)][-1] == "message"


async def test_replies_are_deterministic_for_a_seed() -> None:
    async def transcript(seed: int) -> list[list[JsonObject]]:
        simulator = ChatSimulator(ChatSimConfig(seed=seed, token_delay=0, think_delay=0))
        await simulator.start()
        try:
            async with connect(simulator.url) as ws:
                return [await ask(ws, "c", p) for p in ["Hi", "Suggest project names", "What now?"]]
        finally:
            await simulator.stop()

    assert await transcript(7) == await transcript(7)


async def test_drop_cuts_the_connection_mid_response_without_a_close_frame() -> None:
    simulator = ChatSimulator(ChatSimConfig(token_delay=0.02, think_delay=0))
    await simulator.start()
    try:
        async with connect(simulator.url) as victim, connect(simulator.url) as bystander:
            await victim.send(user_message("Tell me a long story about rivers", "lost"))
            first = jsonvalue.loads(await asyncio.wait_for(victim.recv(), TIMEOUT))
            assert isinstance(first, dict) and first["tag"] == "message"
            await bystander.send(user_message("Hello", "kept"))
            await asyncio.wait_for(bystander.recv(), TIMEOUT)

            assert simulator.drop("lost") == 1
            with pytest.raises(ConnectionClosedError) as closed:
                while True:
                    await asyncio.wait_for(victim.recv(), TIMEOUT)
            assert closed.value.rcvd is None  # no close frame: the network just went away

            # The other conversation is untouched and the simulator still serves.
            while jsonvalue.loads(await asyncio.wait_for(bystander.recv(), TIMEOUT)) != {
                "chatId": "kept",
                "tag": "done",
            }:
                pass
            assert entries_of(await ask(bystander, "kept", "Hello again"))
    finally:
        await simulator.stop()


# -- the model path ------------------------------------------------------------------------------


@dataclass
class FakeOpenAI:
    """A minimal OpenAI-compatible streaming endpoint over real HTTP/1.1 with server-sent events.

    Each request gets the next of `replies`, streamed `piece` characters per event. With `pause_at`
    set, the stream stops right after that text until `gate` is set: the test opens it once the
    client has seen what came before, which proves the simulator forwards while the model writes.
    """

    replies: list[str]
    piece: int = 4
    pause_at: str | None = None
    status: int = 200
    truncate: bool = False  # end the stream without [DONE], as a server that dies mid-answer
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[JsonObject] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: asyncio.Server | None = None
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.gate.set()  # let a paused answer finish rather than leave its task behind
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=TIMEOUT)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            request_line = (await reader.readline()).decode()
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = jsonvalue.loads(await reader.readexactly(int(headers["content-length"])))
            assert isinstance(body, dict)
            assert request_line.startswith("POST /v1/chat/completions ")
            self.requests.append(body)
            self.headers.append(headers)
            if self.status != 200:
                error = json.dumps({"error": {"message": "Incorrect API key provided"}}).encode()
                head = f"HTTP/1.1 {self.status} Unauthorized\r\nContent-Type: application/json\r\n"
                writer.write(
                    f"{head}Content-Length: {len(error)}\r\nConnection: close\r\n\r\n".encode() + error
                )
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
            await self._stream(writer, self.replies[len(self.requests) - 1])
        except ConnectionError:
            pass  # the simulator hung up mid-answer: that is its right
        finally:
            writer.close()
            self.handlers.discard(task)

    async def _stream(self, writer: asyncio.StreamWriter, reply: str) -> None:
        def event(delta: JsonObject) -> bytes:
            chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            return f"data: {json.dumps(chunk)}\n\n".encode()

        writer.write(event({"role": "assistant", "content": ""}))
        cut = reply.index(self.pause_at) + len(self.pause_at) if self.pause_at else 0
        for index, segment in enumerate((reply[:cut], reply[cut:])):
            if index == 1 and self.pause_at:
                await asyncio.wait_for(self.gate.wait(), TIMEOUT)
            for start in range(0, len(segment), self.piece):
                writer.write(event({"content": segment[start : start + self.piece]}))
                await writer.drain()
                await asyncio.sleep(0)
        if not self.truncate:
            writer.write(b"data: [DONE]\n\n")
        await writer.drain()


REPLY = (
    'idea: "WebSockets"\n'
    'idea: "HTTP + SSE, also known as \\"server-sent events\\""\n'
    'message: "Okay, I\'ve saved them! Both can stream tokens to a browser:\\n- one is two-way\\n- one is not"\n'
)
FOLLOW_UP = 'message: "You asked about streaming transports: WebSockets and HTTP + SSE."\n'


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI([REPLY, FOLLOW_UP, FOLLOW_UP, FOLLOW_UP])
    await server.start()
    yield server
    await server.stop()


def llm_config(fake: FakeOpenAI, store: Path | None = None) -> ChatSimConfig:
    return ChatSimConfig(
        llm_base_url=fake.base_url, llm_model="test-model", store_path=str(store) if store else None
    )


async def test_model_output_streams_as_ideas_then_a_message(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake.pause_at = 'idea: "WebSockets"\n'
    simulator = ChatSimulator(llm_config(fake))
    await simulator.start()
    try:
        async with connect(simulator.url) as ws:
            await ws.send(user_message("Save WebSockets and SSE please", "llm"))
            # The first idea is complete before the model has written anything else.
            first = jsonvalue.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert first == {"tag": "idea", "chunk": "WebSockets", "chatId": "llm", "done": True}
            fake.gate.set()
            rest: list[JsonObject] = []
            while not rest or rest[-1].get("tag") != "done":
                frame = jsonvalue.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                assert isinstance(frame, dict)
                rest.append(frame)
    finally:
        await simulator.stop()
    assert entries_of([first, *rest]) == [
        ("idea", "WebSockets"),
        ("idea", 'HTTP + SSE, also known as "server-sent events"'),
        (
            "message",
            "Okay, I've saved them! Both can stream tokens to a browser:\n- one is two-way\n- one is not",
        ),
    ]
    # The second idea and the message came in several chunks, as the model wrote them.
    assert len([f for f in rest if f.get("tag") == "message"]) > 2
    request = fake.requests[0]
    assert request["model"] == "test-model" and request["stream"] is True
    messages = request["messages"]
    assert isinstance(messages, list) and isinstance(messages[0], dict)
    assert messages[0]["role"] == "system" and "idea:" in str(messages[0]["content"])
    assert messages[-1] == {"role": "user", "content": "Save WebSockets and SSE please"}
    assert fake.headers[0]["authorization"] == "Bearer sk-test"


async def test_follow_ups_carry_the_previous_turns_even_across_a_restart(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    store = tmp_path / "chats.sqlite"
    simulator = ChatSimulator(llm_config(fake, store))
    await simulator.start()
    async with connect(simulator.url) as ws:
        await ask(ws, "a", "Save WebSockets and SSE please")
        await ask(ws, "b", "An unrelated conversation")
        await ask(ws, "a", "What did I ask about?")
    await simulator.stop()

    def turns(request: JsonObject) -> list[tuple[str, str]]:
        messages = request["messages"]
        assert isinstance(messages, list)
        return [(str(m["role"]), str(m["content"])) for m in messages if isinstance(m, dict)][1:]

    first_exchange = [
        ("user", "Save WebSockets and SSE please"),
        ("assistant", turns(fake.requests[2])[1][1]),
    ]
    assert "WebSockets" in first_exchange[1][1] and "message:" in first_exchange[1][1]
    assert turns(fake.requests[1]) == [("user", "An unrelated conversation")]
    assert turns(fake.requests[2]) == [*first_exchange, ("user", "What did I ask about?")]

    restarted = ChatSimulator(llm_config(fake, store))
    await restarted.start()
    try:
        async with connect(restarted.url) as ws:
            entries = entries_of(await ask(ws, "a", "And after the restart?"))
    finally:
        await restarted.stop()
    assert entries == [("message", "You asked about streaming transports: WebSockets and HTTP + SSE.")]
    history = turns(fake.requests[3])
    assert history[:2] == first_exchange and history[-1] == ("user", "And after the restart?")
    assert len(history) == 5  # both earlier exchanges of chat "a", then the new question


async def test_a_model_error_reaches_the_user_as_a_message(fake: FakeOpenAI) -> None:
    fake.status = 401
    simulator = ChatSimulator(llm_config(fake))
    await simulator.start()
    try:
        async with connect(simulator.url) as ws:
            entries = entries_of(await ask(ws, "x", "Hello?"))
    finally:
        await simulator.stop()
    ((tag, text),) = entries
    assert tag == "message" and "401" in text and "Incorrect API key" in text


async def test_an_answer_cut_short_keeps_what_arrived_and_says_so(fake: FakeOpenAI) -> None:
    fake.replies = ['idea: "Tofu"\nmessage: "Half of an answer that']
    fake.truncate = True
    simulator = ChatSimulator(llm_config(fake))
    await simulator.start()
    try:
        async with connect(simulator.url) as ws:
            entries = entries_of(await ask(ws, "x", "Hello?"))
    finally:
        await simulator.stop()
    assert entries[0] == ("idea", "Tofu")
    ((tag, text),) = entries[1:]
    assert tag == "message" and text.startswith("Half of an answer that\n\nSorry")
    assert "[DONE]" in text


async def test_a_model_that_breaks_the_format_still_gives_one_message_with_ideas_kept(
    fake: FakeOpenAI,
) -> None:
    fake.replies = ['message: "First part."\nidea: "Late idea"\nmessage: "Second part."\n']
    simulator = ChatSimulator(llm_config(fake))
    await simulator.start()
    try:
        async with connect(simulator.url) as ws:
            entries = entries_of(await ask(ws, "x", "Hello?"))
    finally:
        await simulator.stop()
    # One message per response, never split by an idea; the late idea follows it.
    assert entries == [("message", "First part.\n\nSecond part."), ("idea", "Late idea")]


async def test_stop_does_not_wait_for_a_stalled_model(fake: FakeOpenAI) -> None:
    fake.pause_at = 'idea: "WebSockets"\n'
    simulator = ChatSimulator(llm_config(fake))
    await simulator.start()
    async with connect(simulator.url) as ws:
        await ws.send(user_message("Save them", "x"))
        await asyncio.wait_for(ws.recv(), TIMEOUT)  # the model is now stalled mid-answer
        await asyncio.wait_for(simulator.stop(), 5)
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), TIMEOUT)


def test_the_scripted_conversation_stays_coherent_about_what_is_saved() -> None:
    from console.sim.chat_responders import ScriptedResponder
    from console.sim.llm import ChatTurn
    from console.sim.structured import render

    responder = ScriptedResponder(0, 0, 0)
    history: list[ChatTurn] = []

    def say(message: str) -> list[tuple[str, str]]:
        entries = responder.compose("c1", history, message)
        history.extend([ChatTurn("user", message), ChatTurn("assistant", render(list(entries)))])
        return list(entries)

    suggested = say("suggest some dinner ideas")
    ideas = [text for tag, text in suggested if tag == "idea"]
    assert len(ideas) >= 2
    # Asked to save what is already saved, it says so and names them: never "nothing to save".
    again = say("great, save them")
    assert [tag for tag, _ in again] == ["message"]
    assert "nothing to save" not in again[0][1].lower() and all(idea in again[0][1] for idea in ideas)
    # A list offered in words is what "save them" saves next, even after a greeting in between.
    listed = say("give me some trip names")
    say("hello")
    saved = [text for tag, text in say("save them") if tag == "idea"]
    assert saved and all(item in listed[0][1] for item in saved)
    # Ideas with no subject: a question back, not filler.
    vague = say("suggest something")
    assert [tag for tag, _ in vague] == ["message"] and "?" in vague[0][1]
