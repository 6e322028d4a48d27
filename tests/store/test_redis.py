"""The journal on a real redis-server: replay, retention, and a follower console showing the owner's."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import redis

from console import events as ev
from console.jsonvalue import JsonValue
from console.session import Conversation
from console.store.backend import SessionInfo
from console.store.journal import Journal, RetentionPolicy
from console.store.redis_streams import RedisBackend
from console.store.restore import replay
from tests.store.processes import Process, messages, send, session, start_agent_sim, start_console, wait_for


def _info(session_id: str) -> SessionInfo:
    return SessionInfo(session_id, session_id, "agent", "ws://127.0.0.1:1/ws", False, time.time())


def test_a_session_journaled_in_redis_replays_and_its_removal_leaves_nothing(redis_url: str) -> None:
    journal = Journal(RedisBackend(redis_url), retention=RetentionPolicy(trace_keep=5, compact_every=40))
    kept, gone = Conversation(), Conversation()
    journal.attach(_info("kept"), kept)
    journal.attach(_info("gone"), gone)
    journal.start()
    kept.add_user_message("hello", 1.0)
    for n in range(60):
        kept.record(float(n), "in", "TOKEN", f"t{n}", seq=n + 1, stream_id="s")
        kept.apply(ev.TextDelta("s", f"t{n} "), float(n), n + 1)
        if n % 10 == 9:
            journal.flush()  # a chunk per flush: old ones can go whole
    kept.apply(ev.StreamEnd("s"), 60.0, 61)
    gone.add_user_message("bye", 1.0)
    journal.flush()
    journal.remove("gone")
    journal.close()

    backend = RedisBackend(redis_url)
    assert [s.id for s in backend.sessions()] == ["kept"]
    again = Conversation()
    replay(again, backend.records("kept"))
    assert again.transcript() == kept.transcript()
    rows = [row.summary for row in again.trace]
    assert 5 <= len(rows) < 60 and rows[-1] == "t59"  # old trace rows trimmed, the newest kept
    backend.close()
    client = redis.Redis.from_url(redis_url)
    assert client.exists("agent-console:s:gone") == 0
    client.close()


def _token_rows(trace: JsonValue) -> list[JsonValue]:
    assert isinstance(trace, list)
    return [row for row in trace if isinstance(row, list) and row[0] == "TOKEN"]


def test_a_follower_shows_the_owners_sessions_live(tmp_path: Path, redis_url: str) -> None:
    sim = start_agent_sim(tmp_path)
    upstream = f"agent=ws://127.0.0.1:{sim.url.rsplit(':', 1)[1]}/ws"
    owner = start_console(tmp_path, "--upstream", upstream, "--store", redis_url)
    follower: Process | None = None
    try:
        wait_for("the owner's session", lambda: session(owner, "agent")["state"] == "open" or None)
        follower = start_console(tmp_path, "--follow", redis_url)
        watching = follower
        send(owner, "agent", "summarize the q3 report")
        # Live: the follower sees the reply while it streams, not only once it is over.
        wait_for(
            "the reply streaming on the follower",
            lambda: (
                any(m["status"] == "streaming" and m["text"] for m in messages(watching, "agent")) or None
            ),
        )
        done = wait_for(
            "the reply to complete on the owner",
            lambda: ((found := messages(owner, "agent"))[-1]["status"] == "done" and found) or None,
        )
        followed = wait_for(
            "the follower to catch up", lambda: (messages(watching, "agent") == done and done) or None, 10
        )
        assert followed[-1]["text"] and followed[0]["text"] == "summarize the q3 report"
        # The trace too: the reply's token rows, which the journal holds as their frames alone.
        tokens = [_token_rows(session(c, "agent")["trace"]) for c in (owner, watching)]
        n = min(map(len, tokens))
        assert n > 5 and tokens[0][-n:] == tokens[1][-n:]
        refused = httpx.post(f"{follower.url}/api/sessions/agent/messages", json={"text": "hi"}, timeout=5)
        assert refused.status_code == 409  # read-only: prompts go to the owner
    finally:
        if follower is not None:
            follower.stop()
        owner.stop()
        sim.stop()
