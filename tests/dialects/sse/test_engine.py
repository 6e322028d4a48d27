"""The SSE engine with plain strings: tracing, errors, replay recognition, completion."""

from __future__ import annotations

import json

from console.clients import Target, make_client
from console.connection import ConnectionState
from console.dialects.sse.client import SSEClient
from console.dialects.sse.engine import SSEEngine
from console.dialects.sse.event_stream import ServerSentEvent, SSEDecoder
from console.session import ComponentBlock

EVENTS: list[tuple[str, dict[str, object]]] = [
    ("message_start", {"messageId": "m0", "role": "user"}),
    ("text_chunk", {"messageId": "m0", "chunk": "Hi! ", "index": 0}),
    ("text_chunk", {"messageId": "m0", "chunk": "Book it", "index": 1}),
    ("message_end", {"messageId": "m0"}),
    ("message_start", {"messageId": "m1", "role": "agent"}),
    ("text_chunk", {"messageId": "m1", "chunk": "world", "index": 1}),
    ("text_chunk", {"messageId": "m1", "chunk": "Hello ", "index": 0}),
    ("component_start", {"messageId": "m1", "componentType": "calendar_event"}),
    ("component_field", {"messageId": "m1", "field": "title", "value": "Sync"}),
    ("component_end", {"messageId": "m1"}),
    ("message_end", {"messageId": "m1"}),
]
STREAM = "".join(f"event:{name}\ndata:{json.dumps({'event': name, **fields})}\n\n" for name, fields in EVENTS)


def feed(engine: SSEEngine, text: str, now: float = 0.0) -> None:
    for sse in SSEDecoder().decode(text):
        engine.receive(sse, now)


def test_a_conversation_builds_user_and_agent_messages_in_order() -> None:
    engine = SSEEngine()
    engine.connected(0.0)
    feed(engine, STREAM)
    messages = engine.conversation.messages
    assert [(m.role, m.text, m.status) for m in messages] == [
        ("user", "Hi! Book it", "sent"),
        ("assistant", "Hello world", "done"),
    ]
    assert engine.ended(1.0)
    assert engine.conversation.link.state is ConnectionState.CLOSED


def test_a_replay_without_ids_after_a_reconnect_is_not_shown_twice() -> None:
    engine = SSEEngine()
    engine.connected(0.0)
    blocks = STREAM.split("\n\n")
    feed(engine, "\n\n".join(blocks[:6]) + "\n\n")  # cut inside the agent's message
    assert not engine.ended(0.5)
    engine.disconnected(0.6, "cut", 0.1)
    engine.connected(0.7)
    feed(engine, STREAM)  # the server starts over
    assert [m.text for m in engine.conversation.messages] == ["Hi! Book it", "Hello world"]
    assert engine.decoder.stats.replayed > 0
    assert engine.ended(1.0)


def test_bad_events_are_trace_errors_and_the_stream_goes_on() -> None:
    engine = SSEEngine()
    engine.connected(0.0)
    feed(engine, "event:text_chunk\ndata:{not json\n\nevent:teleport\ndata:{}\n\n" + STREAM)
    errors = [e for e in engine.conversation.trace if e.kind == "PROTOCOL_ERROR"]
    assert len(errors) == 2
    assert [m.text for m in engine.conversation.messages] == ["Hi! Book it", "Hello world"]


def test_ids_and_retry_are_kept_for_the_next_connection() -> None:
    engine = SSEEngine()
    engine.connected(0.0)
    engine.receive(ServerSentEvent("message_start", '{"messageId": "m0", "role": "user"}', "7", 1500), 0.1)
    assert engine.request_headers(0.2) == {b"Last-Event-ID": b"7"}
    assert engine.retry_ms == 1500


def test_the_timeline_groups_a_messages_text_chunks_and_names_component_fields() -> None:
    from console.ui.timeline_model import TimelineModel

    engine = SSEEngine()
    engine.connected(0.0)
    feed(engine, STREAM)
    model = TimelineModel()
    model.feed_history(list(engine.conversation.trace))
    rows = [(row.kind, row.summary, row.tokens, row.text()) for row in model.rows]
    text = [(tokens, joined or summary) for kind, summary, tokens, joined in rows if kind == "TEXT_CHUNK"]
    # One row a message's text run, as the agent dialect's token rows; a chunk held for its order is a
    # row of its own, its text in the run it joined.
    assert text == [(2, "Hi! Book it"), (0, "m1 (held)"), (1, "Hello world")]
    fields = [summary for kind, summary, _, _ in rows if kind == "COMPONENT_FIELD"]
    assert fields == ["title: Sync"]
    start = next(row for row in model.rows if row.kind == "COMPONENT_START")
    assert start.summary.startswith("calendar_event ") and start.ref is not None


async def test_a_session_reports_exactly_the_fields_its_component_models_do_not_declare() -> None:
    client = make_client(Target("sse", "http://127.0.0.1:9/conversation"))
    assert isinstance(client, SSEClient)
    client.engine.connected(0.0)
    badge = [
        ("message_start", {"messageId": "m", "role": "agent"}),
        ("component_start", {"messageId": "m", "componentType": "contact_badge"}),
        ("component_field", {"messageId": "m", "field": "phone", "value": "123"}),
        ("component_end", {"messageId": "m"}),
        ("component_start", {"messageId": "m", "componentType": "calendar_event"}),
        ("component_field", {"messageId": "m", "field": "timezone", "value": "Europe/Paris"}),
    ]
    feed(client.engine, "".join(f"event:{n}\ndata:{json.dumps({'event': n, **f})}\n\n" for n, f in badge))
    errors = [e.summary for e in client.conversation.trace if e.kind == "PROTOCOL_ERROR"]
    assert errors == ["component_field: 'phone' is not a field of contact_badge; dropped"]
    calendar = client.conversation.messages[-1].blocks[-1]
    assert isinstance(calendar, ComponentBlock) and calendar.fields == {"timezone": "Europe/Paris"}
