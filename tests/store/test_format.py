"""The journal's format version: a journal of the version before is read, one of a newer is refused."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from console import events as ev
from console.session import Conversation, JournalInput
from console.store.backend import KIND_OTHER, Batch, SessionInfo, StoreError
from console.store.records import FORMAT_VERSION, checksum, encode
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
