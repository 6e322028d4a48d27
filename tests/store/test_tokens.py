"""A reply's tokens journaled once, as the frames they came in: the text and the trace rows come back."""

from __future__ import annotations

import random
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from console import events as ev
from console.dialects.agent import protocol as proto
from console.dialects.agent.engine import AgentEngine
from console.limits import Limits
from console.session import Conversation, JournalInput, TraceEntry
from console.store.backend import KIND_OTHER, KIND_TRACE, Backend, Batch, SessionInfo, StoredRecord
from console.store.history import trace_before
from console.store.journal import Journal
from console.store.packing import LZ4_FRAME_TAG, checksum, packed, unpacked
from console.store.records import FORMAT_VERSION, encode, encode_trace
from console.store.redis_streams import RedisBackend, RedisReader
from console.store.restore import Resumption, replay
from console.store.sqlite import SQLiteBackend, SQLiteReader
from console.window import Window
from tests.bench.journal import script
from tests.bench.pipeline import chaos, responses, small

INFO = SessionInfo("agent", "agent", "agent", "ws://127.0.0.1:9/ws", False, 0.0)


def _journaled(to: Path | Backend, replies: int, live: Conversation | None = None) -> Conversation:
    """The recorded agent session's first replies through the agent engine, with chaos's duplicates and
    swaps, journaled (a flush after each reply); the live conversation."""
    live = live or Conversation()
    journal = Journal(SQLiteBackend(to) if isinstance(to, Path) else to)
    journal.attach(INFO, live)
    journal.start()
    engine = AgentEngine(live)
    engine.connected(time.time())
    rng = random.Random(7)
    for reply in responses()[:replies]:
        engine.send_user_message("go on", time.time())
        engine.data_to_send()
        for raw in chaos([small(f) for f in reply], rng):
            engine.receive(raw, time.time())
        engine.data_to_send()
        journal.flush()
    journal.close()
    return live


def _restored(path: Path, restored: Conversation | None = None) -> tuple[Conversation, list[StoredRecord]]:
    backend = SQLiteBackend(path)
    stored = list(backend.records("agent"))
    restored = restored or Conversation()
    found = replay(restored, stored)
    backend.close()
    assert not found.damage
    return restored, stored


def _entry(e: TraceEntry) -> tuple[object, ...]:
    return (e.index, e.at, e.direction, e.kind, e.summary, e.seq, e.raw, e.stream_id)


def _rows(conversation: Conversation) -> list[tuple[object, ...]]:
    return [_entry(e) for e in conversation.trace]


def test_a_token_goes_to_the_journal_once_and_its_text_and_row_come_back(tmp_path: Path) -> None:
    live = _journaled(tmp_path / "j.sqlite3", 3)
    restored, stored = _restored(tmp_path / "j.sqlite3")
    assert restored.transcript() == live.transcript()
    assert _rows(restored) == _rows(live)  # every row, numbered and in the order the trace had them
    # Each token streamed on the hot path is in the journal once: its frame, among the inputs.
    json = b"".join(unpacked(r.data) for r in stored)
    token = next(
        e for e in live.trace if e.kind == "TOKEN" and e.raw is not None and e.raw.count("TOKEN") == 1
    )
    assert token.raw is not None and json.count(orjson.dumps(token.raw)) == 1
    places = [item for r in stored if r.kind == KIND_TRACE for item in orjson.loads(unpacked(r.data))]
    tokens = sum(e.kind == "TOKEN" for e in live.trace)
    assert sum(type(item) is int for item in places) > tokens / 2  # most: held ones go the general way


@pytest.mark.parametrize("where", ["sqlite", "redis"])
def test_older_trace_rows_read_back_rebuild_tokens_from_their_frames(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reader: SQLiteReader | RedisReader
    if where == "sqlite":
        rows = _rows(_journaled(tmp_path / "j.sqlite3", 4))
        reader = SQLiteReader(tmp_path / "j.sqlite3")
    else:
        url: str = request.getfixturevalue("redis_url")
        rows = _rows(_journaled(RedisBackend(url), 4))
        reader = RedisReader(url)
    page = trace_before(reader, "agent", len(rows), 80)
    deep = trace_before(reader, "agent", 90, 60)
    reader.close()
    assert [_entry(e) for e in page.entries] == rows[-80:]
    assert [_entry(e) for e in deep.entries] == rows[30:90] and deep.more


def _chunk(kind: int, items: list[object]) -> tuple[int, bytes]:
    return kind, packed([orjson.dumps(items)])


START: tuple[int, bytes] = _chunk(KIND_OTHER, [["event", ["MessageStart", "s1", "assistant"], 1.0, None]])


def _replayed(path: Path, chunks: list[tuple[int, bytes]]) -> tuple[Conversation, Resumption]:
    """A journal of these chunks, as a console wrote it, replayed."""
    backend = SQLiteBackend(path)
    records = [("agent", n, kind, checksum(data), data, 1) for n, (kind, data) in enumerate(chunks)]
    backend.write(Batch([INFO], records, at=1.0))
    restored = Conversation()
    found = replay(restored, backend.records("agent"))
    backend.close()
    return restored, found


def _row(index: int, kind: str, summary: str) -> list[object]:
    return [index, 1.0, "client", kind, summary, None, None, None, None]


def test_a_row_waits_for_the_frame_before_it_and_a_frame_never_committed_is_passed_over(
    tmp_path: Path,
) -> None:
    """A token's place and its frame may fall in two rounds (the writer sealed between them); if the
    console stopped after the first, the rows after the place are kept and keep their numbers."""
    restored, found = _replayed(
        tmp_path / "j.sqlite3",
        [
            START,
            _chunk(KIND_TRACE, [_row(0, "CONNECTED", "up"), 1, _row(2, "PING", "p"), 3]),
            _chunk(KIND_OTHER, [["token", 1, 1.0, proto.token("s1", "Hel").numbered(1)]]),
            _chunk(KIND_TRACE, [_row(4, "PONG", "q"), 5, _row(6, "PING", "never lost")]),
            _chunk(KIND_OTHER, [["token", 3, 1.0, proto.token("s1", "lo").numbered(2)]]),
            # The console stopped here: the frame of place 5 was never committed.
        ],
    )
    assert not found.damage and found.last_seq == 2
    assert restored.messages[-1].text == "Hello"
    assert [(e.index, e.kind, e.summary) for e in restored.trace] == [
        (0, "CONNECTED", "up"),
        (1, "TOKEN", "Hel"),
        (2, "PING", "p"),
        (3, "TOKEN", "lo"),
        (4, "PONG", "q"),
        (6, "PING", "never lost"),
    ]


def test_a_frame_whose_place_was_compacted_away_gives_its_text_and_no_row(tmp_path: Path) -> None:
    restored, found = _replayed(
        tmp_path / "j.sqlite3",
        [
            START,
            # The trace chunk of this round was let go (`trace_keep`): only the frames are left.
            _chunk(
                KIND_OTHER,
                [
                    ["token", 40, 1.0, proto.token("s1", "Hel").numbered(1)],
                    ["token", 41, 1.0, proto.token("s1", "lo").numbered(2)],
                ],
            ),
            _chunk(KIND_TRACE, [42, _row(43, "PING", "p")]),
            _chunk(KIND_OTHER, [["token", 42, 1.0, proto.token("s1", "!").numbered(3)]]),
        ],
    )
    assert not found.damage and restored.messages[-1].text == "Hello!"
    assert [(e.index, e.summary) for e in restored.trace] == [(42, "!"), (43, "p")]


def test_a_token_record_that_is_not_a_token_frame_is_damage_and_what_came_before_it_is_kept(
    tmp_path: Path,
) -> None:
    restored, found = _replayed(
        tmp_path / "j.sqlite3",
        [
            START,
            _chunk(KIND_OTHER, [["token", 0, 1.0, proto.token("s1", "Hel").numbered(1)]]),
            _chunk(KIND_OTHER, [["token", 1, 1.0, proto.ping("x").numbered(2)]]),
        ],
    )
    assert "token row 1 is not a TOKEN frame" in found.damage
    assert restored.messages[-1].text == "Hel"


def test_a_small_trace_window_restores_the_newest_rows_numbered_as_journaled(tmp_path: Path) -> None:
    def windowed() -> Conversation:
        return Conversation(limits=Limits(window=Window(trace_rows=50)))

    live = _journaled(tmp_path / "j.sqlite3", 2, windowed())
    restored, _ = _restored(tmp_path / "j.sqlite3", windowed())
    assert _rows(restored)[-40:] == _rows(live)[-40:]


def test_a_version_6_journal_is_read_and_goes_on_with_tokens_as_frames(tmp_path: Path) -> None:
    """Version 6 journaled a token's text and its whole row, a round's inputs before its rows."""
    path = tmp_path / "j.sqlite3"
    old = Conversation()
    inputs: list[JournalInput] = []
    rows: list[tuple[object, ...] | int] = []
    old.journal = inputs.append
    old.journal_trace = rows.append
    old.add_user_message("hello?", 1.0)
    for seq, word in enumerate(["Hi", " there"], start=1):
        old.record(
            1.5, "in", "TOKEN", word, seq=seq, raw=proto.token("s1", word).numbered(seq), stream_id="s1"
        )
        old.apply(ev.TextDelta("s1", word), 1.5, seq)
    old.apply(ev.StreamEnd("s1"), 2.0, 3)
    again, found = _replayed(path, [(KIND_OTHER, encode(inputs)), (KIND_TRACE, encode_trace(rows))])
    assert not found.damage and again.transcript() == old.transcript()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '6' WHERE key = 'format'")

    journal = Journal(SQLiteBackend(path))
    journal.attach(INFO, again, found.last_n + 1, new=False)
    journal.start()
    engine = AgentEngine(again)
    engine.connected(3.0)
    engine.send_user_message("and now?", 3.0)
    for seq, word in enumerate(["As", " frames", "."], start=1):
        engine.receive(proto.token("s2", word).numbered(seq), 3.5)
    journal.close()

    final, stored = _restored(path)
    assert any(b'["token",' in unpacked(r.data) for r in stored)  # the new tokens went as frames
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == str(FORMAT_VERSION)
    assert [m.text for m in final.messages] == ["hello?", "Hi there", "and now?", "As frames."]
    assert _rows(final) == _rows(again)


def test_a_flood_committed_in_one_round_goes_as_lz4_frames_and_comes_back_the_same(tmp_path: Path) -> None:
    live = Conversation()
    journal = Journal(SQLiteBackend(tmp_path / "j.sqlite3"))
    journal.attach(INFO, live)
    journal.start(writer=False)  # everything in the round `close` commits: megabytes of it
    engine = AgentEngine(live)
    engine.connected(time.time())
    for reply in script(rounds=10):
        engine.send_user_message("go on", time.time())
        engine.data_to_send()
        for raw in reply:
            engine.receive(raw, time.time())
        engine.data_to_send()
    journal.close()
    restored, stored = _restored(tmp_path / "j.sqlite3")
    assert LZ4_FRAME_TAG in {r.data[:1] for r in stored}
    assert restored.transcript() == live.transcript() and len(live.messages) == 140
    assert _rows(restored) == _rows(live)
