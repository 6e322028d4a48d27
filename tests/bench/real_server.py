"""Benchmark: the console against a server that behaves like the published agent-server.

Run: python tests/bench/real_server.py [--runs 8] [--prompts 4] [--time-scale 1.0] [--first-seed 0]

Each run starts the strict simulator profile in chaos mode (`console/sim/agent_strict.py`) with its
own seed and attaches the console's agent client to it (engine, sequencing and transport as they
ship); the prompts go one after another, each once the previous reply ended. The runs go at once
(each has its own server). At the server's real timing (`--time-scale 1`) a run takes minutes.

Printed per run and in total:
  replies done / interrupted       as the console ended them
  server drops (during a reply)    connections the server cut (chaos drop, missed PONGs)
  client reconnects                connections the console closed itself to reconnect
  unexpected PONGs                 PONGs the server logged with no PING pending (a replayed PING whose
                                   first copy was lost with a dropped connection)
  repeated PONGs                   of those, a second PONG to a PING answered before: must be 0
  text errors                      a done reply whose text differs from what the server generated,
                                   or an interrupted one that is not a prefix of it
  unexplained interruptions        interrupted replies with no server drop during them
Target: interrupted <= server drops during replies; 0 text errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.sim.strict_runs import PROMPTS, RunResult, run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.prompts)]
    started = time.monotonic()
    seeds = range(args.first_seed, args.first_seed + args.runs)
    results: list[RunResult] = await asyncio.gather(
        *(run(seed, prompts, time_scale=args.time_scale) for seed in seeds)
    )
    header = f"{'seed':>5} {'done':>5} {'intr':>5} {'drops':>6} {'in-reply':>8} {'client-rc':>9} {'unexp-PONG':>10} {'text-err':>8} {'unexplained':>11}"
    print(header)
    for r in results:
        print(
            f"{r.seed:>5} {r.done:>5} {r.interrupted:>5} {r.server_drops:>6} {r.server_drops_during_reply:>8} "
            f"{r.client_reconnects:>9} {r.unexpected_pongs:>10} {len(r.text_errors):>8} {len(r.unexplained):>11}"
        )
    total = {
        "replies": sum(r.done + r.interrupted for r in results),
        "done": sum(r.done for r in results),
        "interrupted": sum(r.interrupted for r in results),
        "server drops": sum(r.server_drops for r in results),
        "server drops during a reply": sum(r.server_drops_during_reply for r in results),
        "client reconnects": sum(r.client_reconnects for r in results),
        "unexpected PONGs": sum(r.unexpected_pongs for r in results),
        "repeated PONGs": sum(r.repeat_pongs for r in results),
        "text errors": sum(len(r.text_errors) for r in results),
        "unexplained interruptions": sum(len(r.unexplained) for r in results),
        "timeouts": sum(r.timeouts for r in results),
    }
    print(
        f"\n{args.runs} runs x {args.prompts} prompts, time scale {args.time_scale:g}, "
        f"{time.monotonic() - started:.0f} s"
    )
    for name, value in total.items():
        print(f"  {name:<30} {value}")
    for r in results:
        for line in r.text_errors + r.unexplained:
            print(f"  seed {r.seed}: {line}")


if __name__ == "__main__":
    asyncio.run(main())
