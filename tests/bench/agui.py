"""Events per second through the AG-UI path on one core, and the cost of a 600 KB STATE_SNAPSHOT.

    python tests/bench/agui.py

The mix is what the simulated AG-UI agent sends for a run (reasoning, a step, an empty text message
before a tool call, streamed tool arguments, a state delta, a tool result, an activity, streamed text,
a custom event), framed by the simulator, replayed as many runs of one thread. Each event goes the
whole client path: JSON parse, validation by the protocol's pydantic models, the run decoder, the
trace row, the conversation reducer. The 600 KB state is a document of the size and shape of the
agent-server's schema snapshots, measured alone: as a STATE_SNAPSHOT, then as the base of a small
STATE_DELTA (which parses the last state again, patches it and keeps the result as bytes).
"""

from __future__ import annotations

import json
import random
import statistics
import time

from ag_ui import core

from console.dialects.agui import protocol
from console.dialects.agui.engine import AguiEngine
from console.sim.agui_script import script

RUNS = 300


def run_frames() -> list[str]:
    """The `data` of every event of one simulated run."""
    run = core.RunAgentInput(
        thread_id="t", run_id="r", messages=[core.UserMessage(id="u", content="buy oat milk")]
    )
    made = script(run, {"todos": [], "runs": 0}, "none", random.Random(1))
    return [protocol.frame(e).removeprefix("data: ").strip() for e in made.items if not isinstance(e, str)]


def engine() -> AguiEngine:
    counter = iter(range(10**9))
    agent = AguiEngine(thread_id="t", ids=lambda: f"r{next(counter)}")
    agent.connected(0.0)
    return agent


def mix_rate() -> tuple[float, int, float]:
    """Events/s through `receive` (the event path), and the ms to build one run's POST body."""
    frames = run_frames()
    receiving = 0.0
    requesting = 0.0
    agent = engine()
    for n in range(RUNS):
        if n % 10 == 0:
            agent = engine()  # threads of ten runs: the history sent back grows
        t0 = time.perf_counter()
        agent.send_user_message("buy oat milk", float(n))
        agent.next_request(float(n))
        t1 = time.perf_counter()
        for data in frames:
            agent.receive(data, None, float(n))
        agent.ended(float(n), "the stream ended")
        receiving += time.perf_counter() - t1
        requesting += t1 - t0
    return RUNS * len(frames) / receiving, len(frames), requesting / RUNS * 1000


def big_state(target: int = 600_000) -> dict[str, object]:
    rng = random.Random(7)
    tables: dict[str, object] = {}
    size = 0
    while size < target:
        name = f"table_{len(tables)}"
        table = {
            "columns": [
                {
                    "name": f"col_{i}",
                    "type": rng.choice(["int", "text", "uuid", "timestamptz"]),
                    "nullable": rng.random() < 0.3,
                }
                for i in range(rng.randint(4, 14))
            ],
            "rows": rng.randint(0, 10**7),
            "indexes": [f"idx_{name}_{i}" for i in range(rng.randint(0, 3))],
        }
        tables[name] = table
        size += len(json.dumps(table)) + len(name) + 4
    return {"tables": tables, "total_tables": len(tables)}


def state_costs(samples: int = 15) -> tuple[int, float, float, float]:
    """ms of a 600 KB STATE_SNAPSHOT: parsing (in a thread in the client), then on the event loop;
    and of a small STATE_DELTA on that state (on the loop)."""
    state = big_state()
    snapshot = json.dumps({"type": "STATE_SNAPSHOT", "snapshot": state})
    deltas = [
        json.dumps({"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/total_tables", "value": n}]})
        for n in range(3)
    ]
    parse_ms: list[float] = []
    loop_ms: list[float] = []
    delta_ms: list[float] = []
    for _ in range(samples):
        agent = engine()
        agent.send_user_message("x", 0.0)
        agent.next_request(0.0)
        t0 = time.perf_counter()
        prepared = protocol.parse(snapshot)  # what the client does in a thread above 256 KB
        t1 = time.perf_counter()
        agent.receive(snapshot, None, 0.0, prepared)
        t2 = time.perf_counter()
        for delta in deltas:
            agent.receive(delta, None, 0.0)
        t3 = time.perf_counter()
        parse_ms.append((t1 - t0) * 1000)
        loop_ms.append((t2 - t1) * 1000)
        delta_ms.append((t3 - t2) * 1000 / len(deltas))
        assert agent.conversation.contexts["state"][-1].data == {**state, "total_tables": 2}
    return len(snapshot), statistics.median(parse_ms), statistics.median(loop_ms), statistics.median(delta_ms)


def main() -> None:
    rate, per_run, request_ms = mix_rate()
    print(
        f"AG-UI events through parse -> validate -> decode -> trace -> reduce: {rate:,.0f} events/s on one core"
    )
    print(f"  ({per_run} events per run, {RUNS} runs; building a run's POST body: {request_ms:.2f} ms)")
    size, parse, loop, delta = state_costs()
    print(
        f"STATE_SNAPSHOT of {size / 1000:,.0f} KB: {parse:.1f} ms parse + validate (in a thread), {loop:.1f} ms on the loop"
    )
    print(f"STATE_DELTA on that state: {delta:.1f} ms on the loop (patch in place, keep as bytes)")


if __name__ == "__main__":
    main()
