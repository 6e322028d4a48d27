"""The SSE dialect from plain strings: event-stream framing, then the conversation events of the spec."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

import components
from console import events as ev
from console.dialects.sse.event_stream import ServerSentEvent, SSEDecoder
from console.dialects.sse.members import EVENT_TYPES
from console.dialects.sse.protocol import ConversationDecoder
from console.jsonvalue import JsonValue
from console.session import ComponentBlock, Conversation

# The spec's sample stream, verbatim.
SPEC_SAMPLE = """event:message_start
data:{"event":"message_start","messageId":"msg_0","role":"user"}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"Hi! ","index":0}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"Can ","index":1}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"you ","index":2}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"help ","index":3}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"me ","index":4}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"schedule ","index":5}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"a ","index":6}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"meeting ","index":7}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"with ","index":8}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"John ","index":9}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"next ","index":10}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_0","chunk":"week?","index":11}
event:message_end
data:{"event":"message_end","messageId":"msg_0"}
event:message_start
data:{"event":"message_start","messageId":"msg_1","role":"agent"}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"Of ","index":0}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"course! ","index":1}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"I'd ","index":2}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"be ","index":3}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"happy ","index":4}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"to ","index":5}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"help ","index":6}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"you ","index":7}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"schedule ","index":8}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"a ","index":9}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"meeting ","index":10}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"with ","index":11}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"John. ","index":12}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"Let ","index":13}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"me ","index":14}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"check ","index":15}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"the ","index":16}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"available ","index":17}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"slots ","index":18}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"for ","index":19}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"next ","index":20}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_1","chunk":"week.","index":21}
event:message_end
data:{"event":"message_end","messageId":"msg_1"}
event:message_start
data:{"event":"message_start","messageId":"msg_2","role":"agent"}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"I ","index":0}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"found ","index":1}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"a ","index":2}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"good ","index":3}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"time ","index":4}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"slot ","index":5}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"for ","index":6}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"your ","index":7}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"meeting ","index":8}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"with ","index":9}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"John. ","index":10}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"Here's ","index":11}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"the ","index":12}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"proposed ","index":13}
event:text_chunk
data:{"event":"text_chunk","messageId":"msg_2","chunk":"event:","index":14}
event:component_start
data:{"event":"component_start","messageId":"msg_2","componentType":"calendar_event"}
event:component_field
data:{"event":"component_field","messageId":"msg_2","field":"title","value":"Meeting with John"}
event:component_field
data:{"event":"component_field","messageId":"msg_2","field":"date","value":"2025-10-22"}
event:component_field
data:{"event":"component_field","messageId":"msg_2","field":"time","value":"14:00"}
event:component_field
data:{"event":"component_field","messageId":"msg_2","field":"status","value":"PROPOSED"}
event:component_end
data:{"event":"component_end","messageId":"msg_2"}
event:message_end
data:{"event":"message_end","messageId":"msg_2"}
"""

CALENDAR = {"title": "Meeting with John", "date": "2025-10-22", "time": "14:00", "status": "PROPOSED"}
EXPECTED = {
    "msg_0": ("user", "Hi! Can you help me schedule a meeting with John next week?", []),
    "msg_1": (
        "assistant",
        "Of course! I'd be happy to help you schedule a meeting with John. "
        "Let me check the available slots for next week.",
        [],
    ),
    "msg_2": (
        "assistant",
        "I found a good time slot for your meeting with John. Here's the proposed event:",
        [("calendar_event", CALENDAR, True)],
    ),
}


def sample_blocks() -> list[ServerSentEvent]:
    """The sample as a server sends it: one event and its data per block, blank line between."""
    lines = SPEC_SAMPLE.strip().split("\n")
    text = "".join(f"{lines[i]}\n{lines[i + 1]}\n\n" for i in range(0, len(lines), 2))
    return SSEDecoder().decode(text)


def chunk_event(mid: str, index: int, text: str) -> ServerSentEvent:
    data = json.dumps({"event": "text_chunk", "messageId": mid, "chunk": text, "index": index})
    return ServerSentEvent("text_chunk", data)


def wire(name: str, **members: JsonValue) -> ServerSentEvent:
    return ServerSentEvent(name, json.dumps({"event": name, **members}))


@dataclass
class Shown:
    """What a user would see of one message: role, text, components (type, fields, ended)."""

    role: str
    text: str = ""
    components: dict[str, tuple[str, dict[str, JsonValue], bool]] = field(default_factory=dict)

    def view(self) -> tuple[str, str, list[tuple[str, dict[str, JsonValue], bool]]]:
        return self.role, self.text, list(self.components.values())


def fold(events: list[ev.Event]) -> dict[str, tuple[str, str, list[tuple[str, dict[str, JsonValue], bool]]]]:
    shown: dict[str, Shown] = {}
    for event in events:
        match event:
            case ev.MessageStart(stream_id=sid, role=role):
                assert sid not in shown, f"{sid} shown twice"
                shown[sid] = Shown(role)
            case ev.TextDelta(stream_id=sid, text=text):
                shown[sid].text += text
            case ev.ComponentStart(stream_id=sid, component_id=cid, type=kind):
                assert cid not in shown[sid].components, f"component {cid} created twice"
                shown[sid].components[cid] = (kind, {}, False)
            case ev.ComponentField(stream_id=sid, component_id=cid, field=name, value=value):
                shown[sid].components[cid][1][name] = value
            case ev.ComponentEnd(stream_id=sid, component_id=cid):
                kind, fields, _ = shown[sid].components[cid]
                shown[sid].components[cid] = (kind, fields, True)
    return {sid: s.view() for sid, s in shown.items()}


def decode_all(decoder: ConversationDecoder, blocks: list[ServerSentEvent]) -> list[ev.Event]:
    return [e for b in blocks for e in decoder.decode_sse(b).events]


def errors(events: list[ev.Event]) -> list[str]:
    return [e.reason for e in events if isinstance(e, ev.ProtocolError)]


# ----------------------------------------------------------------------------------------------
# Conversation events
# ----------------------------------------------------------------------------------------------


def test_spec_sample_decodes_into_the_conversation() -> None:
    events = decode_all(ConversationDecoder(), sample_blocks())
    assert errors(events) == []
    assert fold(events) == EXPECTED
    assert events[0] == ev.MessageStart("msg_0", "user")
    assert events[1] == ev.TextDelta("msg_0", "Hi! ")
    assert ev.StreamEnd("msg_0") in events
    assert ev.MessageStart("msg_1", "assistant") in events  # the spec's "agent"
    tail = events[-7:]
    cid = "msg_2/component-1"
    assert tail == [
        ev.ComponentStart("msg_2", cid, "calendar_event"),
        ev.ComponentField("msg_2", cid, "title", "Meeting with John"),
        ev.ComponentField("msg_2", cid, "date", "2025-10-22"),
        ev.ComponentField("msg_2", cid, "time", "14:00"),
        ev.ComponentField("msg_2", cid, "status", "PROPOSED"),
        ev.ComponentEnd("msg_2", cid),
        ev.StreamEnd("msg_2"),
    ]


def test_spec_sample_builds_the_conversation_model() -> None:
    conversation = Conversation()
    for event in decode_all(ConversationDecoder(), sample_blocks()):
        conversation.apply(event, at=0.0)
    last = conversation.messages[-1]
    assert last.text == EXPECTED["msg_2"][1]
    assert last.status == "done"
    component = last.blocks[-1]
    assert isinstance(component, ComponentBlock)
    assert (component.type, component.fields, component.complete) == ("calendar_event", CALENDAR, True)


def test_event_type_may_come_from_the_data_alone() -> None:
    decoder = ConversationDecoder()
    events = decoder.decode("message", '{"event":"message_start","messageId":"m","role":"user"}')
    assert events == [ev.MessageStart("m", "user")]


def test_out_of_order_chunks_are_held_until_the_gap_fills() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    assert decoder.decode_sse(chunk_event("m", 0, "Hel")).outcome == "applied"
    held = decoder.decode_sse(chunk_event("m", 2, " wor"))
    assert (held.outcome, held.events) == ("held", ())
    assert decoder.held("m") == (2,)
    filled = decoder.decode_sse(chunk_event("m", 1, "lo,"))
    assert filled.events == (ev.TextDelta("m", "lo,"), ev.TextDelta("m", " wor"))
    assert decoder.stats.out_of_order == 1


def test_duplicate_chunks_are_dropped_and_counted() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    blocks = [chunk_event("m", i, t) for i, t in [(0, "ab"), (0, "ab"), (2, "ef"), (2, "ef"), (1, "cd")]]
    events = decode_all(decoder, blocks)
    assert fold([ev.MessageStart("m", "assistant"), *events])["m"][1] == "abcdef"
    assert decoder.stats.duplicates == 2
    assert errors(events) == []


def test_a_different_chunk_at_a_used_index_is_reported_and_the_first_kept() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    decoder.decode_sse(chunk_event("m", 0, "ab"))
    result = decoder.decode_sse(chunk_event("m", 0, "XX"))
    assert result.outcome == "invalid"
    assert "chunk 0 of m differs" in errors(list(result.events))[0]


def test_gap_at_message_end_is_reported_and_the_held_text_released_in_order() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    blocks = [
        chunk_event("m", 0, "a"),
        chunk_event("m", 4, "e"),
        chunk_event("m", 3, "d"),
        chunk_event("m", 1, "b"),
    ]
    decode_all(decoder, blocks)
    end = decoder.decode_sse(wire("message_end", messageId="m")).events
    assert len(end) == 4
    assert isinstance(end[0], ev.ProtocolError) and "chunks 2 missing" in end[0].reason
    assert end[1:] == (ev.TextDelta("m", "d"), ev.TextDelta("m", "e"), ev.StreamEnd("m"))
    assert decoder.is_complete("m")
    assert decoder.stats.gaps == 1


def test_a_gap_that_stays_is_reported_then_skipped_and_a_late_chunk_refused() -> None:
    decoder = ConversationDecoder(max_held=3)
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    events = decode_all(decoder, [chunk_event("m", i, str(i)) for i in (0, 3, 4, 5)])
    assert events == [ev.TextDelta("m", "0")]  # 3 chunks wait for 1-2: not yet given up
    skipped = decoder.decode_sse(chunk_event("m", 6, "6")).events
    assert isinstance(skipped[0], ev.ProtocolError)
    assert "chunks 1-2 missing" in skipped[0].reason
    assert skipped[1:] == tuple(ev.TextDelta("m", str(i)) for i in (3, 4, 5, 6))
    late = decoder.decode_sse(chunk_event("m", 1, "1"))
    assert late.outcome == "invalid"
    assert "after its gap was skipped" in errors(list(late.events))[0]


def test_held_chunks_come_out_when_the_stream_is_given_up() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    decode_all(decoder, [chunk_event("m", 0, "a"), chunk_event("m", 2, "c")])
    released = decoder.release_held()
    assert errors(released) and released[1:] == [ev.TextDelta("m", "c")]
    assert decoder.open_messages == ("m",)  # not ended: the session decides it was interrupted


def test_malformed_json_is_reported_and_the_stream_goes_on() -> None:
    decoder = ConversationDecoder()
    bad = decoder.feed("text_chunk", '{"event":"text_chunk","messageId":"msg_0","chu')
    assert bad.outcome == "invalid"
    [error] = bad.events
    assert isinstance(error, ev.ProtocolError)
    assert "malformed JSON" in error.reason and error.excerpt.startswith('{"event"')
    assert fold(decode_all(decoder, sample_blocks())) == EXPECTED


def test_unknown_event_type_is_reported() -> None:
    decoder = ConversationDecoder()
    result = decoder.decode_sse(wire("typing_indicator", messageId="msg_0"))
    assert result.outcome == "invalid"
    assert errors(list(result.events)) == ["unknown event type 'typing_indicator'"]


def test_bad_members_are_reported_with_what_was_wrong() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="user"))
    cases = {
        "data is a JSON array": ServerSentEvent("text_chunk", "[1, 2]"),
        "has no string 'messageId'": wire("text_chunk", chunk="x", index=1),
        "'index' must be a non-negative integer, got true": wire(
            "text_chunk", messageId="m", chunk="x", index=True
        ),
        "'index' must be a non-negative integer, got -1": wire(
            "text_chunk", messageId="m", chunk="x", index=-1
        ),
        "no string 'chunk'": wire("text_chunk", messageId="m", chunk=5, index=0),
        "disagrees with its data's 'event' member": ServerSentEvent(
            "message_end", '{"event":"message_start"}'
        ),
        "message nope never started": wire("message_end", messageId="nope"),
    }
    for expected, block in cases.items():
        result = decoder.decode_sse(block)
        assert result.outcome == "invalid", expected
        assert expected in errors(list(result.events))[0]
    assert decoder.stats.invalid == len(cases)


def test_unknown_component_fields_and_fields_without_a_component_are_reported() -> None:
    decoder = ConversationDecoder(known_fields=components.known_fields())
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    orphan = decoder.decode_sse(wire("component_field", messageId="m", field="title", value="x"))
    assert "component of message m that never started" in errors(list(orphan.events))[0]
    nowhere = decoder.decode_sse(wire("component_field", messageId="zzz", field="title", value="x"))
    assert "message zzz that never started" in errors(list(nowhere.events))[0]
    decoder.decode_sse(wire("component_start", messageId="m", componentType="contact_badge"))
    unknown = decoder.decode_sse(wire("component_field", messageId="m", field="phone", value="123"))
    assert errors(list(unknown.events)) == [
        "component_field: 'phone' is not a field of contact_badge; dropped"
    ]
    fine = decoder.decode_sse(wire("component_field", messageId="m", field="name", value="Ann"))
    assert fine.events == (ev.ComponentField("m", "m/component-1", "name", "Ann"),)
    # A field the component's model declares beyond the spec's list is shown, not dropped.
    decoder.decode_sse(wire("component_start", messageId="m", componentType="calendar_event"))
    zone = decoder.decode_sse(wire("component_field", messageId="m", field="timezone", value="Europe/Paris"))
    assert zone.events == (ev.ComponentField("m", "m/component-2", "timezone", "Europe/Paris"),)


def test_types_nobody_declared_take_any_field() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    decoder.decode_sse(wire("component_start", messageId="m", componentType="weather"))
    result = decoder.decode_sse(wire("component_field", messageId="m", field="celsius", value=21))
    assert result.events == (ev.ComponentField("m", "m/component-1", "celsius", 21),)


def test_aliases_servers_use_are_understood() -> None:
    decoder = ConversationDecoder()
    events = decode_all(
        decoder,
        [
            wire("message_start", messageId="m", role="assistant"),
            wire("text_chunk", messageId="m", text="Hi", index=0),
            wire("text_chunk", messageId="m", delta="!"),  # no index: after the last one
            wire("component_start", messageId="m", type="calendar_event", componentId="cal"),
            ServerSentEvent(
                "component_field", json.dumps({"messageId": "m", "componentId": "cal", "fields": CALENDAR})
            ),
            wire("component_end", messageId="m", componentId="cal"),
            wire("message_end", messageId="m"),
        ],
    )
    assert errors(events) == []
    assert fold(events) == {"m": ("assistant", "Hi!", [("calendar_event", CALENDAR, True)])}


def test_roles_map_to_user_and_assistant() -> None:
    decoder = ConversationDecoder()
    assert decoder.decode_sse(wire("message_start", messageId="a", role="agent")).events == (
        ev.MessageStart("a", "assistant"),
    )
    odd = decoder.decode_sse(wire("message_start", messageId="b", role="narrator")).events
    assert odd[0] == ev.MessageStart("b", "assistant")
    assert 'role "narrator"' in errors(list(odd))[0]


def test_text_for_a_message_that_never_started_is_shown_and_reported() -> None:
    events = ConversationDecoder().decode_sse(chunk_event("m", 0, "hi")).events
    assert isinstance(events[0], ev.ProtocolError)
    assert events[1:] == (ev.MessageStart("m", "assistant"), ev.TextDelta("m", "hi"))


def test_a_component_started_before_the_previous_ended_closes_it() -> None:
    decoder = ConversationDecoder()
    decoder.decode_sse(wire("message_start", messageId="m", role="agent"))
    decoder.decode_sse(wire("component_start", messageId="m", componentType="contact_badge"))
    events = decoder.decode_sse(wire("component_start", messageId="m", componentType="calendar_event")).events
    assert events[1:] == (
        ev.ComponentEnd("m", "m/component-1"),
        ev.ComponentStart("m", "m/component-2", "calendar_event"),
    )


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["m", "n", "agent", "user", "contact_badge", "name", "", "x"]),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["name", "phone"]), st.integers(0, 2), max_size=2),
)
MEMBERS = st.sampled_from(
    [
        "event",
        "messageId",
        "role",
        "chunk",
        "index",
        "componentType",
        "componentId",
        "field",
        "value",
        "fields",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sorted(EVENT_TYPES), "message", "other"]),
            st.dictionaries(MEMBERS, JSON_VALUES, max_size=6) | st.text(max_size=12),
        ),
        max_size=25,
    )
)
def test_no_input_makes_the_decoder_raise(frames: list[tuple[str, dict[str, JsonValue] | str]]) -> None:
    decoder = ConversationDecoder()
    for name, data in frames:
        text = data if isinstance(data, str) else json.dumps(data)
        result = decoder.feed(name, text)
        assert result.outcome in ("applied", "held", "duplicate", "replayed", "invalid", "ignored")
    decoder.release_held()


def test_empty_data_is_a_keep_alive_not_an_error() -> None:
    decoder = ConversationDecoder()
    assert decoder.feed("message", "").outcome == "ignored"
    assert decoder.stats.invalid == 0
