"""A session holds one trace, one link and its counts, whatever number of conversations it carries."""

from __future__ import annotations

from console import events as ev
from console.connection import ConnectionState, LinkStatus
from console.link import LinkEvent
from console.session import Change, ConnectionChanged, Conversation, TraceAdded

S = ConnectionState


def shown(conversation: Conversation) -> ConnectionState:
    """The state shown now (a function, so that narrowing by one check does not leak into the next)."""
    return conversation.link.state


def heard(conversation: Conversation) -> list[Change]:
    changes: list[Change] = []
    conversation.subscribe(changes.append)
    return changes


def test_a_row_is_recorded_once_and_every_conversation_of_the_session_hears_of_it() -> None:
    first, second = Conversation(), Conversation()
    session = first.session
    session.add(second)
    first_heard, second_heard = heard(first), heard(second)
    second.record(1.0, "in", "MESSAGE", "hello", raw="{}")
    first.record(1.1, "client", "CONNECTED", "connected")
    assert first.trace is second.trace and len(session.trace) == 2
    rows = [
        [c.entry.kind for c in changes if isinstance(c, TraceAdded)]
        for changes in (first_heard, second_heard)
    ]
    assert rows == [["MESSAGE", "CONNECTED"], ["MESSAGE", "CONNECTED"]]
    assert (first.counts.received, second.counts.received) == (1, 1)  # the session's count, once


def test_what_the_session_shows_is_derived_from_its_link_and_its_busiest_conversation() -> None:
    first, second = Conversation(), Conversation()
    session = first.session
    session.add(second)
    session.feed_link()
    second_heard = heard(second)
    session.handle(LinkEvent.CONNECTED)
    assert shown(first) is S.OPEN and second.link is first.link
    second.add_user_message("hi", 1.0)  # a prompt out in one conversation: the session is streaming
    assert shown(first) is S.STREAMING
    second.mark_interrupted("no data", 2.0)
    assert shown(first) is S.OPEN
    session.lost(3.0, "reset", 1.0)
    assert (first.link.state, first.link.attempt, first.link.retry_at) == (S.RECONNECTING, 1, 4.0)
    states = [c.status.state for c in second_heard if isinstance(c, ConnectionChanged)]
    assert states == [S.OPEN, S.STREAMING, S.OPEN, S.RECONNECTING]


def test_a_session_without_a_link_of_its_own_shows_what_it_is_told() -> None:
    replayed = Conversation()
    replayed.add_user_message("hi", 1.0)  # no engine feeds its link: nothing is derived
    assert shown(replayed) is S.CONNECTING
    replayed.set_link(LinkStatus(S.CLOSED))
    assert shown(replayed) is S.CLOSED


def test_a_restarted_conversation_goes_on_with_the_trace_and_counts_of_the_one_it_continues() -> None:
    crashed = Conversation()
    crashed.record(1.0, "in", "TOKEN", "hi", seq=1, stream_id="s1")
    fresh = Conversation()
    fresh.continue_from(crashed)
    fresh.record(2.0, "in", "TOKEN", "!", seq=2, stream_id="s1")
    assert [e.summary for e in fresh.trace] == ["hi", "!"] and fresh.counts.received == 2


def test_a_reply_with_a_tool_call_shows_each_state_once_however_many_tokens_and_blocks_it_has() -> None:
    conversation = Conversation()
    session = conversation.session
    session.feed_link()
    session.handle(LinkEvent.CONNECTED)
    changes = heard(conversation)
    conversation.add_user_message("look it up", 1.0)
    for n in range(3):
        conversation.apply(ev.TextDelta("s1", f"token {n} "), 1.1)
    conversation.apply(ev.ToolCall("s1", "c1", "lookup", {}), 1.2)
    assert shown(conversation) is S.TOOL_CALL_PENDING
    conversation.apply(ev.ToolResult("s1", "c1", {"ok": True}), 1.3)
    for n in range(3):  # a new text block after the card, then more tokens
        conversation.apply(ev.TextDelta("s1", f"after {n} "), 1.4)
    conversation.apply(ev.StreamEnd("s1"), 1.5)
    states = [c.status.state for c in changes if isinstance(c, ConnectionChanged)]
    assert states == [S.STREAMING, S.TOOL_CALL_PENDING, S.STREAMING, S.OPEN]
