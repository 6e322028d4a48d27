"""Soak: the console's memory over a long run of many agents on a hostile network, with and without a store.

    python tests/bench/soak.py                      # 30 minutes each, with and without a store
    python tests/bench/soak.py --minutes 5 --mode store
    python tests/bench/soak.py --minutes 8 --mode no-store --sim-process --tracemalloc   # what grows

The console runs as it ships, `python main.py --streams 50 --demo chaos` (50 autopiloted sessions on
the embedded chaos simulator; with `--sim-process`, a standalone one, so that only the console is
measured), once with `--no-store` and once with its default store (SQLite, in a fresh data directory).
Its resident memory (VmRSS) is sampled every 30 s. Printed: the samples, and the growth over the last
two thirds of the run (the "last 20 minutes" of 30), which is what a memory window must keep flat
once it has filled. With `--tracemalloc` the console's allocations are traced from when it listens
(tests/bench/soak_traced.py), and what grew between a third of the run and its end is printed, by
where it was allocated.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["AGENT_CONSOLE_DATA"] = str(data)
    return env


def start_sim() -> tuple[subprocess.Popen[bytes], str]:
    """The chaos agent simulator in a process of its own: its ground truth (every reply and snapshot
    it ever sent, kept for /truth) then does not count in the console's memory."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "sim", "agent", "--mode", "chaos", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    return process, f"ws://127.0.0.1:{port}/ws"


def start(
    store: list[str], streams: int, data: Path, upstream: str | None, traced: list[str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = _env(data)
    where = ["--upstream", f"agent={upstream}"] if upstream else ["--demo", "chaos"]
    args = ["--no-show", "--port", str(port), "--streams", str(streams), *where, *store]
    program = (
        [str(ROOT / "tests" / "bench" / "soak_traced.py"), *traced, "--"]
        if traced
        else [str(ROOT / "main.py")]
    )
    process = subprocess.Popen(
        [sys.executable, *program, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/sessions", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the console did not start")


def growers(first: Path, last: Path, top: int = 15) -> None:
    """What grew between two snapshots, by traceback: the size, and the console's frames nearest it."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    before = tracemalloc.Snapshot.load(str(first)).filter_traces(ignore)
    after = tracemalloc.Snapshot.load(str(last)).filter_traces(ignore)
    stats = after.compare_to(before, "traceback")
    print(
        f"  traced: {sum(s.size for s in stats) / 1e6:.0f} MB, grew {sum(s.size_diff for s in stats) / 1e6:+.1f} MB"
    )
    for stat in stats[:top]:
        ours = [f for f in stat.traceback if str(ROOT) in f.filename] or list(stat.traceback)
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(ours[-3:]))
        print(
            f"  {stat.size_diff / 1e6:+8.1f} MB {stat.count_diff:+9,d} blocks (now {stat.size / 1e6:6.1f} MB)  {where}"
        )


def soak(
    label: str,
    store: list[str],
    minutes: float,
    interval: float,
    streams: int,
    sim_process: bool,
    traced: bool = False,
) -> None:
    sim, upstream = start_sim() if sim_process else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        marks = [minutes / 3, max(minutes / 3, minutes - 0.5)]  # minutes after the console listens
        snapshots = [str(Path(tmp)), ",".join(f"{m:g}" for m in marks)] if traced else []
        process, url = start(store, streams, Path(tmp) / "data", upstream, snapshots)
        samples: list[tuple[float, float]] = []
        began = time.monotonic()
        try:
            while True:
                elapsed = time.monotonic() - began
                samples.append((elapsed, rss_mb(process.pid)))
                print(f"  {label:>9}  {elapsed / 60:5.1f} min  RSS {samples[-1][1]:8.1f} MB", flush=True)
                if elapsed >= minutes * 60:
                    break
                time.sleep(min(interval, max(0.0, minutes * 60 - elapsed)))
            sessions = httpx.get(f"{url}/api/sessions", timeout=10).json()
        finally:
            process.terminate()
            process.wait(timeout=60)
            if sim is not None:
                print(f"  (the simulator's own process: {rss_mb(sim.pid):.0f} MB)")
                sim.terminate()
                sim.wait(timeout=30)
        store_size = sum(f.stat().st_size for f in (Path(tmp) / "data").rglob("*") if f.is_file())
        if traced:
            first, last = (Path(tmp) / f"snap-{m:g}.pickle" for m in marks)
            if first.exists() and last.exists():
                growers(first, last)
    settled = [s for s in samples if s[0] >= minutes * 60 / 3]
    growth = settled[-1][1] - settled[0][1] if len(settled) > 1 else 0.0
    span = (settled[-1][0] - settled[0][0]) / 60 if len(settled) > 1 else 0.0
    print(
        f"{label}: {len(sessions)} sessions, {minutes:g} min; RSS {samples[0][1]:.0f} -> "
        f"{settled[0][1] if settled else samples[-1][1]:.0f} (at {minutes / 3:.0f} min) -> {samples[-1][1]:.0f} MB "
        f"(peak {max(s[1] for s in samples):.0f} MB); growth over the last {span:.1f} min: {growth:+.1f} MB"
        + (f"; journal on disk {store_size / 1e6:.1f} MB" if store_size else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--mode", choices=["both", "store", "no-store"], default="both")
    parser.add_argument(
        "--sim-process", action="store_true", help="the simulator in a process of its own (--upstream)"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace the console's allocations and print what grew"
    )
    args = parser.parse_args()
    common = (args.minutes, args.interval, args.streams, args.sim_process, args.tracemalloc)
    if args.mode in ("both", "no-store"):
        soak("no store", ["--no-store"], *common)
    if args.mode in ("both", "store"):
        # The default store: SQLite under the data directory (a temporary one here).
        soak("store", [], *common)


if __name__ == "__main__":
    main()
