"""The journal's rounds with many sessions: what a commit writes stays near what it stores."""

from __future__ import annotations

import time
from pathlib import Path

from console import events as ev
from console.dialects.agent import protocol as proto
from console.session import Conversation
from console.store.backend import SessionInfo
from console.store.journal import Journal
from console.store.sqlite import SQLiteBackend

SESSIONS = 300


def _written() -> int:
    """Bytes this process had written to storage (the kernel's count)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes in /proc/self/io")


def _sessions(journal: Journal) -> list[Conversation]:
    conversations = []
    for n in range(SESSIONS):
        conversation = Conversation()
        journal.attach(
            SessionInfo(f"s{n}", f"s{n}", "agent", "ws://127.0.0.1:9/ws", False, 0.0), conversation
        )
        conversation.add_user_message("go", 0.0)
        conversations.append(conversation)
    return conversations


def _stream(
    conversations: list[Conversation],
    seconds: float,
    journal: Journal | None = None,
    prompts_per_second: float = 0,
) -> None:
    """Every session streams a token each 50 ms (300 sessions: 6,000 frames/s); prompts go out too,
    each telling the journal as the store does (`prompt_sent`)."""
    start = time.monotonic()
    seq = 0
    prompted = 0
    while (now := time.monotonic()) - start < seconds:
        seq += 1
        for n, conversation in enumerate(conversations):
            raw = proto.token(f"r{n}", f"word {seq} ").numbered(seq)
            conversation.record(now, "in", "TOKEN", f"word {seq} ", seq=seq, raw=raw, stream_id=f"r{n}")
            conversation.apply(ev.TextDelta(f"r{n}", f"word {seq} "), now, seq)
        while prompted < (now - start) * prompts_per_second:
            conversations[prompted % SESSIONS].add_user_message("and?", now)
            if journal is not None:
                journal.prompt_sent()
            prompted += 1
        time.sleep(max(0.0, start + seq * 0.05 - time.monotonic()))


def test_many_streaming_sessions_write_a_few_times_what_they_store_not_a_hundred(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(SQLiteBackend(path))
    conversations = _sessions(journal)
    journal.start()
    _stream(conversations, 1.0)  # past the first rounds, whose index pages are all new
    journal.flush()
    written, batches = _written(), journal.batches
    # Autopilots prompt many times a second: each prompt may not end a round early.
    _stream(conversations, 3.0, journal, prompts_per_second=100)
    journal.flush()
    written, batches = _written() - written, journal.batches - batches
    journal.close()
    stored = sum(len(r.data) for c in range(SESSIONS) for r in SQLiteBackend(path).records(f"s{c}"))
    # Rounds of 50 ms wrote a hundred times what they stored (an index page or two per session, each commit).
    assert batches <= 10
    assert written < 12 * stored, (written, stored)


def test_a_prompt_ends_a_long_round_at_once(tmp_path: Path) -> None:
    journal = Journal(SQLiteBackend(tmp_path / "j.sqlite3"))
    conversations = _sessions(journal)
    journal.start()
    _stream(conversations, 1.5)  # rounds of ~0.9 s now
    batches = journal.batches
    while journal.batches == batches:  # a round just ended: the next is ~0.9 s away
        time.sleep(0.002)
    start = time.monotonic()
    conversations[7].add_user_message("is this kept?", time.time())
    journal.prompt_sent()  # as the store does for a user's message
    while journal.batches == batches + 1 and time.monotonic() - start < 2:
        time.sleep(0.002)
    waited = time.monotonic() - start
    journal.close()
    assert waited < 0.4  # committed at once, not at the end of the round
