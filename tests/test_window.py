"""A session's memory is a window: old context versions and oversized raw frames are let go, with a notice."""

from __future__ import annotations

import tracemalloc

from console import events as ev
from console.autopilot import stream_client
from console.clients import Target
from console.limits import Limits
from console.session import Conversation
from console.window import HISTORY_DROPPED, OVERSIZED_KEPT, OVERSIZED_RAW, TRACE_RAW_CHARS, Window


def _snapshot(conversation: Conversation, context_id: str, n: int, size: int = 10) -> None:
    conversation.apply(ev.ContextSnapshot(context_id, {"n": n, "pad": "x" * size}, size), float(n), n)


def test_each_context_keeps_its_newest_versions_and_says_the_rest_went() -> None:
    conversation = Conversation(limits=Limits(window=Window(context_versions=5)))
    for n in range(12):
        _snapshot(conversation, "ctx", n)
    history = conversation.contexts["ctx"]
    assert [entry.data for entry in history] == [{"n": n, "pad": "x" * 10} for n in range(7, 12)]
    assert [n.text for n in conversation.notices] == [HISTORY_DROPPED]  # once, however many went
    assert conversation.folded.counts["context versions"] == 7


def test_a_sessions_snapshots_stay_within_their_bytes_oldest_first_newest_always_kept() -> None:
    conversation = Conversation(limits=Limits(window=Window(context_versions=100, snapshot_bytes=10_000)))
    for n in range(10):
        _snapshot(conversation, f"ctx-{n % 2}", n, size=3_000)
    kept = [entry for history in conversation.contexts.values() for entry in history]
    assert sum(len(e.encoded) for e in kept) <= 10_000
    assert sorted(e.seq or 0 for e in kept) == [7, 8, 9]  # the newest ones
    _snapshot(conversation, "huge", 10, size=50_000)
    _snapshot(conversation, "huge", 11, size=50_000)
    # Over the budget alone, and kept: the newest and the one before it (its diff needs it).
    assert [e.seq for e in conversation.contexts["huge"]] == [10, 11]
    assert all(not h for cid, h in conversation.contexts.items() if cid != "huge")
    _snapshot(conversation, "huge", 12, size=50_000)
    assert [e.seq for e in conversation.contexts["huge"]] == [11, 12]


def test_the_snapshots_kept_hold_no_more_memory_than_their_bytes() -> None:
    budget = 400_000
    conversation = Conversation(limits=Limits(window=Window(context_versions=1_000, snapshot_bytes=budget)))
    snapshots = [
        ev.ContextSnapshot(f"ctx-{n % 3}", {"n": n, "rows": [f"row {i} of {n}" for i in range(800)]}, 13_000)
        for n in range(200)
    ]
    tracemalloc.start()
    try:
        for n, snapshot in enumerate(snapshots):
            conversation.apply(snapshot, float(n), n)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept = sum(len(e.encoded) for h in conversation.contexts.values() for e in h)
    assert budget - 20_000 < kept <= budget
    # What the window holds is what it counts (a little for the entries and lists around them), not
    # the encoder's buffers: those were 256 KB for each 13 KB snapshot.
    assert held < 1.25 * budget


def test_the_trace_keeps_the_raw_text_of_the_newest_oversized_frames_only() -> None:
    conversation = Conversation()
    big = "y" * (OVERSIZED_RAW + 1)
    for n in range(OVERSIZED_KEPT + 5):
        conversation.record(float(n), "in", "CONTEXT_SNAPSHOT", f"frame {n}", raw=big)
        conversation.record(float(n), "in", "TOKEN", "small", raw="{}")
    rows = list(conversation.trace)
    assert len(rows) == 2 * (OVERSIZED_KEPT + 5)  # every row stays, with what it said
    kept = [row.summary for row in rows if row.raw == big]
    assert kept == [f"frame {n}" for n in range(5, OVERSIZED_KEPT + 5)]
    assert all(row.raw == "{}" for row in rows if row.kind == "TOKEN")
    assert conversation.trace.raw_let_go == 5


def test_an_autopiloted_session_keeps_the_raw_text_of_its_newest_oversized_frame_only() -> None:
    client = stream_client(Target("agent", "ws://127.0.0.1:9/ws"))
    conversation = client.conversation
    big = "y" * (OVERSIZED_RAW + 1)
    for n in range(3):
        conversation.record(float(n), "in", "CONTEXT_SNAPSHOT", f"frame {n}", raw=big)
    assert [row.summary for row in conversation.trace if row.raw == big] == ["frame 2"]
    assert [row.summary for row in conversation.trace] == ["frame 0", "frame 1", "frame 2"]


def test_the_trace_keeps_raw_text_for_its_newest_rows_within_its_budget() -> None:
    conversation = Conversation()
    frame = "z" * 1_000
    rows = 3 * TRACE_RAW_CHARS // len(frame)
    for n in range(rows):
        conversation.record(float(n), "in", "TOKEN", f"t{n}", raw=frame)
    kept = [row for row in conversation.trace if row.raw is not None]
    assert len(conversation.trace) == rows
    assert sum(len(row.raw or "") for row in kept) <= TRACE_RAW_CHARS
    assert kept[-1].summary == f"t{rows - 1}" and len(kept) >= TRACE_RAW_CHARS // len(frame) - 1


def test_the_trace_forgets_the_raw_text_of_rows_it_let_go() -> None:
    conversation = Conversation(trace_limit=100)
    for n in range(1_000):
        conversation.record(float(n), "in", "TOKEN", f"t{n}", raw="{}")
    assert conversation.trace.raw_chars <= 110 * 2  # nothing held for rows no longer there


def test_a_restarted_client_goes_on_within_the_same_snapshot_budget() -> None:
    """A crashed session's new client takes over its contexts: their bytes count from the first
    snapshot on, not from the restart (each restart would otherwise let another budget in)."""
    limits = Limits(window=Window(context_versions=100, snapshot_bytes=10_000))
    conversation = Conversation(limits=limits)
    for n in range(3):
        _snapshot(conversation, "ctx", n, size=3_000)
    for restart in range(3):
        replacement = Conversation(limits=limits)
        replacement.continue_from(conversation)
        conversation = replacement
        _snapshot(conversation, "ctx", 10 + restart, size=3_000)
        kept = conversation.contexts["ctx"]
        assert sum(len(e.encoded) for e in kept) <= 10_000, restart


def test_a_state_patched_by_deltas_keeps_its_newest_versions_too() -> None:
    """A run's state deltas each make a version of the state (AG-UI): the window holds them as it
    holds snapshots."""
    conversation = Conversation(limits=Limits(window=Window(context_versions=5)))
    conversation.apply(ev.ContextSnapshot("state", {"n": 0}, 8), 0.0)
    for n in range(1, 30):
        conversation.apply(
            ev.ContextDelta("state", [{"op": "replace", "path": "/n", "value": n}], 40), float(n)
        )
    assert [entry.data for entry in conversation.contexts["state"]] == [{"n": n} for n in range(25, 30)]
    assert [n.text for n in conversation.notices] == [HISTORY_DROPPED]


def test_past_the_cap_on_contexts_a_patched_context_lets_go_of_its_parsed_state_too() -> None:
    conversation = Conversation(limits=Limits(contexts=10))
    for n in range(1_000):
        cid = f"state-{n}"
        conversation.apply(ev.ContextSnapshot(cid, {"n": 0}, 8), float(n))
        conversation.apply(ev.ContextDelta(cid, [{"op": "replace", "path": "/n", "value": n}], 40), float(n))
    assert list(conversation.contexts) == [f"state-{n}" for n in range(990, 1_000)]
    assert len(conversation._live_states) <= 10
    assert conversation.contexts["state-999"][-1].data == {"n": 999}
