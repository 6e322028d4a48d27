"""The journal's format version: journals of the versions before are read, one of a newer is refused."""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import fields, is_dataclass
from pathlib import Path

import orjson
import pytest
from lz4 import block as lz4_block
from lz4 import frame as lz4_frame

from console import events as ev
from console.session import Conversation, JournalInput
from console.store.backend import KIND_OTHER, Batch, SessionInfo, StoreError
from console.store.journal import Journal
from console.store.packing import FRAME_FROM, LZ4_FRAME_TAG, LZ4_TAG, checksum, packed
from console.store.records import FORMAT_VERSION, Damaged, decode, encode, event_json
from console.store.restore import replay
from console.store.sqlite import SQLiteBackend


def _talk(conversation: Conversation) -> None:
    conversation.add_user_message("hello?", 1.0)
    conversation.record(1.0, "out", "USER_MESSAGE", "hello?", raw='{"type": "USER_MESSAGE"}')
    for seq, word in enumerate(["Hi", " there"], start=1):
        raw = f'{{"type": "TOKEN", "seq": {seq}, "text": "{word}"}}'
        conversation.record(1.5, "in", "TOKEN", word, seq=seq, raw=raw, stream_id="s1")
        conversation.apply(ev.TextDelta("s1", word), 1.5, seq)
    conversation.apply(ev.StreamEnd("s1"), 2.0, 3)


def _format(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0])


def _set_format(path: Path, version: int) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(version),))


def test_a_version_1_journal_with_its_trace_rows_inline_is_read_and_goes_on_in_the_new_version(
    tmp_path: Path,
) -> None:
    original = Conversation()
    inputs: list[JournalInput] = []
    original.journal = inputs.append
    original.journal_trace = lambda row: inputs.append(("trace", row))  # version 1's trace record
    _talk(original)
    path = tmp_path / "old.sqlite3"
    backend = SQLiteBackend(path)
    data = encode(inputs)
    info = SessionInfo("chat", "chat", "agent", "ws://127.0.0.1:9/ws", False, time.time())
    backend.write(Batch([info], [("chat", 0, KIND_OTHER, checksum(data), data, len(inputs))], at=time.time()))
    backend.close()
    _set_format(path, 1)

    reopened = SQLiteBackend(path)
    again = Conversation()
    found = replay(again, reopened.records("chat"))
    reopened.close()
    assert not found.damage
    assert again.transcript() == original.transcript()
    assert list(again.trace) == list(original.trace)
    assert _format(path) == str(FORMAT_VERSION)  # what is appended from now on is of this version


def test_a_journal_of_a_newer_version_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    SQLiteBackend(path).close()
    _set_format(path, FORMAT_VERSION + 1)
    with pytest.raises(StoreError, match="newer console"):
        SQLiteBackend(path)


def _lz4_block(data: bytes) -> bytes:
    """How versions 4 to 7 stored a chunk worth compressing: one LZ4 block, its size in front."""
    return LZ4_TAG + lz4_block.compress(data, store_size=True)


@pytest.mark.parametrize(
    ("version", "old_packing", "tag"),
    [(3, lambda data: zlib.compress(data, 1), b"x"), (7, _lz4_block, LZ4_TAG)],
)
def test_a_journal_of_compressed_chunks_of_an_older_version_is_read_and_goes_on_in_this_one(
    tmp_path: Path, version: int, old_packing: Callable[[bytes], bytes], tag: bytes
) -> None:
    original = Conversation()
    inputs: list[JournalInput] = []
    original.journal = inputs.append
    _talk(original)
    path = tmp_path / f"v{version}.sqlite3"
    backend = SQLiteBackend(path)
    old = old_packing(encode(inputs))
    info = SessionInfo("a", "a", "agent", "ws://127.0.0.1:9/ws", False, time.time())
    backend.write(Batch([info], [("a", 0, KIND_OTHER, checksum(old), old, len(inputs))], at=time.time()))
    backend.close()
    _set_format(path, version)

    store = SQLiteBackend(path)
    journal = Journal(store)
    again = Conversation()
    found = replay(again, store.records("a"))
    assert not found.damage and again.transcript() == original.transcript()
    journal.attach(info, again, found.last_n + 1, new=False)
    for n in range(100):  # enough to be worth compressing
        again.apply(ev.TextDelta("s2", f"and then {n} "), 3.0, 10 + n)
    journal.close()

    reopened = SQLiteBackend(path)
    stored = list(reopened.records("a"))
    final = Conversation()
    assert not replay(final, stored).damage
    reopened.close()
    assert [r.data[:1] for r in stored] == [tag, LZ4_TAG]  # the old chunk as it was, the new one LZ4
    assert final.transcript() == again.transcript()
    assert _format(path) == str(FORMAT_VERSION)


def _nested(event: object) -> tuple[str, tuple[object, ...]]:
    """An event as versions 2 to 4 wrote it: [type, [fields]]."""
    assert is_dataclass(event)
    return type(event).__name__, tuple(getattr(event, f.name) for f in fields(event))


def _as_events(inputs: list[JournalInput]) -> list[JournalInput]:
    """The inputs as versions up to 5 journaled them: a text delta as an event like the others."""
    return [
        ("event", ev.TextDelta(str(item[1]), str(item[2])), *item[3:]) if item[0] == "text" else item
        for item in inputs
    ]


@pytest.mark.parametrize(
    ("version", "event_shape", "written"),
    [(4, _nested, b'["TextDelta",["s1","Hi"]]'), (5, event_json, b'["TextDelta","s1","Hi"]')],
)
def test_a_journal_of_versions_4_and_5_is_read_and_goes_on_with_text_deltas_flat(
    tmp_path: Path, version: int, event_shape: Callable[[object], object], written: bytes
) -> None:
    original = Conversation()
    inputs: list[JournalInput] = []
    original.journal = inputs.append
    _talk(original)
    original.apply(ev.Heartbeat("ping"), 2.5, 4)  # one field: [type, [field]] in version 4
    path = tmp_path / f"v{version}.sqlite3"
    backend = SQLiteBackend(path)
    old = orjson.dumps(_as_events(inputs), default=event_shape, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    assert written in old and b'"text"' not in old
    info = SessionInfo("a", "a", "agent", "ws://127.0.0.1:9/ws", False, time.time())
    backend.write(Batch([info], [("a", 0, KIND_OTHER, checksum(old), old, len(inputs))], at=time.time()))
    backend.close()
    _set_format(path, version)

    store = SQLiteBackend(path)
    journal = Journal(store)
    again = Conversation()
    found = replay(again, store.records("a"))
    assert not found.damage and again.transcript() == original.transcript()
    journal.attach(info, again, found.last_n + 1, new=False)
    again.add_user_message("and now?", 3.0)
    again.apply(ev.TextDelta("s2", "Flat."), 3.5, 1)
    journal.close()

    reopened = SQLiteBackend(path)
    stored = list(reopened.records("a"))
    final = Conversation()
    assert not replay(final, stored).damage
    reopened.close()
    assert _format(path) == str(FORMAT_VERSION)
    assert b'["text","s2","Flat.",3.5,1]' in stored[-1].data  # a text delta, flat, in the new version
    assert final.transcript() == again.transcript()
    assert [m.text for m in final.messages] == ["hello?", "Hi there", "and now?", "Flat."]


def _flood(blocks: int) -> list[bytes]:
    """Blocks of a round of a flood: more than `FRAME_FROM` bytes in all."""
    return [
        encode([("event", ev.TextDelta("s", f"block {n} word {i} " * 40), 1.0, n) for i in range(40)])
        for n in range(blocks)
    ]


def test_an_lz4_chunk_that_does_not_unpack_is_damage_and_a_huge_claimed_size_allocates_nothing() -> None:
    json = encode([("event", ev.TextDelta("s", "many words " * 200), 1.0, 1)])
    block = packed([json])
    assert block[:1] == LZ4_TAG and decode(block, checksum(block)) == decode(json, None)
    with pytest.raises(Damaged, match="not a chunk"):
        decode(block[:-40] + bytes(40), None)  # what a torn write would leave, had the checksum not caught it
    with pytest.raises(Damaged, match="not a chunk"):
        decode(LZ4_TAG + (1 << 31).to_bytes(4, "little") + block[5:], None)
    frame = packed(_flood(12))
    assert frame[:1] == LZ4_FRAME_TAG
    with pytest.raises(Damaged, match="not a chunk"):
        decode(frame[:-40] + bytes(40), None)
    with pytest.raises(Damaged, match="not a chunk"):
        decode(frame[:-40], None)  # a frame cut short
    huge = lz4_frame.LZ4FrameCompressor().begin(source_size=1 << 40)  # claims a terabyte
    with pytest.raises(Damaged, match="not a chunk: an LZ4 frame of 1,099,511,627,776 bytes"):
        decode(LZ4_FRAME_TAG + huge + frame[len(huge) + 1 :], None)


def test_the_blocks_of_a_flood_compressed_as_one_frame_read_back_as_one_array_in_order() -> None:
    blocks = _flood(12)
    assert sum(map(len, blocks)) > FRAME_FROM
    data = packed(blocks)
    assert data[:1] == LZ4_FRAME_TAG and len(data) < sum(map(len, blocks)) // 4
    assert decode(data, checksum(data)) == [record for block in blocks for record in decode(block, None)]
