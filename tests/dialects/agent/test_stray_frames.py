"""Frames that try to hijack a session's numbering, over a real loopback socket.

A small scripted server answers each prompt with the frames a test gives it (with seqs as given):
a stray seq 1 in the middle of a reply, a seq of 2^62, a TOKEN for a stream nobody asked for. The
console must show the real reply exactly, say what it refused, keep one connection and never let
such a frame hold up the next prompt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve

from console import jsonvalue
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from tests.helpers import eventually

Script = Sequence[Sequence[str]]  # per prompt, the frames to send


def tok(seq: int, text: str, sid: str = "s1") -> str:
    return jsonvalue.dumps({"type": "TOKEN", "seq": seq, "text": text, "stream_id": sid})


def end(seq: int, sid: str = "s1") -> str:
    return jsonvalue.dumps({"type": "STREAM_END", "seq": seq, "stream_id": sid})


@dataclass
class ScriptedServer:
    script: Script
    connections: int = 0
    prompts: list[str] = field(default_factory=list)

    async def handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        async for raw in ws:
            message = jsonvalue.loads(raw)
            if isinstance(message, dict) and message.get("type") == "USER_MESSAGE":
                self.prompts.append(str(message["content"]))
                for text in self.script[len(self.prompts) - 1]:
                    await ws.send(text)
                    await asyncio.sleep(0.01)


@asynccontextmanager
async def session(script: Script) -> AsyncIterator[tuple[ScriptedServer, AgentClient]]:
    server = ScriptedServer(script)
    async with serve(server.handle, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        client = AgentClient(f"ws://127.0.0.1:{port}/ws", AgentEngine(config=EngineConfig(gap_timeout=0.5)))
        client.start()
        try:
            yield server, client
        finally:
            await client.close()


def replies(client: AgentClient) -> list[tuple[str, str]]:
    return [(m.text, m.status) for m in client.conversation.messages if m.role == "assistant"]


def errors(client: AgentClient) -> list[str]:
    return [e.summary for e in client.conversation.trace if e.kind == "PROTOCOL_ERROR"]


async def test_a_stray_seq_one_mid_reply_is_refused_and_no_text_is_applied_twice() -> None:
    frames = [
        tok(1, "The "),
        tok(2, "quick "),
        tok(3, "fox"),
        tok(1, "HIJACK "),
        tok(2, "quick "),  # a replayed copy: a duplicate, still
        tok(4, "."),
        end(5),
    ]
    async with session([frames]) as (server, client):
        client.send_user_message("go")
        await eventually(lambda: replies(client) == [("The quick fox.", "done")], 5.0)
        assert len(errors(client)) == 1 and "seq 1" in errors(client)[0]
        await asyncio.sleep(1.0)  # two gap timeouts: nothing to reconnect for
        assert server.connections == 1


async def test_an_absurd_seq_is_a_protocol_error_not_a_reconnect_loop() -> None:
    frames = [tok(1, "one "), tok(2**62, "far away"), tok(2, "two"), end(3)]
    async with session([frames]) as (server, client):
        client.send_user_message("go")
        await eventually(lambda: replies(client) == [("one two", "done")], 5.0)
        await asyncio.sleep(1.5)  # three gap timeouts
        assert server.connections == 1
        assert len(errors(client)) == 1 and str(2**62) in errors(client)[0]


async def test_a_token_for_an_unknown_stream_is_shown_as_an_error_and_blocks_nothing() -> None:
    first = [tok(1, "real "), tok(2, "phantom", "s_unknown"), tok(3, "reply"), end(4)]
    second = [tok(1, "next", "s2"), end(2, "s2")]
    async with session([first, second]) as (server, client):
        client.send_user_message("one")
        client.send_user_message("two")  # queued behind the first reply
        await eventually(lambda: replies(client) == [("real reply", "done"), ("next", "done")], 3.0)
        assert server.prompts == ["one", "two"]
        assert any("s_unknown" in e for e in errors(client))
        assert all(m.status != "interrupted" for m in client.conversation.messages)
