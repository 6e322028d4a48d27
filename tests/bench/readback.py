"""What reading history back from the store costs: a page of trace rows, a context version, earlier messages.

    python tests/bench/readback.py                                   # SQLite
    python tests/bench/readback.py --redis redis://127.0.0.1:6379/9  # also on Redis Streams (flushes db 9)

One agent session is journaled as the agent engine takes it in: `TURNS` prompts and replies of
`TOKENS` token frames each (a trace row per token), and a context snapshot of `SNAPSHOT_KB` KB after
every reply. Then, each the median of five runs:

* the newest page of 200 trace rows, the page 200 rows before the oldest (the deepest), and a page
  in the middle;
* one context version from the start of the session, with its neighbour (what a scrub reads);
* 20 messages: the newest, the middle ones, those just before the newest 40 (what a chat whose
  memory window let them go reads first), and the first (a replay of the inputs but the trace and
  the contexts' from the nearest mark before the page, to the mark after it);
* the longest the event loop was held while the page was read in a worker thread (a 1 ms ticker;
  the heap frozen first, as the console does: console/heap.py). On a loaded machine the ticker's
  own noise is several ms: compare with `time.sleep` in the same run (the first line).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console import heap
from console.dialects.agent import protocol as proto
from console.dialects.agent.engine import AgentEngine
from console.jsonvalue import JsonValue
from console.session import Conversation
from console.store.backend import Backend, SessionInfo
from console.store.history import Reader, context_versions, messages_before, trace_before
from console.store.journal import Journal
from console.store.redis_streams import RedisReader
from console.store.service import open_backend
from console.store.sqlite import SQLiteReader

TURNS = 300
TOKENS = 300
SNAPSHOT_KB = 40
RUNS = 5


def journal_a_session(backend: Backend) -> int:
    """The session as the agent engine takes it in, from the frames an agent sends."""
    journal = Journal(backend)
    conversation = Conversation()
    journal.attach(SessionInfo("s", "s", "agent", "ws://127.0.0.1:9/ws", False, time.time()), conversation)
    journal.start()
    at = 0.0
    engine = AgentEngine(conversation)
    engine.connected(at)
    pad = "x" * (SNAPSHOT_KB * 1024)
    for turn in range(TURNS):
        engine.send_user_message(f"question {turn}", at)
        engine.data_to_send()
        for n in range(TOKENS):
            at += 0.001
            engine.receive(proto.token(f"r{turn}", f"w{n} ").numbered(n + 1), at)
        engine.receive(proto.stream_end(f"r{turn}").numbered(TOKENS + 1), at)
        data: JsonValue = {"turn": turn, "pad": pad}
        engine.receive(proto.context_snapshot("plan", data).numbered(TOKENS + 2), at)
        engine.data_to_send()
        if turn % 20 == 19:
            journal.flush()
    rows = len(conversation.trace) + conversation.trace.dropped
    journal.close()
    return rows


def timed(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def loop_held(work: Callable[[], object]) -> float:
    """The longest gap of a 1 ms ticker on the loop while `work` runs in a worker thread."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.001)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.to_thread(work)
    done = True
    await ticker
    return worst * 1000


def measure(name: str, open_reader: Callable[[], Reader], rows: int) -> None:
    """Each read opens its reader as the console does (a SQLite connection per read, in its thread)."""
    print(f"{name}: one session, {rows:,} trace rows, {TURNS} replies, {TURNS} snapshots of {SNAPSHOT_KB} KB")
    cases: list[tuple[str, Callable[[Reader], object]]] = [
        ("200 trace rows, newest", lambda r: trace_before(r, "s", rows, 200)),
        ("200 trace rows, middle", lambda r: trace_before(r, "s", rows // 2, 200)),
        ("200 trace rows, oldest", lambda r: trace_before(r, "s", 200, 200)),
        ("context version 2 (+ 1)", lambda r: context_versions(r, "s", "plan", frozenset({0, 1}))),
        ("20 newest messages", lambda r: messages_before(r, "s", None, 20)),
        ("20 messages, middle", lambda r: messages_before(r, "s", TURNS, 20)),
        ("20 messages before newest 40", lambda r: messages_before(r, "s", 2 * TURNS - 40, 20)),
        ("20 first messages", lambda r: messages_before(r, "s", 20, 20)),
    ]
    print(
        f"  {'(a sleep, for the noise)':<26} {'':8}      event loop held at most "
        f"{asyncio.run(loop_held(lambda: time.sleep(0.5))):5.1f} ms"
    )
    for label, read in cases:

        def work(read: Callable[[Reader], object] = read) -> object:
            return read(open_reader())

        ms = timed(work)
        held = asyncio.run(loop_held(work))
        print(f"  {label:<26} {ms:8.1f} ms   event loop held at most {held:5.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="also measure on this Redis database (it is emptied)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        rows = journal_a_session(open_backend(str(path)))
        heap.freeze_startup()  # as the console does once started (console/heap.py)
        measure("SQLite", lambda: SQLiteReader(path), rows)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        rows = journal_a_session(open_backend(args.redis))
        heap.freeze_startup()
        reader = RedisReader(args.redis)
        measure("Redis Streams", lambda: reader, rows)
        reader.close()


if __name__ == "__main__":
    main()
