"""The inspector benchmark's data and its in-process figures: snapshot pairs of a given size, and the
event loop while a client receives one or a StepCache diffs two and a view gets its opening levels
(`tests/bench/inspector.py`; its figures without a browser: `python tests/bench/inspector.py --in-process`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from console import jsonvalue, offload
from console.dialects.agent.client import AgentClient
from console.events import ContextSnapshot
from console.json_tree import Step
from console.jsonvalue import JsonObject, JsonValue
from console.session import Conversation
from console.ui import inspector_steps
from console.ui.inspector_steps import StepCache
from tests.hostile.servers import Peer, RawWebSocketServer
from tests.hostile.servers import frame as ws_frame

WORDS = [
    "agent",
    "context",
    "tool",
    "schema",
    "table",
    "column",
    "index",
    "document",
    "chunk",
    "vector",
    "query",
    "plan",
    "user",
    "order",
]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def document(rng: random.Random, n: int) -> JsonObject:
    return {
        "id": f"doc-{n:05d}",
        "title": sentence(rng, 6),
        "body": sentence(rng, 130),
        "tags": [rng.choice(WORDS) for _ in range(4)],
        "score": round(rng.random(), 4),
        "embedding": [round(rng.uniform(-1, 1), 4) for _ in range(8)],
        "source": {"kind": "wiki", "url": f"https://docs.example/{n}", "fetched": "2025-09-15T11:42:00Z"},
    }


def snapshot_pair(size: int, seed: int = 1) -> tuple[JsonObject, JsonObject]:
    """A corpus of about `size` bytes and its update: 1% of documents edited, 3 inserted, 2 removed."""
    rng = random.Random(seed)
    docs: list[JsonValue] = []
    total = 0
    while total < size:
        doc = document(rng, len(docs))
        docs.append(doc)
        total += len(jsonvalue.dumps_bytes(doc)) + 1
    # TAG is replaced by the run's name in the frames: each run's rows are told apart from the last's.
    old: JsonObject = {
        "corpus_TAG": "bench",
        "stats_TAG": {"documents": len(docs)},
        "documents": docs,
    }
    # The update comes off the wire as its own text: no object shared with the old snapshot.
    new = jsonvalue.loads(jsonvalue.dumps(old))
    assert isinstance(new, dict)
    new_docs = new["documents"]
    assert isinstance(new_docs, list)
    for index in rng.sample(range(len(new_docs)), max(1, len(new_docs) // 100)):
        edited = new_docs[index]
        assert isinstance(edited, dict)
        edited["score"] = round(rng.random(), 4)
        edited["title"] = sentence(rng, 6)
    for _ in range(2):
        del new_docs[rng.randrange(len(new_docs))]
    for n in range(3):
        new_docs.insert(rng.randrange(len(new_docs)), document(rng, 100_000 + n))
    new["stats_TAG"] = {"documents": len(new_docs), "updated": True}
    return old, new


async def loop_stall(
    old: JsonObject, new: JsonObject, large: int, worker: bool = True
) -> tuple[float, float]:
    """The longest event-loop stall (ms) while a StepCache diffs the pair and a view gets the levels it
    opens with, the threshold of work off the loop at `large` bytes, in the worker process or (`worker`
    False) a thread; and the longest stall in the loop thread's CPU time (ms)."""
    conversation = Conversation()
    for seq, data in enumerate((old, new)):
        size = len(jsonvalue.dumps_bytes(data))
        conversation.apply(ContextSnapshot("ctx", data, size), time.monotonic(), seq)
    history = conversation.contexts["ctx"]
    saved, inspector_steps.LARGE = inspector_steps.LARGE, large
    offload.ENABLED = worker
    gaps: list[float] = []
    busy: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last, last_cpu = time.perf_counter(), time.thread_time()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now, cpu = time.perf_counter(), time.thread_time()
            gaps.append(now - last)
            busy.append(cpu - last_cpu)
            last, last_cpu = now, cpu

    try:
        # The worker is started before the measure, as it is after the first large frame.
        await offload.decode_snapshot('{"type":"CONTEXT_SNAPSHOT","seq":0,"context_id":"w","data":0}', 100)
        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        step = await StepCache().get("ctx", 1, history)
        levels = await step.initial_levels()
        jsonvalue.dumps([level.to_json() for level in levels])  # what the tree's prop then carries
        await asyncio.sleep(0.01)
    finally:
        done.set()
        await ticking
        inspector_steps.LARGE = saved
        offload.ENABLED = True
    return max(gaps) * 1000, max(busy) * 1000


async def client_stall(frame_text: str, worker: bool) -> tuple[float, float, float]:
    """The longest event-loop stall (ms) while an agent client receives one snapshot frame, and the
    time until it is in the session (ms) and the longest stall in the loop thread's CPU time (ms: what
    the loop itself spent, without the machine's other processes taking the core): decoded in the worker process, or (`worker` False) as
    before it, parsed in a thread and encoded again on the loop."""
    offload.ENABLED = worker
    wire = ws_frame(frame_text.replace('"seq":0', '"seq":1', 1))
    ready = threading.Event()
    urls: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    async def script(peer: Peer) -> None:
        while not ready.is_set():
            await asyncio.sleep(0.001)
        peer.send(wire)
        await peer.drain()

    async def serve() -> None:
        # In a thread of its own: writing megabytes must not count as the client's stall.
        server = RawWebSocketServer(script)
        await server.start()
        urls.put(server.url)
        while not stop.is_set():
            await asyncio.sleep(0.01)
        await server.stop()

    serving = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    serving.start()
    client = AgentClient(urls.get(timeout=10))
    client.start()
    gaps: list[float] = []
    busy: list[float] = []  # the loop thread's own CPU time across each gap: a stall, not a preemption
    try:
        while not client.connected_once:
            await asyncio.sleep(0.01)
        # The worker is started before the measure, as it is after the first large frame.
        await offload.decode_snapshot('{"type":"CONTEXT_SNAPSHOT","seq":0,"context_id":"w","data":0}', 100)
        await asyncio.sleep(0.2)
        start = last = time.perf_counter()
        last_cpu = time.thread_time()
        ready.set()
        while "ctx_TAG" not in client.conversation.contexts:
            await asyncio.sleep(0.001)
            now, cpu = time.perf_counter(), time.thread_time()
            gaps.append(now - last)
            busy.append(cpu - last_cpu)
            last, last_cpu = now, cpu
        took = time.perf_counter() - start
    finally:
        offload.ENABLED = True
        await client.close()
        stop.set()
        serving.join(10)
    return max(gaps) * 1000, took * 1000, max(busy) * 1000


def in_process(size: int) -> list[str]:
    old, new = snapshot_pair(size)
    text = jsonvalue.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 0, "context_id": "ctx_TAG", "data": old})
    worker = [asyncio.run(client_stall(text, worker=True)) for _ in range(3)]
    thread = [asyncio.run(client_stall(text, worker=False)) for _ in range(3)]
    process = [asyncio.run(loop_stall(old, new, inspector_steps.LARGE)) for _ in range(3)]
    logging.getLogger(inspector_steps.__name__).setLevel(logging.ERROR)  # "no worker process": we know
    threaded = [asyncio.run(loop_stall(old, new, inspector_steps.LARGE, worker=False)) for _ in range(3)]
    logging.getLogger(inspector_steps.__name__).setLevel(logging.NOTSET)
    on_loop = asyncio.run(loop_stall(old, new, 1 << 62))
    t0 = time.perf_counter()
    step = Step.between(old, new)  # what the worker process does
    t1 = time.perf_counter()
    levels = step.initial_levels()  # what it then does for each tab
    text = jsonvalue.dumps([level.to_json() for level in levels])
    t2 = time.perf_counter()
    rows = sum(len(level.rows) for level in levels)
    return [
        f"  event loop while a client receives the first snapshot (median of 3): longest stall"
        f" {statistics.median(w[0] for w in worker):.1f} ms ({statistics.median(w[2] for w in worker):.1f} ms"
        f" of its CPU) decoded in the worker process, in the session after"
        f" {statistics.median(w[1] for w in worker):.0f} ms; parsed in a thread and encoded on the loop:"
        f" {statistics.median(t[0] for t in thread):.1f} ms ({statistics.median(t[2] for t in thread):.1f} ms"
        f" of its CPU), {statistics.median(t[1] for t in thread):.0f} ms",
        f"  in process: diff and preparation {1000 * (t1 - t0):.1f} ms ({len(step.changes)} changes); opening "
        f"view {1000 * (t2 - t1):.1f} ms: {len(levels)} levels, {rows} rows, {len(text) / 1024:.1f} KB of JSON",
        f"  event loop while the pair is diffed and the opening levels come (median of 3): longest stall"
        f" {statistics.median(w[0] for w in process):.1f} ms ({statistics.median(w[1] for w in process):.1f} ms"
        f" of its CPU) with the step in the worker process; in a worker thread"
        f" {statistics.median(t[0] for t in threaded):.1f} ms ({statistics.median(t[1] for t in threaded):.1f} ms"
        f" of its CPU); on the loop {on_loop[0]:.1f} ms",
    ]
