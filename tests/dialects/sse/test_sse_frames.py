"""The SSE dialect as a server writes it: the builders reproduce the spec's sample lines, and the
console's conversation decoder reads what they write as the events they were built for."""

from __future__ import annotations

from console import events as ev
from console.dialects.sse import frames
from console.dialects.sse.protocol import ConversationDecoder


def test_the_builders_write_the_specs_sample_lines() -> None:
    assert frames.message_start("msg_0", "user").block() == (
        'event:message_start\ndata:{"event":"message_start","messageId":"msg_0","role":"user"}\n\n'
    )
    assert frames.text_chunk("msg_0", "Hi! ", 0).block(3) == (
        'id:3\nevent:text_chunk\ndata:{"event":"text_chunk","messageId":"msg_0","chunk":"Hi! ","index":0}\n\n'
    )
    assert frames.retry_block(1500) == "retry:1500\n\n"


def test_a_conversation_written_by_the_builders_decodes_to_its_events() -> None:
    written = [
        frames.message_start("msg_2", "agent"),
        frames.text_chunk("msg_2", "Here", 0),
        frames.component_start("msg_2", "calendar_event"),
        frames.component_field("msg_2", "title", "Meeting with John"),
        frames.component_end("msg_2"),
        frames.message_end("msg_2"),
    ]
    decoder = ConversationDecoder()
    decoded = [e for event in written for e in decoder.decode(event.name, event.data)]
    component = decoded[2]
    assert isinstance(component, ev.ComponentStart)
    assert decoded == [
        ev.MessageStart("msg_2", "assistant"),
        ev.TextDelta("msg_2", "Here"),
        ev.ComponentStart("msg_2", component.component_id, "calendar_event"),
        ev.ComponentField("msg_2", component.component_id, "title", "Meeting with John"),
        ev.ComponentEnd("msg_2", component.component_id),
        ev.StreamEnd("msg_2"),
    ]


def test_an_event_of_a_type_the_spec_does_not_know_keeps_its_name_in_its_json() -> None:
    typing = frames.event("typing_indicator", messageId="msg_1", active=True)
    assert (typing.name, typing.data) == (
        "typing_indicator",
        '{"event":"typing_indicator","messageId":"msg_1","active":true}',
    )
