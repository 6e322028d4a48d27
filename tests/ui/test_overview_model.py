"""What an overview card says about a session's health, as pure functions."""

from __future__ import annotations

from console.clients import Target
from console.monitor import Health
from console.ui.overview_model import counters, state_label


def health(state: str, attempt: int = 0, detail: str = "") -> Health:
    return Health(
        session_id="s",
        name="s",
        target=Target("agent", "ws://127.0.0.1:9/ws"),
        state=state,
        attempt=attempt,
        detail=detail,
        events=0,
        tokens=0,
        events_per_s=0.0,
        tokens_per_s=0.0,
        since_last_event=None,
        reconnects=0,
        pending_tools=0,
        errors=0,
        interrupted=0,
        crashes=0,
        last_crash="",
        restart_in=None,
        seq=None,
        tail="",
        history=(),
        driver="none",
        recent_error=False,
    )


def test_a_session_that_cannot_connect_says_why_instead_of_no_errors() -> None:
    failing = health("connecting", 43, "cannot connect: [Errno 111] Connect call failed ('127.0.0.1', 9)")
    assert state_label(failing) == "Connecting… attempt 43"
    assert counters(failing) == "43 failed: nothing is listening at that address"
    assert counters(health("open")) == "no errors"


def test_a_finished_conversation_has_the_name_its_page_gives_it() -> None:
    assert state_label(health("closed", detail="conversation complete")) == "Conversation complete"
    assert state_label(health("closed")) == "Closed"
