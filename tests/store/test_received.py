"""Every received agent frame goes to the journal once, as it came: its row and its event come back."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import orjson

from console.dialects.agent import protocol as proto
from console.dialects.agent.engine import AgentEngine
from console.session import Conversation, TraceEntry
from console.session_blocks import ToolBlock
from console.store.backend import KIND_OTHER, KIND_TRACE, SessionInfo
from console.store.history import context_versions, messages_before, trace_before
from console.store.journal import Journal
from console.store.packing import unpacked
from console.store.records import FORMAT_VERSION, Received, decode
from console.store.restore import replay
from console.store.sqlite import SQLiteBackend, SQLiteReader
from tests.store.test_tokens import _chunk, _journaled, _replayed, _rows

INFO = SessionInfo("agent", "agent", "agent", "ws://127.0.0.1:9/ws", False, 0.0)


def _stored_json(path: Path) -> bytes:
    backend = SQLiteBackend(path)
    json = b"".join(unpacked(r.data) for r in backend.records("agent"))
    backend.close()
    return json


def _entries(path: Path) -> list[Received]:
    backend = SQLiteBackend(path)
    found = [
        item
        for r in backend.records("agent")
        if r.kind == KIND_OTHER
        for item in decode(r.data, r.crc)
        if isinstance(item, Received)
    ]
    backend.close()
    return found


def _restored(path: Path) -> Conversation:
    backend = SQLiteBackend(path)
    restored = Conversation()
    found = replay(restored, backend.records("agent"))
    backend.close()
    assert not found.damage
    return restored


def test_tool_calls_results_snapshots_and_ends_are_journaled_once_and_come_back_as_they_were(
    tmp_path: Path,
) -> None:
    """The recorded session's replies with chaos's duplicates and swaps: a frame held behind a gap or
    dropped as a duplicate keeps its row, and nothing is journaled twice."""
    live = _journaled(tmp_path / "j.sqlite3", 6)
    restored = _restored(tmp_path / "j.sqlite3")
    assert restored.transcript() == live.transcript()
    assert _rows(restored) == _rows(live)
    assert restored.contexts.keys() == live.contexts.keys()
    for context_id, versions in live.contexts.items():
        assert [(v.seq, v.data) for v in restored.contexts[context_id]] == [(v.seq, v.data) for v in versions]
    json = _stored_json(tmp_path / "j.sqlite3")
    frames = [e.raw for e in live.trace if e.kind in ("TOOL_CALL", "TOOL_RESULT", "CONTEXT_SNAPSHOT")]
    # Each once per time it came (a duplicate has a row of its own).
    assert len(frames) > 20 and all(
        raw and json.count(orjson.dumps(raw)) == frames.count(raw) for raw in frames
    )
    # An event goes to the journal with its fields only for a frame not applied as it came (held).
    entries = _entries(tmp_path / "j.sqlite3")
    assert {e.tag for e in entries} == {"token", "frame", "context", "seen"}
    held_calls = sum(e.tag == "seen" and '"TOOL_CALL"' in e.raw for e in entries)
    assert json.count(b'"ToolCall"') <= held_calls < sum('"TOOL_CALL"' in raw for raw in frames if raw) / 2


def test_older_rows_of_frames_journaled_as_they_came_are_read_back_from_them(tmp_path: Path) -> None:
    rows = _rows(_journaled(tmp_path / "j.sqlite3", 5))
    reader = SQLiteReader(tmp_path / "j.sqlite3")
    page = trace_before(reader, "agent", len(rows), 120)
    reader.close()
    assert [_entry(e) for e in page.entries] == rows[-120:]
    assert {e.kind for e in page.entries} >= {"TOOL_CALL", "TOOL_RESULT", "CONTEXT_SNAPSHOT", "HELD"}


def _entry(e: TraceEntry) -> tuple[object, ...]:
    return (e.index, e.at, e.direction, e.kind, e.summary, e.seq, e.raw, e.stream_id)


def test_context_versions_and_earlier_messages_read_back_from_frames_journaled_as_they_came(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    live = Conversation()
    journal = Journal(SQLiteBackend(path))
    journal.attach(INFO, live)
    journal.start()
    engine = AgentEngine(live)
    engine.connected(time.time())
    for turn in range(6):
        engine.send_user_message(f"question {turn}", time.time())
        frames = [
            proto.context_snapshot("plan", {"step": turn}),
            proto.token(f"r{turn}", f"answer {turn}"),
            proto.stream_end(f"r{turn}"),
        ]
        for seq, frame in enumerate(frames, 1):
            engine.receive(frame.numbered(seq), time.time())
        engine.data_to_send()
    journal.close()
    reader = SQLiteReader(path)
    versions = context_versions(reader, "agent", "plan", frozenset({0, 5}))
    earlier = messages_before(reader, "agent", 10, 4)
    reader.close()
    assert len(versions.keys) == 6 and not versions.damage
    assert versions.entries[0].data == {"step": 0} and versions.entries[5].data == {"step": 5}
    assert [m.text for m in earlier.messages] == [m.text for m in live.messages[6:10]]
    assert [m.id for m in earlier.messages] == [m.id for m in live.messages[6:10]]


def test_a_frame_record_that_is_not_what_its_tag_says_is_damage_and_what_came_before_it_is_kept(
    tmp_path: Path,
) -> None:
    start = _chunk(KIND_OTHER, [["event", ["MessageStart", "s1", "assistant"], 1.0, None]])
    places = _chunk(KIND_TRACE, [0, 1])
    call = proto.tool_call("s1", "c1", "search", {"q": "x"}).numbered(1)
    restored, found = _replayed(
        tmp_path / "a.sqlite3",
        [start, places, _chunk(KIND_OTHER, [["frame", 0, 1.0, call], ["context", 1, 1.0, call]])],
    )
    assert "context row 1 is not a CONTEXT_SNAPSHOT frame" in found.damage
    calls = [b.tool_name for m in restored.messages for b in m.blocks if isinstance(b, ToolBlock)]
    assert calls == ["search"]
    restored, found = _replayed(
        tmp_path / "b.sqlite3", [start, places, _chunk(KIND_OTHER, [["seen", 0, 1.0, '{"type": "TOK']])]
    )
    assert "seen row 0 is not a decodable agent frame" in found.damage


def test_a_version_8_journal_with_rows_and_events_apart_is_read_and_goes_on_with_frames_as_they_came(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v8.sqlite3"
    call = proto.tool_call("s1", "c1", "search", {"q": "x"}).numbered(1)
    _replayed(
        path,
        [
            _chunk(KIND_TRACE, [[0, 1.0, "in", "TOOL_CALL", "search", 1, call, "s1", "c1"]]),
            _chunk(
                KIND_OTHER,
                [
                    ["event", ["ToolCall", "s1", "c1", "search", {"q": "x"}], 1.0, 1],
                    ["event", ["StreamEnd", "s1"], 1.0, 2],
                ],
            ),
        ],
    )
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '8' WHERE key = 'format'")

    store = SQLiteBackend(path)
    live = Conversation()
    found = replay(live, store.records("agent"))
    journal = Journal(store)
    journal.attach(INFO, live, found.last_n + 1, new=False)
    journal.start()
    engine = AgentEngine(live)
    engine.connected(2.0)
    engine.send_user_message("more", 2.0)
    for seq, frame in enumerate([proto.tool_call("s2", "c2", "fetch", {"u": 1}), proto.stream_end("s2")], 1):
        engine.receive(frame.numbered(seq), 3.0)
    journal.close()

    restored = _restored(path)
    assert not found.damage and restored.transcript() == live.transcript()
    assert _rows(restored) == _rows(live)
    assert {e.tag for e in _entries(path)} == {"frame"}  # what went on, as it came
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (str(FORMAT_VERSION),)
