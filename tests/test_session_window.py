"""A conversation keeps its newest messages and trace rows in memory: the rest go, with one notice; a
reply in flight is never cut; what goes takes its index entries with it."""

from __future__ import annotations

from console import events as ev
from console.limits import Limits
from console.session import (
    Change,
    ComponentBlock,
    Conversation,
    HistoryLetGo,
    MessageAdded,
    TextBlock,
    ToolBlock,
)
from console.window import HISTORY_DROPPED, HISTORY_KEPT, Window


def _small(messages: int = 4, trace_rows: int = 50_000) -> Conversation:
    return Conversation(limits=Limits(window=Window(messages=messages, trace_rows=trace_rows)))


def _exchange(conversation: Conversation, n: int, *, tool: bool = False, end: bool = True) -> None:
    """A prompt and its reply (two messages), as an engine feeds them."""
    at = float(n)
    conversation.add_user_message(f"question {n}", at)
    sid = f"s{n}"
    for word in ("Hel", "lo ", str(n)):
        conversation.apply(ev.TextDelta(sid, word), at)
    if tool:
        conversation.apply(ev.ToolCall(sid, f"c{n}", "search", {"q": n}), at)
        conversation.apply(ev.ComponentStart(sid, f"k{n}", "badge"), at)
        conversation.apply(ev.ComponentEnd(sid, f"k{n}"), at)
    if end:
        conversation.apply(ev.StreamEnd(sid), at)


def test_past_its_window_a_conversation_keeps_its_newest_messages_and_counts_the_rest() -> None:
    conversation = _small(messages=4)
    for n in range(5):
        _exchange(conversation, n)
    assert [m.text for m in conversation.messages] == ["question 3", "Hello 3", "question 4", "Hello 4"]
    assert conversation.messages_let_go == 6
    # The ids go on from the start: the first kept is the conversation's message number 6 (from 0).
    assert conversation.messages[0].id == "m7"
    assert conversation.message("m6") is None and conversation.message("m7") is conversation.messages[0]
    assert conversation.folded.counts["messages"] == 6


def test_the_notice_that_history_left_memory_comes_once_and_says_where_it_is() -> None:
    dropped = _small(messages=2)
    for n in range(10):
        _exchange(dropped, n)
    assert [(n.level, n.text, n.repeats) for n in dropped.notices] == [("warning", HISTORY_DROPPED, 1)]

    kept = _small(messages=2)
    kept.history_kept = True  # what a store sets (console/store/restore.py)
    for n in range(10):
        _exchange(kept, n)
    assert [(n.level, n.text) for n in kept.notices] == [("info", HISTORY_KEPT)]


def test_a_view_is_told_which_messages_left_after_the_one_that_pushed_them_out_was_added() -> None:
    conversation = _small(messages=2)
    heard: list[Change] = []
    _exchange(conversation, 0)
    conversation.subscribe(heard.append)
    conversation.add_user_message("question 1", 1.0)
    added = [c for c in heard if isinstance(c, MessageAdded | HistoryLetGo)]
    assert added == [MessageAdded(conversation.messages[-1]), HistoryLetGo(("m1",))]


def test_a_reply_in_flight_and_the_prompts_queued_after_it_are_never_cut() -> None:
    conversation = _small(messages=2)
    conversation.add_user_message("first", 0.0)
    conversation.apply(ev.TextDelta("s0", "streaming "), 0.0)
    for n in range(4):  # typed while the reply streams: queued, in flight too
        conversation.add_user_message(f"queued {n}", 0.1, queued=True)
    # Only the prompt answered already could go: the reply streams, the queued ones wait.
    assert [m.text for m in conversation.messages] == ["streaming ", *(f"queued {n}" for n in range(4))]
    assert conversation.messages_let_go == 1
    conversation.apply(ev.TextDelta("s0", "on"), 0.2)
    assert (
        conversation.messages[0].text == "streaming on" and conversation.streaming is conversation.messages[0]
    )
    conversation.apply(ev.StreamEnd("s0"), 0.3)
    for message in conversation.messages[1:]:
        conversation.mark_sent(message)
    conversation.apply(ev.TextDelta("s1", "next"), 0.4)  # answers "queued 0", right under it
    # The ended reply and the answered prompt go; the new reply streams, and the prompts still wait.
    assert [m.text for m in conversation.messages] == ["next", "queued 1", "queued 2", "queued 3"]
    assert conversation.messages_let_go == 3


def test_what_leaves_memory_takes_its_index_entries_with_it() -> None:
    conversation = _small(messages=10)
    for n in range(500):
        _exchange(conversation, n, tool=True)
        conversation.apply(ev.ToolResult(f"s{n}", f"c{n}", {"hits": n}), float(n))
    assert len(conversation.messages) == 10
    assert len(conversation._by_id) == 10
    assert len(conversation._by_stream) <= 10
    assert len(conversation._tools) <= 10
    assert len(conversation._components) <= 10


def test_a_late_result_still_lands_on_a_waiting_card_whose_message_left_memory() -> None:
    conversation = _small(messages=2)
    _exchange(conversation, 0, tool=True)  # the call waits for its result
    card = conversation.messages[1].blocks[1]
    assert isinstance(card, ToolBlock) and card.result is None
    for n in range(1, 4):
        _exchange(conversation, n)
    assert card not in [b for m in conversation.messages for b in m.blocks]
    conversation.apply(ev.ToolResult("s0", "c0", {"hits": 1}), 9.0)
    assert card.result == {"hits": 1}
    assert "c0" not in conversation._tools and not conversation._orphan_results


def test_a_reply_that_ended_keeps_its_text_as_one_string() -> None:
    conversation = Conversation()
    _exchange(conversation, 0, end=False)
    block = conversation.messages[1].blocks[0]
    assert isinstance(block, TextBlock) and len(block.parts) == 3  # O(1) per token while it streams
    conversation.apply(ev.StreamEnd("s0"), 1.0)
    assert block.parts == ["Hello 0"]


def test_the_trace_keeps_its_newest_rows_with_their_indexes_and_says_so_once() -> None:
    conversation = _small(trace_rows=100)
    for n in range(1_000):
        conversation.record(float(n), "in", "TOKEN", f"t{n}")
    trace = conversation.trace
    assert 100 <= len(trace) <= 110
    assert conversation.rows_let_go == 1_000 - len(trace) == trace[0].index
    assert trace[-1].summary == "t999"
    assert [n.text for n in conversation.notices] == [HISTORY_DROPPED]
    assert conversation.folded.counts["trace rows"] == conversation.rows_let_go


def test_a_reset_starts_the_count_again_and_says_it_again() -> None:
    conversation = _small(messages=2)
    for n in range(3):
        _exchange(conversation, n)
    conversation.reset()
    assert conversation.messages_let_go == 0 and not conversation.notices
    for n in range(3):
        _exchange(conversation, n + 10)
    assert conversation.messages_let_go == 4
    assert [n.text for n in conversation.notices] == [HISTORY_DROPPED]


def test_a_reasoning_that_never_finished_goes_with_its_message() -> None:
    conversation = _small(messages=10)
    for n in range(500):
        conversation.add_user_message(f"question {n}", float(n))
        # The reply thinks, then is cut off: its reasoning never says it is done.
        conversation.apply(ev.ReasoningDelta(f"s{n}", f"r{n}", "thinking about it"), float(n))
        conversation.apply(ev.StreamEnd(f"s{n}"), float(n))
    assert len(conversation.messages) == 10
    assert len(conversation._reasoning) <= 10
    # The newest one is still there, and its parts still land when it does finish.
    conversation.apply(ev.ReasoningDelta("s499", "r499", " — done", done=True), 500.0)
    card = conversation.messages[-1].blocks[0]
    assert isinstance(card, ComponentBlock) and card.fields["text"] == "thinking about it — done"
