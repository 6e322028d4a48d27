"""What a session keeps live is capped, and what it lets go is counted and said once."""

from __future__ import annotations

from console import events as ev
from console.jsonvalue import JsonValue
from console.limits import Limits, NoticeBoard
from console.session import ComponentBlock, Conversation, NoticeAdded, ToolBlock


def test_the_notice_board_counts_repeats_and_folds_the_oldest() -> None:
    board = NoticeBoard(3)
    for text in ["a", "b", "b", "b", "c", "d"]:
        board.post("error", text)
    assert [(n.text, n.repeats) for n in board] == [("b", 3), ("c", 1), ("d", 1)]
    assert board.folded == 1


def test_a_flood_of_server_errors_leaves_a_bounded_board_and_tells_views_of_repeats() -> None:
    conversation = Conversation(limits=Limits(notices=5))
    told: list[NoticeAdded] = []
    conversation.subscribe(lambda c: told.append(c) if isinstance(c, NoticeAdded) else None)
    for n in range(40_000):
        conversation.apply(ev.ServerError("E", f"failure {n // 1000}"), 0.0)
    assert len(conversation.notices) == 5
    assert conversation.notices.folded == 35
    assert conversation.notices[-1].repeats == 1000
    assert told[-1] == NoticeAdded("error", "E: failure 39", 1000)


def test_contexts_past_the_cap_let_the_least_recently_updated_go() -> None:
    conversation = Conversation(limits=Limits(contexts=3))
    for cid in ["a", "b", "c", "a", "d", "e"]:
        conversation.apply(ev.ContextSnapshot(cid, {"id": cid}, 10), 0.0)
    assert list(conversation.contexts) == ["a", "d", "e"]
    assert len(conversation.contexts["a"]) == 2
    assert conversation.folded.counts == {"contexts": 2}
    assert [n.text for n in conversation.notices if "contexts" in n.text]  # said once


def test_components_past_the_cap_are_closed_as_they_stand_and_found_by_index() -> None:
    conversation = Conversation(limits=Limits(open_components=2))
    for n in range(4):
        conversation.apply(ev.ComponentStart("s", f"c{n}", "card"), 0.0)
        conversation.apply(ev.ComponentField("s", f"c{n}", "title", f"t{n}"), 0.0)
    blocks = [b for b in conversation.messages[0].blocks if isinstance(b, ComponentBlock)]
    assert [(b.fields["title"], b.complete) for b in blocks] == [
        ("t0", True),
        ("t1", True),
        ("t2", False),
        ("t3", False),
    ]
    assert conversation.folded.counts == {"components": 2}


def test_tool_calls_past_the_cap_stop_being_waited_for_but_a_late_result_still_lands() -> None:
    conversation = Conversation(limits=Limits(waiting_tool_calls=2))
    for n in range(3):
        conversation.apply(ev.ToolCall("s", f"call{n}", "t", {}), 0.0)
    assert [b.call_id for b in conversation.waiting_tool_calls()] == ["call1", "call2"]
    conversation.apply(ev.ToolResult("s", "call0", {"ok": True}), 1.0)
    first = conversation.messages[0].blocks[0]
    assert isinstance(first, ToolBlock) and first.status == "done"


def test_a_field_streamed_by_appends_reads_as_one_string() -> None:
    block = ComponentBlock("c", "idea")
    block.set("text", "Hel")
    block.set("text", "lo", append=True)
    block.set("text", " world", append=True)
    assert block.fields == {"text": "Hello world"}
    block.set("text", "replaced")
    assert block.fields == {"text": "replaced"}


def test_a_value_the_model_cannot_hold_is_a_protocol_error_row_not_a_crash() -> None:
    conversation = Conversation()
    deep: JsonValue = "x"
    for _ in range(300):  # past what the encoder writes: a dialect that forgot to check
        deep = [deep]
    conversation.apply(ev.ContextSnapshot("ctx", deep, 1), 0.0)
    conversation.apply(ev.TextDelta("s", "still here"), 0.0)
    assert conversation.counts.protocol_errors == 1
    assert conversation.messages[0].text == "still here"


def test_a_replacement_conversation_goes_on_with_what_was_received() -> None:
    crashed = Conversation()
    crashed.apply(ev.TextDelta("s", "half"), 0.0)
    crashed.apply(ev.ContextSnapshot("ctx", {"a": 1}, 5), 0.0)
    crashed.notice("error", "session crashed")
    crashed.record(0.0, "in", "TOKEN", "half")
    fresh = Conversation()
    fresh.continue_from(crashed)
    assert [(m.text, m.status) for m in fresh.messages] == [("half", "interrupted")]
    assert list(fresh.contexts) == ["ctx"]
    assert [n.text for n in fresh.notices] == ["session crashed"]
    assert len(fresh.trace) == 1 and fresh.counts.received == 1
    fresh.apply(ev.TextDelta("s2", "next"), 1.0)
    assert [m.text for m in fresh.messages] == ["half", "next"]
