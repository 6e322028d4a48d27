"""The chat client over real loopback sockets, against the scripted chat simulator and a hostile server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from console import jsonvalue
from console.clients import Target, make_client
from console.connection import ConnectionState
from console.conversation_transcript import transcript_of
from console.dialects.chat.client import ChatClient
from console.dialects.chat.engine import saved_ideas
from console.dialects.chat.protocol import done_frame, entry_frame, parse_user_message
from console.jsonvalue import JsonValue
from console.record import record
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.transcript import Text
from tests.helpers import assert_same_transcript, eventually, quick_backoff, running

FAST = ChatSimConfig(token_delay=0, think_delay=0)
TIMEOUT = 10.0
# The dialect names no streams on the wire: the console numbers each chat's replies itself.
CONSOLE_STREAMS = ("stream_id",)


@pytest.fixture
async def sim() -> AsyncIterator[ChatSimulator]:
    async with running(ChatSimulator(FAST)) as simulator:
        yield simulator


@pytest.fixture
async def clients() -> AsyncIterator[list[ChatClient]]:
    started: list[ChatClient] = []
    yield started
    for client in started:
        await client.close()


async def connect(url: str, clients: list[ChatClient]) -> ChatClient:
    client = ChatClient(url, backoff_factory=quick_backoff)
    clients.append(client)
    client.start()
    await eventually(lambda: client.connected_once)
    return client


async def test_several_conversations_show_exactly_what_the_simulator_sent(
    sim: ChatSimulator, clients: list[ChatClient]
) -> None:
    client = await connect(sim.url, clients)
    cats = client.active_id
    client.send_user_message("Hi! Please cat names")
    dinner = client.new_chat()
    client.send_user_message("suggest dinner ideas")  # sent at once: conversations do not wait
    await eventually(lambda: client.idle)
    client.activate(cats)
    client.send_user_message("Great! Save them please")
    await eventually(lambda: client.idle)

    assert list(client.conversations) == [cats, dinner]
    for chat_id in (cats, dinner):
        conversation = client.conversations[chat_id]
        assert_same_transcript(transcript_of(conversation), sim.truth(chat_id), ignore=CONSOLE_STREAMS)
        assert all(m.status in ("sent", "done") for m in conversation.messages)
        assert not [t for t in conversation.trace if t.kind == "PROTOCOL_ERROR"]
    listed = client.conversations[cats].messages[1].text
    names = [line[2:] for line in listed.splitlines() if line.startswith("- ")]
    assert [i.text for i in saved_ideas(client.conversations[cats])] == names
    assert len(saved_ideas(client.conversations[dinner])) >= 2
    assert client.title(cats) == "Hi! Please cat names"


async def test_a_drop_mid_response_marks_it_interrupted_at_once_and_retry_succeeds(
    clients: list[ChatClient],
) -> None:
    sim = ChatSimulator(ChatSimConfig(token_delay=0.01, think_delay=0))
    await sim.start()
    try:
        client = await connect(sim.url, clients)
        prompt = "Tell me a long story about rivers"
        client.send_user_message(prompt)
        messages = client.conversation.messages
        await eventually(lambda: messages[-1].role == "assistant" and len(messages[-1].text) > 20)
        assert sim.drop(client.active_id) == 1
        await eventually(lambda: client.conversation.messages[-1].status == "interrupted", 2.0)
        reply = client.conversation.messages[-1]
        kept = reply.text
        assert kept and client.conversation.link.state is not ConnectionState.STREAMING
        await eventually(lambda: client.conversation.link.live)
        retried = client.retry(reply.id)
        assert retried is not None and retried.text == prompt
        await eventually(lambda: client.idle)
        answer = client.conversation.messages[-1]
        assert answer.status == "done"
        assert sim.truth(client.active_id).replies[-1].blocks == (Text(answer.text),)
        assert reply.text == kept and answer.text.startswith(kept)
        kinds = [t.kind for t in client.conversation.trace if t.direction == "client"]
        at = kinds.index("INTERRUPTED")
        assert kinds[at : at + 3] == ["INTERRUPTED", "DISCONNECTED", "RECONNECTED"]
    finally:
        await sim.stop()


async def test_a_hostile_server_frames_become_timeline_rows_and_the_reply_stays_intact(
    clients: list[ChatClient],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            chat_id = parse_user_message(raw).chat_id
            for frame in [
                entry_frame("idea", "Whisk", chat_id),
                "{oops",
                entry_frame("idea", "ers", chat_id, done=True),
                jsonvalue.dumps({"tag": "shout", "chunk": "HEY", "chatId": chat_id}),
                entry_frame("message", "not yours", "someone-else", done=True),
                entry_frame("message", "Saved ", chat_id),
                entry_frame("message", "them!", chat_id, done=True),
                entry_frame("message", "and more", chat_id),
                "x" * 2_000_000,
                done_frame(chat_id),
                entry_frame("message", "after the end", chat_id, done=True),
            ]:
                await ws.send(frame)

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        client = await connect(f"ws://127.0.0.1:{port}/", clients)
        client.send_user_message("save them")
        # Every one of the 11 frames is on the timeline, the last one an error.
        trace = client.conversation.trace
        await eventually(lambda: [t.direction for t in trace].count("in") == 11)
    conversation = client.conversation
    reply = conversation.messages[-1]
    assert (reply.status, reply.text) == ("done", "Saved them!")
    assert [i.text for i in saved_ideas(conversation)] == ["Whiskers"]
    errors = [t.summary for t in conversation.trace if t.kind == "PROTOCOL_ERROR"]
    assert len(errors) == 6
    assert "malformed JSON" in errors[0] and "unknown tag 'shout'" in errors[1]
    assert "someone-else" in errors[2] and "after the response was done" in errors[3]
    assert "exceeds" in errors[4] and "after the response was done" in errors[5]


async def test_record_through_make_client_writes_the_chat_transcript(sim: ChatSimulator) -> None:
    client = make_client(Target("chat", sim.url))
    result = await record(client, ["Hi! Please cat names", "Great! Save them please"], within=TIMEOUT)
    assert result.interrupted == 0
    messages = result.json()["messages"]
    assert isinstance(messages, list) and len(messages) == 4
    saved = messages[3]
    assert isinstance(saved, dict)
    blocks = saved["blocks"]
    assert isinstance(blocks, list)
    components: list[JsonValue] = [b for b in blocks if isinstance(b, dict) and b["kind"] == "component"]
    assert components and all(isinstance(c, dict) and c["type"] == "idea" for c in components)
    assert isinstance(client, ChatClient)
    assert_same_transcript(result.transcript, sim.truth(client.active_id), ignore=CONSOLE_STREAMS)
