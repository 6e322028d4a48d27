"""The AG-UI dialect against hostile HTTP servers on loopback: a line that never ends, an error body
that never ends, an answer to the probe that never ends. Nothing is read without a bound."""

from __future__ import annotations

import asyncio
import json

import pytest

from console.dialects.agui.client import AguiClient
from tests.helpers import Closable
from tests.hostile.servers import SSE_HEADERS, StartHttp, eventually, resident_bytes

MB = 1024 * 1024


def event(kind: str, event_id: str, **fields: object) -> bytes:
    return f"id: {event_id}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


async def endless(writer: asyncio.StreamWriter, head: bytes) -> None:
    """`head`, then 25 MB without a line end, or until the client stops reading."""
    writer.write(head)
    for _ in range(400):
        writer.write(b"x" * 65536)
        await writer.drain()


def is_post(headers: dict[str, str]) -> bool:
    return "content-length" in headers  # the probe is a GET, without a body


async def test_a_line_that_never_ends_breaks_the_stream_within_its_limit_and_the_run_resumes(
    http_servers: StartHttp, clients: list[Closable]
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        if not is_post(headers):
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
        elif "last-event-id" not in headers:
            started = event("RUN_STARTED", "1", threadId="t", runId="r")
            text = event("TEXT_MESSAGE_CONTENT", "2", messageId="m", delta="Hello")
            await endless(writer, SSE_HEADERS + started + text + b"data: ")
        else:
            writer.write(SSE_HEADERS + event("TEXT_MESSAGE_CONTENT", "3", messageId="m", delta=", world"))
            writer.write(event("RUN_FINISHED", "4", threadId="t", runId="r"))

    server = await http_servers(script)
    before = resident_bytes()
    client = AguiClient(server.url, max_line=256 * 1024)
    clients.append(client)
    client.start()
    await eventually(lambda: client.conversation.link.live)
    client.send_user_message("hi")
    await eventually(lambda: client.idle and len(client.conversation.messages) == 2)
    assert resident_bytes() - before < 100 * MB
    conversation = client.conversation
    assert [(m.text, m.status) for m in conversation.messages][1] == ("Hello, world", "done")
    broken = [row.summary for row in conversation.trace if row.kind == "PROTOCOL_ERROR"]
    assert broken and broken[0].startswith("stream broken: a line of over")
    assert server.requests[-1]["last-event-id"] == "2"


async def test_an_endless_error_body_or_probe_answer_is_read_only_as_far_as_it_is_shown(
    http_servers: StartHttp, clients: list[Closable]
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        status = b"500 Internal Server Error" if is_post(headers) else b"200 OK"
        await endless(writer, b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain\r\n\r\noops ")

    server = await http_servers(script)
    before = resident_bytes()
    client = AguiClient(server.url)
    clients.append(client)
    client.start()
    await eventually(lambda: client.conversation.link.live)
    client.send_user_message("hi")
    await eventually(lambda: client.idle and len(client.conversation.messages) == 2)
    assert resident_bytes() - before < 20 * MB  # not the 25 MB the server was ready to send, twice
    errors = [row for row in client.conversation.trace if row.kind == "HTTP_ERROR"]
    assert errors and errors[0].summary.startswith("HTTP 500: oops xxx")
    assert client.conversation.messages[1].status != "streaming"


@pytest.mark.parametrize(("event_id", "resumed"), [("é-2", True), ("bad\x01id", False)])
async def test_an_event_id_of_any_text_never_crashes_the_session(
    http_servers: StartHttp, clients: list[Closable], event_id: str, resumed: bool
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        if not is_post(headers):
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
        elif "last-event-id" not in headers:  # the stream drops after the first words
            writer.write(SSE_HEADERS + event("RUN_STARTED", "1", threadId="t", runId="r"))
            writer.write(event("TEXT_MESSAGE_CONTENT", event_id, messageId="m", delta="Hello"))
        else:
            writer.write(SSE_HEADERS + event("TEXT_MESSAGE_CONTENT", "3", messageId="m", delta=", world"))
            writer.write(event("RUN_FINISHED", "4", threadId="t", runId="r"))

    server = await http_servers(script)
    client = AguiClient(server.url)
    clients.append(client)
    task = client.start()
    await eventually(lambda: client.conversation.link.live)
    client.send_user_message("hi")
    await eventually(lambda: client.idle and len(client.conversation.messages) == 2)
    assert not task.done()  # the session goes on
    reply = client.conversation.messages[1]
    if resumed:
        assert (reply.text, reply.status) == ("Hello, world", "done")
        assert server.requests[-1]["last-event-id"] == "é-2"  # sent back as UTF-8
    else:
        assert (reply.text, reply.status) == ("Hello", "interrupted")
        errors = [row.summary for row in client.conversation.trace if row.kind == "PROTOCOL_ERROR"]
        assert any("cannot be sent back as Last-Event-ID" in e for e in errors)
