"""What the session journal costs: pipeline throughput with and without it, and the restart time.

    python tests/bench/journal.py                     # SQLite
    python tests/bench/journal.py --redis redis://127.0.0.1:6379/9   # also on Redis Streams (flushes db 9)

1. Events/s through parse -> sequence -> reduce (the `pipeline.py` mix: the recorded agent-server
   session with chaos reordering and duplicates) with no journal, then with every input journaled to
   SQLite. The process is pinned to one core, so the journal's writer thread competes with the
   pipeline for it, and each measure ends when the journal has committed everything (a true cost, not
   a deferred one); the measure is the process's CPU time, all threads (the event loop's thread's
   share is printed too). Each run is `--mix` repeats of the recorded replies (`MIX` says why so
   many). `--rounds` rounds, each a run without and a run with the journal, in turns
   (which goes first alternates), each from a collected heap: otherwise the full collection of the
   previous runs' garbage (25-50 ms, a third of a run) lands in whichever run crosses the
   collector's threshold, and decides the figure. The cost is the median of the rounds' own costs
   (each round's two runs are neighbours in time, so a neighbour's load on this shared machine
   weighs on both), with the spread between the quartiles, and the cost between the fastest run
   without and the fastest with (what a neighbour's load disturbed least).
2. Restart: 100 agent sessions of 1,000 frames each are journaled, then a fresh supervisor restores
   them all (read, checksum, replay through the reducer, sessions reopened): the time until every
   session is back.

Instructions, which the neighbours on a shared machine do not move: `--one none` and `--one journal`
drive 2,468 frames once on one thread (with the journal, its writer's work done at the end on the
same thread: collect, join, LZ4, CRC, commit), inside `functools.reduce` for callgrind to count:

    PY=$(python -c 'import sys; print(sys.executable)')
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
        $PY tests/bench/journal.py --one journal      # then --one none; the difference is the journal
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.dialects.agent.engine import AgentEngine
from console.session import Conversation
from console.store.backend import Backend, SessionInfo
from console.store.journal import Journal
from console.store.service import Store, open_backend
from console.supervisor import Supervisor
from tests.bench.pipeline import chaos, responses, small

ROUNDS = 15
# Replies of the recorded session in each run of the cost, in repeats of its seven: 44,254 frames.
# Each run opens a journal and closes it, and closing costs what a console pays once, not per event:
# the writer thread's end, the last checkpoint's syncs of the log and the database, the log's removal
# (~0.7 ms of CPU). In runs of 60 repeats (~80 ms of pipeline) that weighed a point of the cost; in
# 180, a third of one.
MIX = 180
SESSIONS = 100
FRAMES = 1000
DEAD = "ws://127.0.0.1:9/ws"  # the discard port: nobody answers, the restored sessions wait offline


def script(rounds: int) -> list[list[str]]:
    import random

    rng = random.Random(1)
    return [
        chaos([f.replace('"s_', f'"s{n}_').replace('"tc_', f'"tc{n}_') for f in map(small, r)], rng)
        for n in range(rounds)
        for r in responses()
    ]


def drive(engine: AgentEngine, frames: list[list[str]], limit: int | None = None) -> int:
    count = 0
    for response in frames:
        engine.send_user_message("go", 0.0)
        engine.data_to_send()
        for raw in response:
            engine.receive(raw, 0.0)
            count += 1
            if limit is not None and count >= limit:
                return count
        engine.data_to_send()
    return count


def throughput(frames: list[list[str]], backend: Backend | None) -> tuple[int, float, float]:
    """Frames driven, CPU seconds of the process (all threads), CPU seconds of this thread."""
    conversation = Conversation()
    journal = None
    if backend is not None:
        journal = Journal(backend)
        journal.attach(SessionInfo("bench", "bench", "agent", DEAD, False, time.time()), conversation)
        journal.start()
    engine = AgentEngine(conversation)
    engine.connected(0.0)
    gc.collect()
    # CPU time of the whole process (the writer thread's included): on a shared machine, wall time
    # measures the neighbours as much as the journal.
    start, loop = time.process_time(), time.thread_time()
    count = drive(engine, frames)
    loop = time.thread_time() - loop
    if journal is not None:
        journal.close()  # everything committed: the measure includes the writer's work
    return count, time.process_time() - start, loop


def one_run(journaled: bool, directory: Path) -> None:
    """One run on this thread, for an instruction count (see the module's docstring)."""
    frames = script(rounds=10)
    conversation = Conversation()
    journal = None
    if journaled:
        journal = Journal(sqlite_backend(directory, 0))
        journal.attach(SessionInfo("bench", "bench", "agent", DEAD, False, time.time()), conversation)
        journal.start(writer=False)
    engine = AgentEngine(conversation)
    engine.connected(0.0)
    gc.collect()

    def run(_: int, __: int) -> int:
        drive(engine, frames)
        if journal is not None:
            journal.close()
        return 0

    functools.reduce(run, [0, 0])


def sqlite_backend(directory: Path, n: int) -> Backend:
    return open_backend(str(directory / f"bench-{n}.sqlite3"))


def measure_cost(directory: Path, rounds: int, mix: int) -> None:
    frames = script(rounds=mix)
    without: list[float] = []
    with_journal: list[float] = []
    on_loop: list[float] = []
    count = 0
    for n in range(rounds):
        order = (False, True) if n % 2 else (True, False)
        for with_store in order:
            if with_store:
                count, seconds, loop = throughput(frames, sqlite_backend(directory, n))
                with_journal.append(seconds)
                on_loop.append(loop)
            else:
                count, seconds, _ = throughput(frames, None)
                without.append(seconds)
    costs = sorted(1 - a / b for a, b in zip(without, with_journal, strict=True))  # 1 - with/without events/s
    loop_shares = [loop / base - 1 for loop, base in zip(on_loop, without, strict=True)]
    quartiles = statistics.quantiles(costs, n=4)
    base, journaled = count / statistics.median(without), count / statistics.median(with_journal)
    print(f"pipeline, {count:,} frames, one core, CPU time of the process, median of {rounds} rounds:")
    print(f"  without a journal: {base:,.0f} events/s")
    print(f"  journaled (SQLite, committed): {journaled:,.0f} events/s")
    print(
        f"  journal cost: {statistics.median(costs) * 100:.1f}% of throughput (target < 15%; "
        f"quartiles {quartiles[0] * 100:.1f}-{quartiles[2] * 100:.1f}%, "
        f"best {costs[0] * 100:.1f}%, worst {costs[-1] * 100:.1f}%)"
    )
    print(
        f"  least disturbed: {(1 - min(without) / min(with_journal)) * 100:.1f}% (the fastest run of each:"
        " a neighbour's load only ever adds CPU time)"
    )
    print(f"  of which on the pipeline's own thread: {statistics.median(loop_shares) * 100:+.1f}% CPU time")


def fill(backend: Backend) -> int:
    """SESSIONS agent sessions of FRAMES frames each, journaled; returns the records written."""
    frames = script(rounds=40)
    journal = Journal(backend)
    journal.start()
    for n in range(SESSIONS):
        conversation = Conversation()
        journal.attach(SessionInfo(f"agent-{n:03d}", f"agent-{n:03d}", "agent", DEAD, False, n), conversation)
        engine = AgentEngine(conversation)
        engine.connected(0.0)  # connected: its prompts go out and the frames are their replies
        drive(engine, frames, FRAMES)
    journal.close()
    return journal.records


async def restore(spec: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    store = Store.open(spec)
    supervisor = Supervisor()
    ids = await store.restore(supervisor, lambda _target: False)
    seconds = time.perf_counter() - start
    messages = sum(len(supervisor.sessions[i].client.conversation.messages) for i in ids)
    await supervisor.close()
    store.close()
    return seconds, len(ids), messages


def measure_restart(spec: str, label: str) -> None:
    records = fill(open_backend(spec))
    seconds, sessions, messages = asyncio.run(restore(spec))
    print(f"restart on {label}: {sessions} sessions x {FRAMES:,} frames ({records:,} journal records)")
    print(f"  restored in {seconds:.2f} s ({messages:,} messages rebuilt; target < 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="also measure the restart on this Redis database (it is emptied)")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="rounds of the cost (a run without, one with)"
    )
    parser.add_argument("--mix", type=int, default=MIX, help="repeats of the mix in each run of the cost")
    parser.add_argument("--one", choices=["none", "journal"], help="one run, for callgrind (see above)")
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            one_run(args.one == "journal", Path(tmp))
        return
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for the loop and the writer
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        measure_cost(directory, args.rounds, args.mix)
        measure_restart(str(directory / "restart.sqlite3"), "SQLite")
    if args.redis:
        import redis

        client = redis.Redis.from_url(args.redis)
        client.flushdb()
        client.close()
        measure_restart(args.redis, "Redis Streams")


if __name__ == "__main__":
    main()
