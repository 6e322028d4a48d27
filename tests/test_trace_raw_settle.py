"""A trace being replayed keeps its rows' raw text until the end and then cuts it to the budget at once:
the rows, and what the trace does with the rows that come after, are those of the budget row by row."""

from __future__ import annotations

import random

from console.session_trace import Trace
from console.window import OVERSIZED_KEPT, OVERSIZED_RAW, TRACE_RAW_CHARS


def _fill(trace: Trace, rng: random.Random, rows: int, start: int) -> None:
    # Frames of up to OVERSIZED_RAW count against TRACE_RAW_CHARS; longer ones are counted apart.
    sizes = [None, 10, 30_000, OVERSIZED_RAW, OVERSIZED_RAW + 1]
    for n in range(start, start + rows):
        size = rng.choice(sizes)
        raw = None if size is None else str(n % 10) * size
        trace.add(float(n), "in", "TOKEN", f"row {n}", n, raw, "s", None)


def test_a_replayed_trace_keeps_the_raw_text_the_budget_row_by_row_keeps() -> None:
    deferred = 0  # seeds whose replay held more raw text than the budget until it settled
    for seed in range(20):
        rng_live, rng_replay = random.Random(seed), random.Random(seed)
        live, replayed = Trace(limit=200), Trace(limit=200)
        replayed.defer_raw()
        _fill(live, rng_live, 500, 0)
        _fill(replayed, rng_replay, 500, 0)
        deferred += sum(row.raw is not None for row in replayed) > sum(row.raw is not None for row in live)
        replayed.settle_raw()
        assert list(replayed) == list(live), seed
        assert replayed.raw_chars == live.raw_chars <= TRACE_RAW_CHARS
        # Rows after the replay (none come to a closed one, but the trace is an ordinary one again).
        _fill(live, rng_live, 100, 500)
        _fill(replayed, rng_replay, 100, 500)
        assert list(replayed) == list(live), seed
        assert replayed.raw_chars == live.raw_chars
    assert deferred == 20


def test_a_replay_holds_no_more_oversized_frames_than_the_budget_meanwhile() -> None:
    trace = Trace(limit=1_000)
    trace.defer_raw()
    big = "y" * (OVERSIZED_RAW + 1)
    for n in range(OVERSIZED_KEPT + 3):
        trace.add(float(n), "in", "TOOL_RESULT", f"frame {n}", n, big, None, "call")
    # Before the replay settles: a few huge frames would otherwise hold more than all the rest.
    assert [row.summary for row in trace if row.raw == big] == [
        f"frame {n}" for n in range(3, OVERSIZED_KEPT + 3)
    ]
    trace.settle_raw()
    assert [row.summary for row in trace if row.raw == big] == [
        f"frame {n}" for n in range(3, OVERSIZED_KEPT + 3)
    ]
    assert trace.raw_let_go == 3
