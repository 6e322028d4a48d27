"""The chat client engine driven with plain strings and a fake clock: several conversations on one link."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from console import jsonvalue
from console.connection import ConnectionState
from console.dialects.chat.engine import (
    NEW_CHAT_TITLE,
    ChatEngine,
    ChatEngineConfig,
    ideas_markdown,
    markdown_escape,
    saved_ideas,
)
from console.session import ComponentBlock, Conversation

S = ConnectionState


def ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"chat{n}"


def engine(config: ChatEngineConfig | None = None) -> ChatEngine:
    counter = ids()
    e = ChatEngine(config, new_id=lambda: next(counter))
    e.connected(0.0)
    return e


def entry(tag: str, chunk: str, chat_id: str, done: bool = False) -> str:
    value: dict[str, object] = {"tag": tag, "chunk": chunk, "chatId": chat_id}
    if done:
        value["done"] = True
    return json.dumps(value)


def done(chat_id: str) -> str:
    return json.dumps({"chatId": chat_id, "tag": "done"})


def sent(e: ChatEngine) -> list[dict[str, object]]:
    return [json.loads(f) for f in e.data_to_send()]


def ideas(conversation: Conversation) -> list[tuple[str, bool]]:
    return [
        (str(b.fields.get("text")), b.complete)
        for m in conversation.messages
        for b in m.blocks
        if isinstance(b, ComponentBlock)
    ]


def errors(conversation: Conversation) -> list[str]:
    return [t.summary for t in conversation.trace if t.kind == "PROTOCOL_ERROR"]


def shape(conversation: Conversation) -> list[tuple[str, str, str]]:
    return [(m.role, m.status, m.text) for m in conversation.messages]


def test_prompts_carry_the_conversation_chat_id_and_replies_are_routed_by_it() -> None:
    e = engine()
    first = e.active_id
    e.send_user_message("Hi! Please cat names", 1.0)
    second = e.new_chat()
    assert e.active_id == second and first != second
    e.send_user_message("suggest dinner ideas", 1.1)
    assert sent(e) == [
        {"message": "Hi! Please cat names", "chatId": first},
        {"message": "suggest dinner ideas", "chatId": second},
    ]
    # The two responses interleave on the wire: each lands in its own conversation.
    for raw in [
        entry("idea", "Chickpea curry", second, done=True),
        entry("message", "Hi! Here are some cat", first),
        entry("idea", "Miso soup", second, done=True),
        entry("message", " names:\n- Whiskers\n", first, done=True),
        entry("message", "Saved them as ideas.", second, done=True),
        done(first),
        done(second),
    ]:
        e.receive(raw, 1.5)
    cats, dinner = e.conversations[first], e.conversations[second]
    assert shape(cats) == [
        ("user", "sent", "Hi! Please cat names"),
        ("assistant", "done", "Hi! Here are some cat names:\n- Whiskers\n"),
    ]
    assert shape(dinner) == [
        ("user", "sent", "suggest dinner ideas"),
        ("assistant", "done", "Saved them as ideas."),
    ]
    assert ideas(dinner) == [("Chickpea curry", True), ("Miso soup", True)]
    assert ideas(cats) == []
    assert [t.kind for t in cats.trace if t.direction == "in"] == ["MESSAGE", "MESSAGE", "DONE"]
    assert e.idle and e.state is S.OPEN


def test_a_prompt_typed_while_its_conversation_streams_waits_but_other_conversations_do_not() -> None:
    e = engine()
    first = e.active_id
    e.send_user_message("one", 1.0)
    e.receive(entry("message", "Part", first), 1.1)
    e.send_user_message("two", 1.2)
    second = e.new_chat()
    e.send_user_message("elsewhere", 1.3)
    assert [f["message"] for f in sent(e)] == ["one", "elsewhere"]
    assert e.state is S.STREAMING
    e.receive(entry("message", "ial", first, done=True), 1.4)
    e.receive(done(first), 1.5)
    assert sent(e) == [{"message": "two", "chatId": first}]
    assert not e.is_idle(first) and not e.is_idle(second)


def test_bad_frames_are_timeline_rows_and_change_no_conversation() -> None:
    e = engine()
    chat = e.active_id
    other = e.new_chat()
    e.activate(chat)
    e.send_user_message("suggest names", 1.0)
    e.receive(entry("idea", "Lumen", chat, done=True), 1.1)
    e.receive(entry("message", "Saved.", chat, done=True), 1.2)
    before = shape(e.conversation)
    bad = [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"tag": "thought", "chunk": "x", "chatId": chat}),
        json.dumps({"tag": "message", "chatId": chat}),
        json.dumps({"tag": "message", "chunk": 7, "chatId": chat}),
        entry("message", "a second message", chat),
        entry("message", "for nobody", "stranger"),
    ]
    for raw in bad:
        e.receive(raw, 1.3)
    reasons = errors(e.conversation)
    assert len(reasons) == len(bad)
    assert "malformed JSON" in reasons[0]
    assert "unknown tag 'thought'" in reasons[2]
    assert "field 'chunk' is missing" in reasons[3]
    assert "after the response was done" in reasons[5]  # its one message ended it
    assert "'stranger'" in reasons[6] and "no conversation" in reasons[6]
    assert shape(e.conversation) == before
    assert errors(e.conversations[other]) == []
    # The response goes on and ends normally after all that.
    e.receive(done(chat), 1.4)
    assert shape(e.conversation) == [("user", "sent", "suggest names"), ("assistant", "done", "Saved.")]
    # A chunk after the done tag is not the start of an answer nobody asked for.
    e.receive(entry("message", "stray", chat, done=True), 1.5)
    assert "after the response was done" in errors(e.conversation)[-1]
    assert len(e.conversation.messages) == 2
    assert next(t.raw for t in e.conversation.trace if t.kind == "PROTOCOL_ERROR") == "{not json"


def test_an_error_frame_that_names_another_conversation_is_shown_on_that_conversation_timeline() -> None:
    e = engine()
    chat = e.active_id
    e.new_chat()
    e.receive(json.dumps({"tag": "thought", "chunk": "x", "chatId": chat}), 1.0)
    assert errors(e.conversations[chat]) == ["unknown tag 'thought'"]
    assert errors(e.conversation) == []


def test_a_drop_mid_response_interrupts_it_at_once_and_retry_asks_again_after_reconnecting() -> None:
    e = engine()
    chat = e.active_id
    e.send_user_message("suggest trip ideas", 1.0)
    sent(e)
    e.receive(entry("idea", "Lisbon", chat, done=True), 1.1)
    e.receive(entry("message", "Here are", chat), 1.3)
    e.disconnected(1.4, "connection lost", 0.5)
    reply = e.conversation.messages[-1]
    assert reply.status == "interrupted" and reply.text == "Here are"
    assert e.state is S.RECONNECTING and e.idle
    assert [t.kind for t in e.conversation.trace if t.direction == "client"][-2:] == [
        "INTERRUPTED",
        "DISCONNECTED",
    ]
    assert [i.text for i in saved_ideas(e.conversation)] == ["Lisbon"]
    # A prompt typed while down waits for the reconnection.
    e.send_user_message("and more", 1.5)
    assert sent(e) == []
    e.connected(2.0)
    assert sent(e) == [{"message": "and more", "chatId": chat}]
    e.receive(entry("message", "More.", chat, done=True), 2.1)
    e.receive(done(chat), 2.2)
    retried = e.retry(reply.id, 2.3)
    assert retried is not None and retried.text == "suggest trip ideas"
    assert sent(e) == [{"message": "suggest trip ideas", "chatId": chat}]
    e.receive(entry("message", "Lisbon, Kyoto.", chat, done=True), 2.4)
    e.receive(done(chat), 2.5)
    assert [m.status for m in e.conversation.messages] == [
        "sent",
        "interrupted",
        "sent",
        "done",
        "sent",
        "done",
    ]
    assert e.conversation.messages[-1].text == "Lisbon, Kyoto."
    assert reply.text == "Here are"  # the interrupted reply keeps what arrived, nothing more


def test_an_idea_cut_by_a_drop_keeps_its_card_but_is_not_saved() -> None:
    e = engine()
    chat = e.active_id
    e.send_user_message("suggest trip ideas", 1.0)
    e.receive(entry("idea", "Lisbon", chat, done=True), 1.1)
    e.receive(entry("idea", "Kyo", chat), 1.2)
    e.disconnected(1.3, "connection lost", 0.5)
    assert ideas(e.conversation) == [("Lisbon", True), ("Kyo", False)]
    assert [i.text for i in saved_ideas(e.conversation)] == ["Lisbon"]
    assert e.conversation.messages[-1].status == "interrupted"


def test_a_prompt_lost_with_the_connection_before_any_answer_can_be_retried() -> None:
    e = engine()
    e.send_user_message("hello", 1.0)
    sent(e)
    e.disconnected(1.1, "connection lost", 0.5)
    reply = e.conversation.messages[-1]
    assert (reply.role, reply.status, reply.text) == ("assistant", "interrupted", "")
    e.connected(2.0)
    assert sent(e) == []  # not re-sent behind the user's back: the retry button is theirs
    assert e.retry(reply.id, 2.1) is not None
    assert [f["message"] for f in sent(e)] == ["hello"]


def test_a_stalled_response_is_interrupted_and_its_late_frames_stay_out_of_the_next_reply() -> None:
    e = engine(ChatEngineConfig(idle_timeout=5.0))
    chat = e.active_id
    e.send_user_message("tell me a story", 1.0)
    e.receive(entry("message", "Once", chat), 2.0)
    e.tick(6.9)
    assert e.conversation.messages[-1].status == "streaming"
    e.tick(7.0)
    stalled = e.conversation.messages[-1]
    assert stalled.status == "interrupted" and "no data for 5 s" in stalled.note
    assert e.retry(stalled.id, 7.5) is not None
    sent(e)
    # The server answers one request at a time: the rest of the old reply comes first, then the new one.
    e.receive(entry("message", " upon a time", chat, done=True), 8.0)
    e.receive(done(chat), 8.1)
    e.receive(entry("message", "A new story.", chat, done=True), 8.2)
    e.receive(done(chat), 8.3)
    assert stalled.text == "Once"
    assert shape(e.conversation)[-1] == ("assistant", "done", "A new story.")
    # The old reply ended with its message; the done tag after it is its end, not a new reply's.
    assert [t.kind for t in e.conversation.trace if t.kind in ("LATE", "PROTOCOL_ERROR")] == ["LATE"]


def test_an_empty_response_is_an_interrupted_reply_the_user_can_retry() -> None:
    e = engine()
    e.send_user_message("hello", 1.0)
    e.receive(done(e.active_id), 1.1)
    reply = e.conversation.messages[-1]
    assert (reply.status, reply.note) == ("interrupted", "the agent sent an empty response")
    assert e.idle


def test_every_conversation_shows_the_same_link_status() -> None:
    counter = ids()
    e = ChatEngine(new_id=lambda: next(counter))
    first = e.active_id
    e.connected(0.0)
    second = e.new_chat()  # created while connected: it starts with the current status
    assert e.conversations[second].link == e.conversations[first].link
    e.send_user_message("hi", 1.0)
    assert {c.link.state for c in e.conversations.values()} == {S.STREAMING}
    e.disconnected(1.1, "connection lost", 2.0)
    links = [c.link for c in e.conversations.values()]
    assert links[0] == links[1] and links[0].state is S.RECONNECTING and links[0].retry_at == 3.1
    e.connected(3.2)
    assert {c.link.state for c in e.conversations.values()} == {S.OPEN}
    assert [t.kind for t in e.conversations[first].trace] == [
        "CONNECTED",
        "DISCONNECTED",
        "RECONNECTED",
    ]


def test_the_conversation_list_is_told_about_new_chats_titles_and_replies() -> None:
    e = engine()
    seen: list[int] = []
    unsubscribe = e.subscribe(lambda: seen.append(1))
    chat = e.new_chat()
    assert e.title(chat) == NEW_CHAT_TITLE
    e.send_user_message("  Plan   a trip\nto Kyoto in the spring, with a focus on gardens and food  ", 1.0)
    assert e.title(chat) == "Plan a trip to Kyoto in the spring, with a…"
    count = len(seen)
    e.receive(entry("message", "Sure.", chat, done=True), 1.1)
    e.receive(done(chat), 1.2)
    assert len(seen) > count  # the reply ended: the list drops its "replying" mark
    unsubscribe()
    count = len(seen)
    e.new_chat()
    assert len(seen) == count


def test_saved_ideas_export_as_markdown_without_letting_upstream_text_format_it() -> None:
    e = engine()
    chat = e.active_id
    e.send_user_message("save them", 1.0)
    e.receive(entry("idea", "Whiskers", chat, done=True), 1.1)
    e.receive(entry("idea", "<b>Fluffy</b> *the* [cat](javascript:x)\n# big", chat, done=True), 1.2)
    e.receive(entry("message", "Saved them!", chat, done=True), 1.3)
    e.receive(done(chat), 1.4)
    saved = saved_ideas(e.conversation)
    assert [i.text for i in saved] == ["Whiskers", "<b>Fluffy</b> *the* [cat](javascript:x)\n# big"]
    text = ideas_markdown("save them", saved)
    assert text.splitlines() == [
        "# Ideas: save them",
        "",
        "- Whiskers",
        r"- \<b\>Fluffy\</b\> \*the\* \[cat\](javascript:x) \# big",
    ]
    assert markdown_escape("a_b") == r"a\_b"
    assert ideas_markdown("x", []).splitlines()[-1] == "_No ideas saved yet._"


def test_the_timeline_joins_a_replys_text_frames_into_one_row() -> None:
    from console.ui.timeline_model import TimelineModel

    e = engine()
    chat = e.active_id
    e.send_user_message("give me some cat names", 1.0)
    for raw in [
        entry("message", "Here are ", chat),
        entry("message", "some cat ", chat),
        entry("message", "names.", chat, done=True),
        done(chat),
    ]:
        e.receive(raw, 1.5)
    model = TimelineModel()
    model.feed_history(list(e.conversations[chat].trace))
    text = [row for row in model.rows if row.kind == "MESSAGE"]
    assert [(row.tokens, row.text(), row.streaming) for row in text] == [
        (3, "Here are some cat names.", False)
    ]


def test_each_frame_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ideas, the message, the done tag and a bad frame: one JSON parse each (a flood costs no more)."""
    parses: list[str] = []
    loads = jsonvalue.loads

    def counted(text: str | bytes) -> jsonvalue.JsonValue:
        parses.append(str(text))
        return loads(text)

    monkeypatch.setattr(jsonvalue, "loads", counted)
    e = engine()
    e.send_user_message("plan my week", 0.0)
    e.data_to_send()
    frames = [
        entry("idea", "Look at ", "chat1"),
        entry("idea", "the calendar", "chat1", done=True),
        entry("message", "Monday: ", "chat1"),
        entry("message", "gym.", "chat1", done=True),
        done("chat1"),
        json.dumps({"tag": "idea", "chatId": "chat1"}),  # no chunk: reported in chat1
    ]
    for frame in frames:
        e.receive(frame, 1.0)
    assert parses == frames
    assert e.conversation.messages[-1].text == "Monday: gym."
    assert errors(e.conversation) == ["field 'chunk' is missing"]
