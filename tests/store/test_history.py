"""Reading history back from a journal, page by page, on real SQLite and a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import events as ev
from console.jsonvalue import JsonValue
from console.limits import Limits
from console.session import Conversation, JournalInput
from console.store.backend import (
    KIND_MARK,
    KIND_OTHER,
    KIND_SNAPSHOT,
    KIND_TRACE,
    Batch,
    Page,
    SessionInfo,
    StoredRecord,
)
from console.store.history import Reader, context_versions, messages_before, trace_before
from console.store.journal import Journal, RetentionPolicy
from console.store.packing import checksum
from console.store.records import decode, encode
from console.store.redis_streams import RedisBackend, RedisReader
from console.store.restore import replay
from console.store.sqlite import SQLiteBackend, SQLiteReader
from console.window import Window

ALL = frozenset({KIND_OTHER, KIND_TRACE, KIND_SNAPSHOT, KIND_MARK})


def _info(session_id: str) -> SessionInfo:
    return SessionInfo(session_id, session_id, "agent", "ws://127.0.0.1:1/ws", False, time.time())


def _journal_a_session(journal: Journal) -> Conversation:
    """Twelve prompts and replies, a context with 30 versions (snapshots and deltas), 600 trace rows;
    a chunk per flush, so that pages span many chunks."""
    conversation = Conversation(limits=Limits(window=Window(context_versions=10)))
    journal.attach(_info("s"), conversation)
    journal.start()
    at = 0.0
    for turn in range(12):
        conversation.add_user_message(f"question {turn}", at)
        for n in range(50):
            at += 0.01
            conversation.record(at, "in", "TOKEN", f"w{turn}.{n}", seq=n + 1, stream_id=f"r{turn}")
            conversation.apply(ev.TextDelta(f"r{turn}", f"w{n} "), at, n + 1)
        conversation.apply(ev.StreamEnd(f"r{turn}"), at, 51)
        for version in range(turn * 3, turn * 3 + 3)[: 30 - turn * 3]:
            if version % 3 == 2:
                patch: JsonValue = [{"op": "replace", "path": "/step", "value": version}]
                conversation.apply(ev.ContextDelta("plan", patch, 40), at, 52)
            else:
                conversation.apply(
                    ev.ContextSnapshot("plan", {"step": version, "pad": "x" * 20_000}, 20_000), at, 52
                )
            at += 0.01
        journal.flush()
    journal.close()
    return conversation


@pytest.fixture(params=["sqlite", "redis", "redis-follower"])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Reader, Conversation]]:
    if request.param == "sqlite":
        path = tmp_path / "journal.db"
        conversation = _journal_a_session(Journal(SQLiteBackend(path), retention=RetentionPolicy()))
        reader = SQLiteReader(path)
        yield reader, conversation
        reader.close()
    else:
        url: str = request.getfixturevalue("redis_url")
        conversation = _journal_a_session(Journal(RedisBackend(url), retention=RetentionPolicy()))
        # The owner's backend, or a follower's reader (which holds no lease and writes nothing).
        redis_reader = RedisBackend(url) if request.param == "redis" else RedisReader(url)
        yield redis_reader, conversation
        redis_reader.close()


def test_pages_walk_a_sessions_chunks_newest_first_without_repeats(
    stored: tuple[Reader, Conversation],
) -> None:
    reader, _ = stored
    everything = [r.n for r in reader.records("s")]
    seen: list[int] = []
    before = None
    while True:
        page = reader.page("s", ALL, before, 5)
        seen += [r.n for r in page.records]
        if page.older is None:
            break
        before = page.older
    assert seen == sorted(everything, reverse=True)
    trace_only = reader.page("s", frozenset({KIND_TRACE}), None, 1000)
    assert trace_only.older is None and {r.kind for r in trace_only.records} == {KIND_TRACE}


def test_trace_rows_before_an_index_come_a_page_at_a_time_as_the_session_numbered_them(
    stored: tuple[Reader, Conversation],
) -> None:
    reader, conversation = stored
    page = trace_before(reader, "s", 400, 200)
    assert [e.index for e in page.entries] == list(range(200, 400)) and page.more
    assert [e.summary for e in page.entries] == [e.summary for e in conversation.trace[200:400]]
    last = trace_before(reader, "s", 200, 200)
    assert [e.index for e in last.entries] == list(range(200)) and not last.more
    assert trace_before(reader, "s", 0, 200).entries == ()


def test_every_context_version_is_numbered_and_the_asked_ones_come_back_with_their_data(
    stored: tuple[Reader, Conversation],
) -> None:
    reader, conversation = stored
    found = context_versions(reader, "s", "plan", frozenset({0, 4, 5}))
    assert len(found.keys) == 30
    memory = conversation.contexts["plan"]  # the window kept the newest only
    assert 10 <= len(memory) < 30
    assert [(k.at, k.seq) for k in found.keys[-len(memory) :]] == [(e.at, e.seq) for e in memory]
    assert found.entries[0].data == {"step": 0, "pad": "x" * 20_000}
    assert found.entries[5].data == {"step": 5, "pad": "x" * 20_000}  # a delta applied to version 4
    assert set(found.entries) == {0, 4, 5}


def test_earlier_messages_are_rebuilt_with_the_live_sessions_ids(stored: tuple[Reader, Conversation]) -> None:
    reader, conversation = stored
    live = conversation.messages
    page = messages_before(reader, "s", 10, 6)
    assert [m.id for m in page.messages] == [m.id for m in live[4:10]] and page.more and page.first == 4
    assert [m.text for m in page.messages] == [m.text for m in live[4:10]]
    first = messages_before(reader, "s", 4, 6)
    assert [m.id for m in first.messages] == [m.id for m in live[:4]] and not first.more
    newest = messages_before(reader, "s", None, 3)
    assert [m.id for m in newest.messages] == [m.id for m in live[-3:]]


def test_a_restored_trace_keeps_the_numbers_its_rows_were_journaled_with(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    # Trace rows kept 100 in the journal: compaction lets the oldest chunks go.
    conversation = _journal_a_session(
        Journal(SQLiteBackend(path), retention=RetentionPolicy(trace_keep=100, compact_every=100))
    )
    reader = SQLiteReader(path)
    restored = Conversation()
    replay(restored, reader.records("s"))
    assert restored.trace_dropped > 0
    assert [e.index for e in restored.trace] == [e.index for e in conversation.trace[-len(restored.trace) :]]
    reader.close()


def test_after_a_reset_messages_are_numbered_from_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(SQLiteBackend(path))
    conversation = Conversation()
    journal.attach(_info("s"), conversation)
    for n in range(4):
        conversation.add_user_message(f"before {n}", float(n))
        journal.flush()
    conversation.reset()  # a stream replayed from its start: the conversation begins again
    for n in range(3):
        conversation.add_user_message(f"after {n}", float(n))
        journal.flush()
    journal.close()
    reader = SQLiteReader(path)
    page = messages_before(reader, "s", 2, 10)
    assert [m.text for m in page.messages] == ["after 0", "after 1"] and page.first == 0
    assert [m.text for m in messages_before(reader, "s", None, 10).messages] == [
        "after 0",
        "after 1",
        "after 2",
    ]
    reader.close()


class _Counting:
    """A reader that counts the chunks of inputs it hands out (marks, a few bytes each, apart)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.chunks = 0

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page:
        page = self.reader.page(session_id, kinds, before, limit)
        self.chunks += sum(r.kind != KIND_MARK for r in page.records)
        return page

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page:
        page = self.reader.page_after(session_id, kinds, after, limit)
        self.chunks += sum(r.kind != KIND_MARK for r in page.records)
        return page

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]:
        for record in self.reader.records(session_id, after):
            self.chunks += record.kind != KIND_MARK
            yield record


def _replies(journal: Journal, conversation: Conversation, turns: range, flush: bool = True) -> None:
    for turn in turns:
        conversation.add_user_message(f"question {turn}", float(turn))
        for n in range(20):
            conversation.record(float(turn), "in", "TOKEN", f"w{n}", seq=n + 1, stream_id=f"r{turn}")
            conversation.apply(ev.TextDelta(f"r{turn}", f"w{n} "), float(turn), n + 1)
        conversation.apply(ev.StreamEnd(f"r{turn}"), float(turn), 21)
        if flush:
            journal.flush()  # chunks of a reply or two each: many chunks


def test_earlier_messages_are_replayed_from_the_nearest_mark_not_from_the_journals_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(SQLiteBackend(path))
    conversation = Conversation()
    journal.attach(_info("s"), conversation)
    journal.start()
    _replies(journal, conversation, range(100))
    journal.close()
    live = conversation.messages
    reader = _Counting(SQLiteReader(path))
    total = sum(1 for _ in SQLiteReader(path).records("s"))
    for before in (196, 100, 20):
        reader.chunks = 0
        page = messages_before(reader, "s", before, 20)
        assert [(m.id, m.text, m.status) for m in page.messages] == [
            (m.id, m.text, m.status) for m in live[before - 20 : before]
        ]
        assert page.first == before - 20 and page.more == (before > 20)
        # The page's own replies and the next, whatever the journal's length (some 300 chunks).
        assert reader.chunks < 60 < total
    reader.chunks = 0
    newest = messages_before(reader, "s", None, 20)
    assert [m.id for m in newest.messages] == [m.id for m in live[-20:]] and reader.chunks < 60


def test_an_input_that_reaches_back_before_a_mark_sends_the_read_to_the_journals_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(SQLiteBackend(path))
    conversation = Conversation()
    journal.attach(_info("s"), conversation)
    _replies(journal, conversation, range(3))
    conversation.apply(ev.TextDelta("r0", "a late word"), 3.0, 22)  # lands on a reply already over
    _replies(journal, conversation, range(3, 20))  # past the next mark, which the replay is checked at
    journal.close()
    live = conversation.messages
    assert live[1].text.endswith("a late word")
    reader = SQLiteReader(path)
    page = messages_before(reader, "s", 12, 6)  # replayed from the mark after reply 0, it would be off
    assert [(m.id, m.text) for m in page.messages] == [(m.id, m.text) for m in live[6:12]]
    reader.close()


def test_a_journal_written_before_marks_is_read_back_from_its_start(tmp_path: Path) -> None:
    conversation = Conversation()
    inputs: list[JournalInput] = []
    conversation.journal = inputs.append  # no journal, so no marks: as version 4 wrote it
    for turn in range(5):
        conversation.add_user_message(f"question {turn}", float(turn))
        conversation.apply(ev.TextDelta(f"r{turn}", f"answer {turn}"), float(turn), 1)
        conversation.apply(ev.StreamEnd(f"r{turn}"), float(turn), 2)
    path = tmp_path / "journal.db"
    backend = SQLiteBackend(path)
    data = encode(inputs)
    backend.write(Batch([_info("s")], [("s", 0, KIND_OTHER, checksum(data), data, len(inputs))]))
    backend.close()
    reader = SQLiteReader(path)
    page = messages_before(reader, "s", 8, 4)
    assert [m.text for m in page.messages] == ["question 2", "answer 2", "question 3", "answer 3"]
    assert [m.id for m in page.messages] == [m.id for m in conversation.messages[4:8]]
    reader.close()


def test_marks_inside_one_chunk_of_inputs_are_found_where_they_fall(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(SQLiteBackend(path))  # not started: one round at the end, one chunk of inputs
    conversation = Conversation()
    journal.attach(_info("s"), conversation)
    _replies(journal, conversation, range(60), flush=False)
    journal.close()
    reader = SQLiteReader(path)
    stored = list(reader.records("s"))
    assert sum(r.kind == KIND_OTHER for r in stored) == 1 and sum(r.kind == KIND_MARK for r in stored) == 1
    marks = [item for r in stored if r.kind == KIND_MARK for item in decode(r.data, r.crc)]
    assert len(marks) > 5  # the marks that fall in one chunk of inputs are one chunk of marks
    live = conversation.messages
    for before in (120, 77, 40, 21):
        page = messages_before(reader, "s", before, 20)
        assert [(m.id, m.text) for m in page.messages] == [(m.id, m.text) for m in live[before - 20 : before]]
    newest = messages_before(reader, "s", None, 20)  # from the newest mark of that chunk of marks
    assert [(m.id, m.text) for m in newest.messages] == [(m.id, m.text) for m in live[-20:]]
    reader.close()


def test_a_tool_call_that_never_gets_its_result_does_not_stop_the_marks(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(SQLiteBackend(path))
    conversation = Conversation()
    journal.attach(_info("s"), conversation)
    conversation.add_user_message("look it up", 0.0)
    conversation.apply(ev.ToolCall("r-tool", "call-1", "search", {"q": "x"}), 0.0, 1)
    conversation.mark_interrupted("the stream stalled", 0.5)  # the call's result never comes
    _replies(journal, conversation, range(1, 41), flush=False)
    journal.close()
    reader = _Counting(SQLiteReader(path))
    marks = [m for r in SQLiteReader(path).records("s") if r.kind == KIND_MARK for m in decode(r.data, r.crc)]
    assert len(marks) >= 4  # one every 16 messages or so, after the call as before it
    live = conversation.messages
    page = messages_before(reader, "s", 70, 10)
    assert [(m.id, m.text) for m in page.messages] == [(m.id, m.text) for m in live[60:70]]
