"""The chat dialect decoder: what a user sees in the conversation for the frames a server sends."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from console.dialects.chat.protocol import (
    ChatDecoder,
    FrameError,
    done_frame,
    entry_frame,
    parse_user_message,
    user_message,
)
from console.events import (
    ComponentEnd,
    ComponentField,
    ComponentStart,
    Event,
    MessageStart,
    ProtocolError,
    StreamEnd,
    TextDelta,
)
from console.session import ComponentBlock, Conversation

CHAT = "123"


def frame(tag: str, chunk: str, done: bool = False, chat_id: str = CHAT) -> str:
    value: dict[str, object] = {"tag": tag, "chunk": chunk, "chatId": chat_id}
    if done:
        value["done"] = True
    return json.dumps(value)


DONE = json.dumps({"chatId": CHAT, "tag": "done"})

# The seed's example conversation, plus the done tag real servers send after every response.
FIRST_RESPONSE = [
    frame("message", "Hi! Here are some cat"),
    frame("message", " names:\n- Whiskers\n- Fluffy\n", done=True),
    DONE,
]
SECOND_RESPONSE = [
    frame("idea", "Whiskers", done=True),
    frame("idea", "Fluf"),
    frame("idea", "fy", done=True),
    frame("message", "Saved them!", done=True),
    DONE,
]


def run(frames: list[str], decoder: ChatDecoder | None = None) -> tuple[Conversation, list[Event]]:
    decoder = decoder or ChatDecoder(CHAT)
    conversation = Conversation()
    events: list[Event] = []
    for raw in frames:
        for event in decoder.decode(raw):
            events.append(event)
            conversation.apply(event, at=0.0)
    return conversation, events


def assistant_view(conversation: Conversation) -> list[tuple[str, str, list[str]]]:
    """(status, text, idea texts) of each assistant message: what the chat panel shows."""
    view: list[tuple[str, str, list[str]]] = []
    for message in conversation.messages:
        if message.role == "assistant":
            ideas = [str(b.fields.get("text")) for b in message.blocks if isinstance(b, ComponentBlock)]
            view.append((message.status, message.text, ideas))
    return view


def block_kinds(conversation: Conversation) -> list[str]:
    """The kinds of the last message's blocks, in order."""
    return [type(b).__name__ for b in conversation.messages[-1].blocks]


def errors(events: list[Event]) -> list[ProtocolError]:
    return [e for e in events if isinstance(e, ProtocolError)]


def test_the_seed_conversation_reads_as_two_finished_replies() -> None:
    conversation, events = run(FIRST_RESPONSE + SECOND_RESPONSE)
    assert not errors(events)
    assert assistant_view(conversation) == [
        ("done", "Hi! Here are some cat names:\n- Whiskers\n- Fluffy\n", []),
        ("done", "Saved them!", ["Whiskers", "Fluffy"]),
    ]


def test_a_response_opens_with_message_start_and_ends_with_stream_end() -> None:
    _, events = run(FIRST_RESPONSE)
    assert isinstance(events[0], MessageStart)
    stream = events[0].stream_id
    assert events[1:] == [
        TextDelta(stream, "Hi! Here are some cat"),
        TextDelta(stream, " names:\n- Whiskers\n- Fluffy\n"),
        StreamEnd(stream),
    ]


def test_idea_chunks_accumulate_into_one_component_until_done() -> None:
    decoder = ChatDecoder(CHAT)
    _, first = run([frame("idea", "Whiskers", done=True)], decoder)
    _, fluf = run([frame("idea", "Fluf")], decoder)
    _, fy = run([frame("idea", "fy", done=True)], decoder)
    stream = decoder.stream_id
    assert stream is not None
    whiskers = next(e.component_id for e in first if isinstance(e, ComponentStart))
    assert first[1:] == [
        ComponentStart(stream, whiskers, "idea"),
        ComponentField(stream, whiskers, "text", "Whiskers"),
        ComponentEnd(stream, whiskers),
    ]
    # A chunk after a finished idea is the next idea; each further chunk is appended to its text,
    # never sent again whole (a long idea would cost the square of its chunks).
    assert isinstance(fluf[0], ComponentStart) and fluf[0].component_id != whiskers
    fluffy = fluf[0].component_id
    assert fluf[1:] == [ComponentField(stream, fluffy, "text", "Fluf")]
    assert fy == [ComponentField(stream, fluffy, "text", "fy", append=True), ComponentEnd(stream, fluffy)]


def test_an_idea_in_progress_shows_its_partial_text() -> None:
    conversation, _ = run([frame("idea", "Long idea, still "), frame("idea", "coming")])
    (message,) = [m for m in conversation.messages if m.role == "assistant"]
    assert message.status == "streaming"
    assert assistant_view(conversation) == [("streaming", "", ["Long idea, still coming"])]


def test_each_response_gets_its_own_stream() -> None:
    conversation, events = run(FIRST_RESPONSE + FIRST_RESPONSE)
    starts = [e.stream_id for e in events if isinstance(e, MessageStart)]
    ends = [e.stream_id for e in events if isinstance(e, StreamEnd)]
    assert len(set(starts)) == 2 and starts == ends
    assert [status for status, _, _ in assistant_view(conversation)] == ["done", "done"]


def test_the_done_tag_closes_an_idea_left_open() -> None:
    conversation, events = run([frame("idea", "never finished"), DONE])
    assert not errors(events)
    assert [type(e) for e in events[-2:]] == [ComponentEnd, StreamEnd]
    assert assistant_view(conversation) == [("done", "", ["never finished"])]


def test_a_message_chunk_closes_an_open_idea() -> None:
    conversation, events = run([frame("idea", "Tofu"), frame("message", "Saved.", done=True), DONE])
    assert not errors(events)
    assert assistant_view(conversation) == [("done", "Saved.", ["Tofu"])]
    assert block_kinds(conversation) == ["ComponentBlock", "TextBlock"]


BAD_FRAMES = {
    "another chat": frame("message", "not for you", chat_id="999"),
    "unknown tag": json.dumps({"tag": "tool", "chunk": "x", "chatId": CHAT}),
    "malformed JSON": '{"tag": "message", "chunk": "Hi',
    "not an object": '["message", "Hi"]',
    "a string": '"message"',
    "missing chunk": json.dumps({"tag": "message", "chatId": CHAT}),
    "missing chatId": json.dumps({"tag": "message", "chunk": "x"}),
    "missing tag": json.dumps({"chunk": "x", "chatId": CHAT}),
    "chunk not a string": json.dumps({"tag": "idea", "chunk": 42, "chatId": CHAT}),
    "done not a boolean": json.dumps({"tag": "idea", "chunk": "x", "chatId": CHAT, "done": "yes"}),
    "empty": "",
}


def test_bad_frames_become_protocol_errors_and_leave_the_conversation_right() -> None:
    clean, _ = run(FIRST_RESPONSE + SECOND_RESPONSE)
    for name, bad in BAD_FRAMES.items():
        # The bad frame lands mid-response, at the most fragile place: between two idea chunks.
        frames = [*FIRST_RESPONSE, *SECOND_RESPONSE[:2], bad, *SECOND_RESPONSE[2:]]
        conversation, events = run(frames)
        (error,) = errors(events)
        assert error.reason, name
        assert conversation.transcript() == clean.transcript(), name


def test_the_done_message_ends_the_response_and_a_done_tag_after_it_is_no_error() -> None:
    # "one message per response, after any ideas": its done chunk is the end, done tag or not.
    conversation, events = run([frame("message", "Saved them!", done=True)])
    assert assistant_view(conversation) == [("done", "Saved them!", [])]
    conversation, events = run([frame("message", "Saved them!", done=True), DONE])
    assert errors(events) == []
    assert assistant_view(conversation) == [("done", "Saved them!", [])]


def test_a_message_after_the_done_message_is_the_next_response() -> None:
    conversation, events = run(
        [frame("message", "One.", done=True), frame("message", "Two.", done=True), DONE]
    )
    assert errors(events) == []
    assert assistant_view(conversation) == [("done", "One.", []), ("done", "Two.", [])]


def test_a_done_tag_with_no_response_is_refused() -> None:
    conversation, events = run([DONE, *FIRST_RESPONSE, DONE])
    assert len(errors(events)) == 2
    assert [status for status, _, _ in assistant_view(conversation)] == ["done"]


def test_a_frame_for_another_chat_names_both_chats() -> None:
    _, events = run([frame("message", "x", chat_id="other")])
    (error,) = errors(events)
    assert "'other'" in error.reason and f"'{CHAT}'" in error.reason


def test_an_oversized_frame_is_refused_with_a_short_excerpt() -> None:
    decoder = ChatDecoder(CHAT, max_size=1000)
    (error,) = decoder.decode(frame("message", "x" * 5000))
    assert isinstance(error, ProtocolError)
    assert "exceeds" in error.reason and len(error.excerpt) < 400


def test_bytes_frames_decode_like_text() -> None:
    _, events = run(FIRST_RESPONSE)
    decoder = ChatDecoder(CHAT)
    from_bytes = [e for raw in FIRST_RESPONSE for e in decoder.decode(raw.encode())]
    assert from_bytes == events


def test_interrupt_abandons_the_response_so_late_text_starts_a_new_one() -> None:
    decoder = ChatDecoder(CHAT)
    conversation = Conversation()
    for event in decoder.decode(frame("message", "Half an ans")):
        conversation.apply(event, at=0.0)
    lost = decoder.interrupt()
    assert lost is not None and decoder.stream_id is None
    conversation.mark_interrupted("connection lost", at=1.0)
    for raw in FIRST_RESPONSE:
        for event in decoder.decode(raw):
            conversation.apply(event, at=2.0)
    assert assistant_view(conversation) == [
        ("interrupted", "Half an ans", []),
        ("done", "Hi! Here are some cat names:\n- Whiskers\n- Fluffy\n", []),
    ]


def test_stream_ids_stay_unique_across_decoders_with_distinct_prefixes() -> None:
    first = ChatDecoder(CHAT, stream_prefix="a")
    second = ChatDecoder(CHAT, stream_prefix="b")
    (a, *_) = first.decode(FIRST_RESPONSE[0])
    (b, *_) = second.decode(FIRST_RESPONSE[0])
    assert isinstance(a, MessageStart) and isinstance(b, MessageStart)
    assert a.stream_id != b.stream_id


def test_user_message_frame_is_the_spec_shape() -> None:
    assert json.loads(user_message("Hi! Please cat names", CHAT)) == {
        "message": "Hi! Please cat names",
        "chatId": CHAT,
    }
    request = parse_user_message(user_message("Great! Save them please", CHAT))
    assert (request.message, request.chat_id) == ("Great! Save them please", CHAT)


def test_the_server_side_builders_speak_what_the_decoder_reads() -> None:
    frames = [
        entry_frame("idea", "Whiskers", CHAT, done=True),
        entry_frame("message", "Saved them!", CHAT, done=True),
        done_frame(CHAT),
    ]
    assert "done" not in json.loads(entry_frame("message", "partial", CHAT))
    conversation, events = run(frames)
    assert not errors(events)
    assert assistant_view(conversation) == [("done", "Saved them!", ["Whiskers"])]


def test_parse_user_message_rejects_frames_without_a_chat_id() -> None:
    for raw in ('{"message": "hi"}', "nope", '{"message": 1, "chatId": "x"}'):
        try:
            parse_user_message(raw)
        except FrameError:
            continue
        raise AssertionError(raw)


@settings(max_examples=150, deadline=None)
@given(noise=st.lists(st.tuples(st.integers(0, len(SECOND_RESPONSE)), st.text(max_size=40)), max_size=6))
def test_garbage_anywhere_never_raises_nor_changes_what_the_user_sees(noise: list[tuple[int, str]]) -> None:
    clean, _ = run(SECOND_RESPONSE)
    frames = list(SECOND_RESPONSE)
    for position, text in sorted(noise, reverse=True):
        frames.insert(position, text)
    conversation, events = run(frames)
    assert len(errors(events)) == len(noise)
    assert conversation.transcript() == clean.transcript()
