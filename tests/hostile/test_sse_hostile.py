"""The SSE dialect against hostile HTTP servers on loopback: a line that never ends, a message that
never started, ids no header can carry as ASCII, absurd retry hints."""

from __future__ import annotations

import asyncio

from console.dialects.sse.client import SSEClient
from console.dialects.sse.engine import SSEEngine
from console.dialects.sse.event_stream import ServerSentEvent
from tests.hostile.servers import SSE_HEADERS, StartHttp, eventually, resident_bytes, sse_event

MB = 1024 * 1024


def start_client(url: str, made: list[SSEClient], max_line: int = 8 * MB) -> SSEClient:
    client = SSEClient(url, max_line=max_line)
    made.append(client)
    client.start()
    return client


def start(mid: str, role: str, id: str | None = None) -> bytes:
    return sse_event("message_start", {"event": "message_start", "messageId": mid, "role": role}, id)


def chunk(mid: str, index: int, text: str, id: str | None = None) -> bytes:
    data = {"event": "text_chunk", "messageId": mid, "chunk": text, "index": index}
    return sse_event("text_chunk", data, id)


def end(mid: str, id: str | None = None) -> bytes:
    return sse_event("message_end", {"event": "message_end", "messageId": mid}, id)


async def test_a_line_that_never_ends_breaks_the_stream_within_its_limit_and_the_text_resumes(
    http_servers: StartHttp, clients: list[SSEClient]
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(SSE_HEADERS + b"retry: 100\n\n")
        if "last-event-id" not in headers:
            writer.write(start("m0", "agent", "1") + chunk("m0", 0, "Hello", "2") + b"data: ")
            for _ in range(400):  # 25 MB of one line, or until the client gives up on it
                writer.write(b"x" * 65536)
                await writer.drain()
        else:
            writer.write(chunk("m0", 1, ", world", "3") + end("m0", "4"))

    server = await http_servers(script)
    before = resident_bytes()
    client = start_client(server.url, clients, max_line=256 * 1024)
    await eventually(lambda: client.idle)
    assert resident_bytes() - before < 100 * MB
    conversation = client.conversation
    assert [(m.text, m.status) for m in conversation.messages] == [("Hello, world", "done")]
    broken = [row.summary for row in conversation.trace if row.kind == "PROTOCOL_ERROR"]
    assert broken and broken[0].startswith("stream broken: a line of over")
    assert server.requests[1]["last-event-id"] == "2"


async def test_a_message_that_never_started_is_given_up_instead_of_fetched_again_in_a_loop(
    http_servers: StartHttp, clients: list[SSEClient]
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        # No ids: every fetch replays the stream from its start, and m1's end never comes.
        writer.write(SSE_HEADERS + b"retry: 100\n\n" + start("m0", "user") + chunk("m0", 0, "Hi"))
        writer.write(end("m0") + chunk("m1", 0, "orphan text"))

    server = await http_servers(script)
    client = start_client(server.url, clients)
    await eventually(lambda: client.idle)
    fetches = len(server.requests)
    await asyncio.sleep(1.0)
    assert len(server.requests) == fetches == 4  # one that brought something, three that did not
    messages = [(m.role, m.text, m.status) for m in client.conversation.messages]
    assert messages == [("user", "Hi", "sent"), ("assistant", "orphan text", "interrupted")]


async def test_a_non_ascii_event_id_goes_back_as_utf8_on_the_reconnection(
    http_servers: StartHttp, clients: list[SSEClient]
) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(SSE_HEADERS + b"retry: 100\n\n")
        if "last-event-id" not in headers:
            writer.write(start("m0", "agent", "évènement-1") + chunk("m0", 0, "שלום", "évènement-2"))
        else:
            writer.write(chunk("m0", 1, " world", "évènement-3") + end("m0", "évènement-4"))

    server = await http_servers(script)
    client = start_client(server.url, clients)
    await eventually(lambda: client.idle)
    assert "Last-Event-ID: évènement-2".encode() in server.raw_headers[1]
    assert [m.text for m in client.conversation.messages] == ["שלום world"]


async def test_retry_zero_still_backs_off(http_servers: StartHttp, clients: list[SSEClient]) -> None:
    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(SSE_HEADERS + b"retry: 0\n\n")

    server = await http_servers(script)
    start_client(server.url, clients)
    await asyncio.sleep(2.0)
    # 0.1 s doubling while nothing comes: 0.1 + 0.2 + 0.4 + 0.8 fills the two seconds.
    assert 2 <= len(server.requests) <= 6


def test_absurd_retry_hints_are_clamped() -> None:
    engine = SSEEngine()
    engine.receive(ServerSentEvent("message", "", "", 100_000_000_000_000_000_000), 0.0)
    assert engine.retry_delay() == 60.0
    engine.receive(ServerSentEvent("message", "", "", 0), 0.0)
    assert engine.retry_delay() == 0.1
    engine.barren = 40
    assert engine.retry_delay() == 10.0  # a small hint still doubles, up to the usual cap


def test_an_event_id_with_a_control_character_is_not_sent_back() -> None:
    engine = SSEEngine()
    engine.receive(ServerSentEvent("message", "", "a\x01b", None), 0.0)
    engine.decoder.last_event_id = "a\x01b"
    assert engine.request_headers(1.0) == {}
    assert [row.kind for row in engine.conversation.trace] == ["PROTOCOL_ERROR"]


async def test_json_nested_at_any_depth_in_any_field_is_a_protocol_error_and_the_text_goes_on(
    http_servers: StartHttp, clients: list[SSEClient]
) -> None:
    texts = ["Hello", ", ", "deep", " world"]
    depths = (254, 255, 1024, 5000)

    def deep_events(depth: int, index: int) -> bytes:
        deep = "[" * depth + "]" * depth
        blocks = [
            f'{{"event": "text_chunk", "messageId": "m0", "index": {index}, "chunk": "x", "meta": {deep}}}',
            f'{{"event": "component_field", "messageId": "m0", "field": "f", "value": {deep}}}',
            f'{{"event": "component_start", "messageId": "m0", "componentType": {deep}}}',
            deep,
        ]
        return b"".join(f"data: {block}\n\n".encode() for block in blocks)

    async def script(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(SSE_HEADERS + start("m0", "agent"))
        for index, (text, depth) in enumerate(zip(texts, depths, strict=True)):
            writer.write(deep_events(depth, index) + chunk("m0", index, text))
        writer.write(end("m0"))

    server = await http_servers(script)
    client = start_client(server.url, clients)
    task = client.start()
    await eventually(lambda: client.idle and bool(client.conversation.messages))
    assert not task.done()  # the session goes on
    assert [(m.text, m.status) for m in client.conversation.messages] == [("".join(texts), "done")]
    errors = [row for row in client.conversation.trace if row.kind == "PROTOCOL_ERROR"]
    assert len(errors) >= 4 * len(depths)  # every deep event, at every depth, is one
