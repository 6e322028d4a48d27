"""The link's state table decides every move; an event it has no move for is an error."""

from __future__ import annotations

import pytest

from console.connection import ConnectionState
from console.link import TABLE, IllegalEvent, Link, LinkEvent, LinkState, displayed, next_state

L, E, S = LinkState, LinkEvent, ConnectionState

MOVES = [
    (L.CONNECTING, E.CONNECTED, L.OPEN),
    (L.CONNECTING, E.RECONNECTED, L.RESUMING),
    (L.CONNECTING, E.LOST, L.CONNECTING),
    (L.CONNECTING, E.CLOSE, L.CLOSED),
    (L.OPEN, E.LOST, L.RECONNECTING),
    (L.OPEN, E.CLOSE, L.CLOSED),
    (L.RECONNECTING, E.CONNECTED, L.OPEN),
    (L.RECONNECTING, E.RECONNECTED, L.RESUMING),
    (L.RECONNECTING, E.LOST, L.RECONNECTING),
    (L.RECONNECTING, E.CLOSE, L.CLOSED),
    (L.RESUMING, E.RESUMED, L.OPEN),
    (L.RESUMING, E.LOST, L.RECONNECTING),
    (L.RESUMING, E.CLOSE, L.CLOSED),
    (L.CLOSED, E.REOPEN, L.CONNECTING),
]


@pytest.mark.parametrize(("state", "event", "after"), MOVES)
def test_every_legal_move(state: LinkState, event: LinkEvent, after: LinkState) -> None:
    assert next_state(state, event) is after


def test_every_other_event_is_illegal_and_changes_nothing() -> None:
    legal = {(state, event) for state, event, _ in MOVES}
    assert set(TABLE) == legal
    for state in LinkState:
        for event in LinkEvent:
            if (state, event) in legal:
                continue
            link = Link()
            link.state = state
            with pytest.raises(IllegalEvent, match=f"'{event}' is not allowed while {state}"):
                link.handle(event)
            assert link.state is state


def test_attempts_count_failures_and_a_connection_starts_them_over() -> None:
    link = Link()
    assert link.lost(10.0, "refused", 0.5) is L.CONNECTING  # before the first connection: attempt n
    assert (link.attempt, link.retry_at, link.detail) == (1, 10.5, "refused")
    link.handle(E.CONNECTED)
    assert (link.state, link.attempt, link.retry_at, link.detail, link.connections) == (
        L.OPEN,
        0,
        None,
        "",
        1,
    )
    assert link.lost(20.0, "reset", 1.0) is L.RECONNECTING
    link.lost(21.0, "refused", 2.0)
    assert (link.attempt, link.retry_at) == (2, 23.0)
    link.handle(E.CLOSE)
    assert link.retry_at is None  # closed: no next attempt


def test_what_a_session_shows_is_the_link_refined_by_its_conversations_while_open() -> None:
    assert displayed(L.OPEN, "idle") is S.OPEN
    assert displayed(L.OPEN, "replying") is S.STREAMING
    assert displayed(L.OPEN, "tool_call_pending") is S.TOOL_CALL_PENDING
    for state in (L.CONNECTING, L.RECONNECTING, L.RESUMING, L.CLOSED):
        assert displayed(state, "replying") is S(state.value)
