"""The journal on SQLite: what goes in replays into the same conversation; damage keeps the good prefix."""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import fields
from pathlib import Path
from typing import get_args

import pytest

from console import events as ev
from console import jsonvalue
from console.clients import Target
from console.dialects.agent.engine import AgentEngine
from console.jsonvalue import JsonValue
from console.session import Conversation, JournalInput
from console.store.backend import KIND_OTHER, Batch, SessionInfo, StoredRecord, StoreError
from console.store.journal import Journal, RetentionPolicy
from console.store.packing import checksum, packed
from console.store.records import EVENT_READERS, Applied, decode, encode
from console.store.restore import replay
from console.store.service import Store
from console.store.sqlite import SQLiteBackend
from console.supervisor import Supervisor
from console.window import HISTORY_KEPT
from tests.helpers import free_port

TARGET = Target("chat", f"ws://127.0.0.1:{free_port()}/ws")  # nobody listens: the session stays offline


def _info(session_id: str = "chat") -> SessionInfo:
    return SessionInfo(session_id, session_id, TARGET.dialect, TARGET.url, False, time.time())


def _converse(conversation: Conversation, replies: int = 3) -> None:
    """A bit of everything the reducer takes in, as an engine would feed it."""
    at = 100.0
    for n in range(replies):
        conversation.add_user_message(f"question {n}", at)
        conversation.record(at, "out", "USER_MESSAGE", f"question {n}", raw='{"type": "USER_MESSAGE"}')
        sid = f"s{n}"
        for i, word in enumerate(["Hello", " there", ", ", "friend"]):
            conversation.record(at, "in", "TOKEN", word, seq=i + 1, stream_id=sid)
            conversation.apply(ev.TextDelta(sid, word), at, i + 1)
        conversation.apply(ev.ToolCall(sid, f"c{n}", "search", {"q": "q3", "n": [1, 2.5, None]}), at, 5)
        conversation.apply(ev.ToolResult(sid, f"c{n}", {"hits": 3}), at, 6)
        conversation.apply(ev.ComponentStart(sid, "k", "contact_badge"), at, 7)
        conversation.apply(ev.ComponentField(sid, "k", "name", "Ada"), at, 8)
        conversation.apply(ev.ComponentEnd(sid, "k"), at, 9)
        conversation.apply(ev.ContextSnapshot("ctx", {"turn": n, "deep": {"x": [n]}}, 40), at, 10)
        conversation.apply(ev.ServerError("E_SLOW", "slow down"), at, 11)
        conversation.apply(ev.ComponentField(sid, "nope", "f", 1), at, 12)  # a notice of the reducer's
        conversation.apply(ev.StreamEnd(sid), at, 13)
        at += 1
    conversation.add_user_message("one more", at)
    conversation.apply(ev.TextDelta("s-last", "half a rep"), at, 1)
    conversation.mark_interrupted("no data for 10 s", at)
    conversation.notice("warning", "restarted after a crash: boom")


def _state(conversation: Conversation) -> tuple[object, ...]:
    return (
        conversation.transcript(),
        [(n.level, n.text) for n in conversation.notices],
        list(conversation.trace),
        [m.note for m in conversation.messages],
    )


def _journal(path: Path, conversation: Conversation) -> Journal:
    journal = Journal(SQLiteBackend(path))
    journal.attach(_info(), conversation)
    journal.start()
    return journal


def test_a_journaled_conversation_replays_into_the_same_conversation(tmp_path: Path) -> None:
    original = Conversation()
    journal = _journal(tmp_path / "j.sqlite3", original)
    _converse(original)
    journal.close()

    backend = SQLiteBackend(tmp_path / "j.sqlite3")
    assert backend.sessions() == [_info()] or [s.id for s in backend.sessions()] == ["chat"]
    again = Conversation()
    found = replay(again, backend.records("chat"))
    assert not found.damage
    assert _state(again) == _state(original)
    assert found.last_seq == 1 and not found.new_epoch  # the last frame applied, after the last prompt
    backend.close()


def _set_aside(directory: Path) -> list[Path]:
    return list(directory.glob("j.sqlite3.damaged-*"))


async def _restore(path: Path) -> tuple[Store, Supervisor]:
    supervisor = Supervisor()
    store = Store.open(str(path))
    await store.restore(supervisor, lambda _target: False)
    return store, supervisor


async def _close(store: Store, supervisor: Supervisor) -> None:
    await supervisor.close()
    store.close()


async def test_a_damaged_record_keeps_the_good_prefix_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    original = Conversation()
    journal = _journal(path, original)
    original.add_user_message("kept", 1.0)
    journal.flush()
    original.add_user_message("lost", 2.0)
    journal.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE journal SET data = X'5b2275736572222c20322e302c20226c6f7374225d' WHERE n = 1")

    store, supervisor = await _restore(path)
    try:
        conversation = supervisor.sessions["chat"].client.conversation
        assert [m.text for m in conversation.messages if m.role == "user"] == ["kept"]
        # A chat reply cannot be resumed: the one awaited is marked interrupted, with Retry.
        assert (conversation.messages[-1].status, conversation.messages[-1].note) == (
            "interrupted",
            "the console restarted during this reply",
        )
        assert any("damaged" in n.text and n.level == "error" for n in conversation.notices)
        assert store.problems
        assert _set_aside(tmp_path)  # the damaged file is kept aside, not lost
    finally:
        await _close(store, supervisor)
    # The new journal holds the good part, and what came after the restart.
    backend = SQLiteBackend(path)
    again = Conversation()
    replay(again, backend.records("chat"))
    assert [m.text for m in again.messages] == ["kept", ""]
    assert [row.kind for row in again.trace][-2:] == ["RESTORED", "CLOSED"]
    backend.close()


async def test_a_journal_cut_short_in_its_last_write_keeps_what_was_committed(tmp_path: Path) -> None:
    """A crash in the middle of a write leaves the write-ahead log ending in half a frame."""
    path = tmp_path / "j.sqlite3"
    original = Conversation()
    journal = _journal(path, original)
    for n in range(30):
        original.add_user_message(f"prompt {n}", float(n))
        journal.flush()  # one commit each
    # The files as a SIGKILL leaves them: the log not checkpointed, and its last frame cut in half.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(path.with_name(path.name + suffix), crashed / f"j.sqlite3{suffix}")
    journal.close()
    wal = crashed / "j.sqlite3-wal"
    with wal.open("r+b") as f:
        f.truncate(f.seek(0, 2) - 1000)

    store, supervisor = await _restore(crashed / "j.sqlite3")
    try:
        assert any("cut short" in p for p in store.problems)
        conversation = supervisor.sessions["chat"].client.conversation
        texts = [m.text for m in conversation.messages if m.role == "user"]
        assert texts == [f"prompt {n}" for n in range(29)]  # all but the write that was cut
        assert any("cut short" in n.text for n in conversation.notices)
    finally:
        await _close(store, supervisor)


async def test_a_journal_file_cut_in_half_is_set_aside_and_the_problem_shown(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    original = Conversation()
    journal = _journal(path, original)
    for n in range(3000):
        original.add_user_message(f"prompt {n} " + "x" * 200, float(n))
        if n % 100 == 99:
            journal.flush()
    journal.close()
    with path.open("r+b") as f:
        f.truncate(f.seek(0, 2) // 2)

    store, supervisor = await _restore(path)
    try:
        assert any("not a readable journal" in p for p in store.problems)
        # What the pages left still reads (SQLite's tree may have lost the pages that lead to the
        # rest): whatever comes back is a prefix, and says the journal was damaged.
        for session_id in supervisor.ids:
            conversation = supervisor.sessions[session_id].client.conversation
            texts = [m.text for m in conversation.messages if m.role == "user"]
            # Past the memory window the oldest prompts left memory: the rest follows in order.
            first = int(texts[0].split()[1]) if texts else 0
            assert first <= conversation.messages_let_go
            assert texts == [f"prompt {n} " + "x" * 200 for n in range(first, first + len(texts))]
            assert any("damaged" in n.text for n in conversation.notices)
    finally:
        await _close(store, supervisor)
    assert _set_aside(tmp_path)
    SQLiteBackend(path).close()  # a fresh journal in its place, usable at once


def test_a_journal_of_a_newer_format_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    SQLiteBackend(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    with pytest.raises(StoreError, match="newer console"):
        SQLiteBackend(path)


def test_removing_a_session_deletes_its_journal_and_old_trace_rows_are_compacted(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    conversation = Conversation()
    journal = Journal(SQLiteBackend(path), retention=RetentionPolicy(trace_keep=10, compact_every=50))
    journal.attach(_info(), conversation)
    other = Conversation()
    journal.attach(_info("other"), other)
    journal.start()
    for n in range(200):
        conversation.record(float(n), "in", "PING", f"row {n}")
        if n % 20 == 19:
            journal.flush()  # a chunk per flush: old ones can go whole
    conversation.add_user_message("stays", 1.0)
    other.add_user_message("goes", 1.0)
    journal.flush()
    journal.remove("other")
    journal.close()

    backend = SQLiteBackend(path)
    assert [s.id for s in backend.sessions()] == ["chat"]
    assert list(backend.records("other")) == []
    again = Conversation()
    replay(again, backend.records("chat"))
    assert [m.text for m in again.messages] == ["stays"]
    rows = [row.summary for row in again.trace]
    assert 10 <= len(rows) < 200 and rows[-1] == "row 199"  # the newest kept, the oldest let go
    assert backend.expire(time.time() + 1) == ["chat"]
    assert backend.sessions() == []
    backend.close()


def test_every_event_type_has_a_journal_reader() -> None:
    """A new event type needs its reader here, or it would be dropped from every journal."""
    assert set(EVENT_READERS) == {cls.__name__ for cls in get_args(ev.Event)}


async def test_what_the_memory_window_let_go_is_read_back_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    original = Conversation()
    journal = _journal(path, original)
    for n in range(60):
        original.apply(ev.ContextSnapshot("ctx", {"version": n}, 20), float(n), n + 1)
    journal.close()
    assert len(original.contexts["ctx"]) == 50  # the default window

    store, supervisor = await _restore(path)
    try:
        live = supervisor.sessions["chat"].client.conversation
        assert len(live.contexts["ctx"]) == 50
        whole = await store.history("chat")
        assert whole is not None
        assert [entry.data for entry in whole.contexts["ctx"]] == [{"version": n} for n in range(60)]
        assert await store.history("nobody") is None
    finally:
        await _close(store, supervisor)


async def test_a_restored_session_keeps_the_message_window_and_the_store_gives_back_every_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    original = Conversation()
    journal = _journal(path, original)
    for n in range(110):  # 220 messages: past the default window of 200
        original.add_user_message(f"question {n}", float(n))
        original.apply(ev.TextDelta(f"s{n}", f"answer {n}"), float(n), 2 * n + 1)
        original.apply(ev.StreamEnd(f"s{n}"), float(n), 2 * n + 2)
    journal.close()
    assert (len(original.messages), original.messages_let_go) == (200, 20)

    store, supervisor = await _restore(path)
    try:
        live = supervisor.sessions["chat"].client.conversation
        assert [m.id for m in live.messages] == [m.id for m in original.messages]
        assert live.messages_let_go == 20
        assert [n.text for n in live.notices] == [HISTORY_KEPT]
        whole = await store.history("chat")
        assert whole is not None and whole.messages_let_go == 0
        assert [m.text for m in whole.messages[:2]] == ["question 0", "answer 0"]
        assert len(whole.messages) == 220
        # What memory let go is what comes before its first message in the store.
        assert whole.messages[live.messages_let_go].id == live.messages[0].id
    finally:
        await _close(store, supervisor)


SAMPLE_FIELDS: dict[str, JsonValue] = {
    "stream_id": "s", "text": "t", "role": "assistant", "call_id": "c", "tool_name": "search",
    "args": {"q": [1, 2.5, None]}, "result": {"hits": 3}, "component_id": "k", "type": "badge",
    "field": "name", "value": ["x", 1], "append": True, "context_id": "ctx", "data": {"d": {"e": 1}},
    "size": 42, "challenge": "p", "code": "E_X", "message": "m", "reason": "r", "excerpt": "e",
    "thread_id": "th", "run_id": "run", "outcome": "interrupt", "detail": "why", "name": "step",
    "finished": True, "delta": '{"a":', "interrupt_id": "i", "prompt": "ok?",
    "patch": [{"op": "add", "path": "/a", "value": 1}], "reasoning_id": "rz", "done": True,
}  # fmt: skip


def test_every_event_type_comes_back_from_the_journal_as_it_went_in() -> None:
    for cls in get_args(ev.Event):
        event = cls(**{f.name: SAMPLE_FIELDS[f.name] for f in fields(cls)})
        (record,) = decode(encode([("event", event, 1.5, 7)]))
        assert record == Applied(event, 1.5, 7), cls.__name__


def test_a_restored_agent_session_resumes_first_and_sends_what_was_queued_after_the_reply() -> None:
    inputs: list[JournalInput] = []
    before = Conversation()
    before.journal = inputs.append
    engine = AgentEngine(before)
    engine.connected(0.0)
    engine.send_user_message("first", 0.0)
    engine.receive('{"type": "TOKEN", "seq": 1, "stream_id": "s1", "text": "Hel"}', 0.1)
    engine.send_user_message("second", 0.2)  # typed while the reply streams: queued
    data = encode(inputs)
    chunk = [StoredRecord(0, 0, checksum(data), data, len(inputs))]

    after = Conversation()
    found = replay(after, chunk)
    restored = AgentEngine(after)
    restored.restored(found.last_seq, found.new_epoch, after.replying, 10.0)
    restored.connected(10.0)
    assert [jsonvalue.loads(f) for f in restored.data_to_send()] == [{"type": "RESUME", "last_seq": 1}]
    restored.receive('{"type": "TOKEN", "seq": 2, "stream_id": "s1", "text": "lo"}', 10.1)
    restored.receive('{"type": "STREAM_END", "seq": 3, "stream_id": "s1"}', 10.2)
    sent = [jsonvalue.loads(f) for f in restored.data_to_send()]
    assert {"type": "USER_MESSAGE", "content": "second"} in sent
    assert [m.text for m in after.messages] == ["first", "Hello", "second"]


def test_a_long_sessions_oldest_context_snapshots_are_compacted_and_its_conversation_kept(
    tmp_path: Path,
) -> None:
    """Snapshots are most of a long session's bytes: past the cap the oldest go, nothing else does."""
    path = tmp_path / "j.sqlite3"
    conversation = Conversation()
    journal = Journal(SQLiteBackend(path), retention=RetentionPolicy(snapshot_bytes=40_000))
    journal.attach(_info(), conversation)
    journal.start()
    rng = random.Random(4)
    for n in range(40):
        sid = f"s{n}"
        conversation.add_user_message(f"question {n}", float(n))
        conversation.apply(ev.TextDelta(sid, f"answer {n}"), float(n), 1)
        # about 22 KB of JSON each, half of it random: about 10 KB stored
        notes: list[JsonValue] = [f"{rng.getrandbits(24):06x}" for _ in range(2500)]
        conversation.apply(ev.ContextSnapshot("ctx", {"version": n, "notes": notes}, 22_500), float(n), 2)
        conversation.apply(ev.StreamEnd(sid), float(n), 3)
        journal.flush()
    journal.close()

    backend = SQLiteBackend(path)
    stored = sum(len(r.data) for r in backend.records("chat"))
    again = Conversation()
    found = replay(again, backend.records("chat"))
    backend.close()
    assert found.damage == ""
    assert [m.text for m in again.messages] == [
        text for n in range(40) for text in (f"question {n}", f"answer {n}")
    ]
    versions = [jsonvalue.loads(entry.encoded) for entry in again.contexts["ctx"]]
    numbers = [v["version"] for v in versions if isinstance(v, dict) and isinstance(v["version"], int)]
    assert numbers[-1] == 39 and 2 <= len(numbers) < 40  # the newest kept, the oldest let go
    assert numbers == sorted(numbers)
    assert stored < 40_000 + 2 * 22_500  # compacted: the cap and a chunk or two over it


def test_a_big_snapshot_chunk_is_stored_compressed_and_reads_back_the_same() -> None:
    snapshot = ev.ContextSnapshot(
        "ctx", {"rows": [{"id": i, "name": "same words again"} for i in range(2000)]}, 1
    )
    items: list[JournalInput] = [("event", snapshot, 1.0, 7)]
    data = packed([encode(items)])
    assert not data.startswith(b"[") and len(data) < len(jsonvalue.dumps_bytes(snapshot.data)) // 4
    assert decode(data, checksum(data)) == [Applied(snapshot, 1.0, 7)]
    small = packed([encode([("event", ev.TextDelta("s", "hi"), 1.0, 1)])])
    assert small.startswith(b"[")  # small chunks are not worth compressing
    with pytest.raises(Exception, match="not a chunk"):
        decode(b"\x78garbage", None)


def test_a_session_written_every_round_is_kept_as_recent_and_its_time_written_once_a_minute(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    SQLiteBackend(path).close()
    with closing(sqlite3.connect(path)) as db, db:  # as an earlier console left it: two indexes
        db.execute("CREATE INDEX journal_kinds ON journal (session, kind, n)")
    backend = SQLiteBackend(path)
    info = SessionInfo("chat", "chat", "agent", "ws://127.0.0.1:9/ws", False, 1000.0)

    def written(at: float, n: int) -> float:
        data = b'[["reset"]]'
        backend.write(
            Batch([info] if n == 0 else [], [("chat", n, KIND_OTHER, checksum(data), data, 1)], at=at)
        )
        with closing(sqlite3.connect(path)) as db:
            return float(db.execute("SELECT updated FROM sessions WHERE id = 'chat'").fetchone()[0])

    assert [written(1000.0 + 0.05 * n, n) for n in range(3)] == [1000.0] * 3  # not rewritten each round
    assert written(1059.0, 3) == 1000.0
    assert written(1061.0, 4) == 1061.0  # a minute on: written
    assert backend.expire(1030.0) == []  # in use: kept
    assert backend.expire(1062.0) == ["chat"]  # unused since: let go
    with closing(sqlite3.connect(path)) as db:
        indexes = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert "journal_kinds" not in indexes and "journal_order" in indexes
    backend.close()
