"""Benchmark: what OpenTelemetry export costs the streams, at 100 sessions, off vs on in one run.

Run: python -m tests.bench.otel [--sessions 100] [--seconds 20] [--rounds 2]

One console process as it ships with `--streams N`: N autopiloted sessions streaming from the
in-process agent simulator (~30 tokens/s each while a reply streams), the exporter sending to an
OTLP/HTTP collector in another process on loopback. The export is switched off and on in turns
(off, on, off, on, ...; the same sessions throughout, after a warm-up), and each phase measures:

  CPU        the console process (sessions, simulator, exporter thread), % of one core
  loop lag   how late a 50 ms timer fires on the event loop (p50 / p99 / max)
  tokens/s   text deltas applied, all sessions
  spans/s    spans the collector accepted
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import uvloop
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from console.autopilot import open_streams
from console.metrics import LoopLag
from console.otel.exporter import OtelExport
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 0.6  # as tests/bench/streams.py: ~30 tokens/s per streaming reply


@dataclass
class Phase:
    export: bool
    cpu_percent: float
    lag_ms: tuple[float, float, float]
    tokens_per_s: float
    spans_per_s: float


def collector() -> None:
    """A collector that accepts everything (run in a process of its own)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def cpu() -> float:
    times = os.times()
    return times.user + times.system


async def phase(hub: Supervisor, otel: OtelExport, export: bool, seconds: float) -> Phase:
    otel.set_enabled(export)
    lag = LoopLag()
    lag.start()
    tokens = sum(e.client.conversation.text_deltas for e in hub.sessions.values())
    sent = otel.stats().sent
    wall, used = time.perf_counter(), cpu()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - wall
    used = cpu() - used
    await lag.stop()
    tokens = sum(e.client.conversation.text_deltas for e in hub.sessions.values()) - tokens
    quantiles = (lag.quantile(0.5) * 1000, lag.quantile(0.99) * 1000, lag.max * 1000)
    return Phase(
        export, 100 * used / elapsed, quantiles, tokens / elapsed, (otel.stats().sent - sent) / elapsed
    )


async def run(sessions: int, seconds: float, rounds: int, endpoint: str) -> list[Phase]:
    sim = AgentSimulator(SimConfig(seed=1, time_scale=TIME_SCALE))
    await sim.start()
    hub = Supervisor()
    supervisor = hub
    supervisor.start()
    otel = OtelExport(hub, OTLPSpanExporter(endpoint=endpoint), destination=endpoint, enabled=False)
    otel.start()
    try:
        open_streams(supervisor, sim.url, sessions, seed=1, time_scale=TIME_SCALE)
        await asyncio.sleep(min(10.0, seconds))  # warm-up: every session connected and streaming
        phases = []
        for _ in range(rounds):
            for export in (False, True):
                phases.append(await phase(hub, otel, export, seconds))
        return phases
    finally:
        await supervisor.close()
        await otel.close()
        await sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--collector", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.collector:
        collector()
        return
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.otel", "--collector"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        phases = uvloop.run(
            run(args.sessions, args.seconds, args.rounds, f"http://127.0.0.1:{port}/v1/traces")
        )
    finally:
        process.terminate()
        process.wait()
    print(f"{args.sessions} sessions, {args.seconds:.0f} s per phase, {os.cpu_count()} CPUs")
    print(
        f"{'export':>7} {'CPU %':>7} {'lag p50':>8} {'lag p99':>8} {'lag max':>8} {'tokens/s':>9} {'spans/s':>8}"
    )
    for p in phases:
        p50, p99, top = p.lag_ms
        print(
            f"{'on' if p.export else 'off':>7} {p.cpu_percent:7.1f} {p50:7.1f}ms {p99:7.1f}ms {top:7.1f}ms"
            f" {p.tokens_per_s:9.0f} {p.spans_per_s:8.1f}"
        )
    for export in (False, True):
        chosen = [p for p in phases if p.export == export]
        cpu_mean = sum(p.cpu_percent for p in chosen) / len(chosen)
        p99 = max(p.lag_ms[1] for p in chosen)
        print(
            f"export {'on ' if export else 'off'}: CPU {cpu_mean:.1f}% (mean), loop lag p99 {p99:.1f} ms (worst phase)"
        )


if __name__ == "__main__":
    main()
