"""Inputs encoded in blocks where they arrive: nothing lost, nothing twice, in order, whatever the writer does."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

from console import events as ev
from console.jsonvalue import JsonObject, JsonValue
from console.session import Conversation, JournalInput
from console.store.backend import KIND_OTHER, KIND_SNAPSHOT, SessionInfo
from console.store.blocks import SEAL_FROM, SNAPSHOT_APART, Blocks, Sealer, encode_inputs, joined
from console.store.journal import Journal
from console.store.packing import packed
from console.store.records import Applied, Traced, decode
from console.store.restore import replay
from console.store.sqlite import SQLiteBackend
from console.window import OVERSIZED_RAW, is_lean, lean_raw, raw_length

BLOCK = 256  # inputs in a block, as a collection might seal them
URL = "ws://127.0.0.1:9/ws"  # the discard port: nothing is ever connected


def _big_snapshot(n: int) -> ev.ContextSnapshot:
    rows: list[JsonValue] = [f"row {i} of a context large enough for a chunk of its own" for i in range(400)]
    data: JsonObject = {"n": n, "rows": rows}
    return ev.ContextSnapshot("ctx", data, SNAPSHOT_APART + n)


def _stream(conversation: Conversation, journal: Journal, frames: int) -> None:
    """Frames as an engine feeds them: a trace row, then its event; the writer runs meanwhile."""
    for n in range(frames):
        at, seq, sid = 100.0 + n / 1000, n + 1, f"s{n // 500}"
        if n % 500 == 0:
            conversation.add_user_message(f"question {n // 500}", at)
        raw = f'{{"type": "TOKEN", "seq": {seq}, "text": "w{n} "}}'
        conversation.record(at, "in", "TOKEN", f"w{n} ", seq=seq, raw=raw, stream_id=sid)
        conversation.apply(ev.TextDelta(sid, f"w{n} "), at, seq)
        if n % 700 == 350:
            conversation.apply(_big_snapshot(n), at, seq)
        if n % 500 == 499:
            conversation.apply(ev.StreamEnd(sid), at, seq)
        if n == frames // 2:
            assert journal.flush()  # a round in the middle of a block


def test_a_session_journaled_while_the_writer_runs_replays_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(SQLiteBackend(path), flush_interval=0.001)  # rounds as often as it can
    original = Conversation()
    journal.attach(SessionInfo("a", "a", "agent", URL, False, time.time()), original)
    journal.start()
    _stream(original, journal, 3_000)
    journal.close()

    backend = SQLiteBackend(path)
    stored = list(backend.records("a"))
    again = Conversation()
    found = replay(again, stored)
    backend.close()
    assert not found.damage
    assert again.transcript() == original.transcript()
    assert list(again.trace) == list(original.trace)
    assert [c.data for c in again.contexts["ctx"]] == [c.data for c in original.contexts["ctx"]]
    assert sum(r.kind == KIND_SNAPSHOT for r in stored) == len(range(350, 3_000, 700))


def test_a_large_snapshot_gets_a_chunk_of_its_own_where_it_stands_and_small_ones_stay() -> None:
    small = ev.ContextSnapshot("ctx", {"small": True}, 20)
    items: list[JournalInput] = [
        ("event", ev.TextDelta("s", "a"), 1.0, 1),
        ("event", small, 1.0, 2),
        ("event", _big_snapshot(1), 1.0, 3),
        ("event", ev.TextDelta("s", "b"), 1.0, 4),
        ("user", "next", 2.0, False),
    ]
    chunks = encode_inputs(items)
    assert [(kind, count) for kind, _, count in chunks] == [
        (KIND_OTHER, 2),
        (KIND_SNAPSHOT, 1),
        (KIND_OTHER, 2),
    ]
    decoded = [record for _, data, _ in chunks for record in decode(data)]
    assert [r.seq for r in decoded if isinstance(r, Applied)] == [1, 2, 3, 4]


def test_blocks_of_a_round_are_joined_into_one_chunk_but_a_snapshot_never_is() -> None:
    events = [ev.TextDelta("s", f"{n} ") for n in range(BLOCK * 2)]
    deltas: list[JournalInput] = [("event", event, 1.0, n) for n, event in enumerate(events)]
    blocks = [*encode_inputs(deltas[:BLOCK]), *encode_inputs(deltas[BLOCK:])]
    blocks += encode_inputs([("event", _big_snapshot(1), 1.0, 0), ("event", _big_snapshot(2), 1.0, 0)])
    chunks = joined(blocks)
    assert [(kind, count) for kind, _, count in chunks] == [
        (KIND_OTHER, BLOCK * 2),
        (KIND_SNAPSHOT, 1),
        (KIND_SNAPSHOT, 1),
    ]
    assert decode(packed(chunks[0][1])) == [Applied(event, 1.0, n) for n, event in enumerate(events)]


def test_an_input_no_encoder_takes_is_left_out_and_the_rest_of_its_block_kept() -> None:
    unwritable = ev.ToolResult(
        "s", "c1", {"value": 2**70}
    )  # past 64 bits: JSON as orjson writes it has no room
    items: list[JournalInput] = [
        ("event", ev.TextDelta("s", "kept"), 1.0, 1),
        ("event", unwritable, 1.0, 2),
        ("event", ev.TextDelta("s", "kept too"), 1.0, 3),
    ]
    [(kind, data, count)] = joined(encode_inputs(items))
    assert kind == KIND_OTHER and count == 2
    assert [r.seq for r in decode(packed(data)) if isinstance(r, Applied)] == [1, 3]
    assert joined(encode_inputs([("event", unwritable, 1.0, 2)])) == []  # nothing left: no chunk


def test_a_collection_encodes_what_arrived_so_no_input_is_held_through_it() -> None:
    blocks, few = Blocks(), Blocks()
    sealer = Sealer()
    sealer.blocks = (blocks, few)
    sealer.start()
    count = SEAL_FROM // 2
    try:
        for n in range(count):
            blocks.add_input(("event", ev.TextDelta("s", f"{n} "), 1.0, n))
            blocks.add_row((n, 1.0, "in", "TOKEN", f"{n} ", n, None, "s", None))
        few.add_input(("event", ev.TextDelta("s", "alone"), 1.0, 1))
        gc.collect()
        assert not blocks._inputs and not blocks._rows  # encoded: the inputs themselves are gone
        assert len(few._inputs) == 1  # too few for a block of its own: the writer's round takes it
    finally:
        sealer.stop()
    inputs, rows = blocks.take()
    assert [c for _, _, c in inputs] == [count] and [c for _, _, c in rows] == [count]
    assert [r.seq for r in decode(inputs[0][1]) if isinstance(r, Applied)] == list(range(count))
    assert decode(few.take()[0][0][1]) == [Applied(ev.TextDelta("s", "alone"), 1.0, 1)]


def test_a_collection_never_waits_for_the_writer_and_the_writer_gets_what_it_passed_over() -> None:
    blocks = Blocks()
    sealer = Sealer()
    sealer.blocks = (blocks,)
    sealer.start()
    for n in range(SEAL_FROM):
        blocks.add_input(("event", ev.TextDelta("s", "late"), 1.0, n))
    held = threading.Event()
    release = threading.Event()

    def writer_sealing() -> None:
        with blocks._lock:  # as `take` holds it while it encodes
            held.set()
            release.wait(5)

    thread = threading.Thread(target=writer_sealing)
    thread.start()
    try:
        assert held.wait(5)
        started = time.monotonic()
        gc.collect()
        assert (
            time.monotonic() - started < 1 and len(blocks._inputs) == SEAL_FROM
        )  # passed over, not waited for
    finally:
        release.set()
        thread.join()
        sealer.stop()
    [(_, data, _)] = blocks.take()[0]
    assert decode(data) == [Applied(ev.TextDelta("s", "late"), 1.0, n) for n in range(SEAL_FROM)]


def test_an_oversized_frame_goes_to_the_journal_cut_short_and_the_rows_around_it_whole() -> None:
    conversation = Conversation()
    blocks = Blocks()
    conversation.journal_trace = blocks.add_row
    big = '{"type": "CONTEXT_SNAPSHOT", "data": "' + "y" * OVERSIZED_RAW + '"}'
    near = '{"type": "TOKEN", "text": "' + "z" * (OVERSIZED_RAW - 100) + '"}'  # large, not oversized
    conversation.record(1.0, "in", "TOKEN", "z", seq=1, raw=near, stream_id="s")
    conversation.record(2.0, "in", "CONTEXT_SNAPSHOT", "ctx", seq=2, raw=big)
    conversation.record(3.0, "in", "TOKEN", "a", seq=3, raw='{"text": "a"}', stream_id="s")
    _, [(_, data, count)] = blocks.take()
    traced = [record for record in decode(data) if isinstance(record, Traced)]
    assert count == 3 and [t.raw for t in traced] == [near, lean_raw(big), '{"text": "a"}']
    assert is_lean(traced[1].raw) and raw_length(traced[1].raw or "") == len(big)
    assert [row.raw for row in conversation.trace] == [near, big, '{"text": "a"}']  # memory keeps it whole
