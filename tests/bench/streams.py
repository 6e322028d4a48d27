"""Benchmark of the operations view: N autopiloted sessions streaming at once.

Run: python tests/bench/streams.py [--sessions 10 50 100 200 1000] [--seconds 30] [--page-up-to 200]
     [--sim-process] [--time-scale 0.6] [--py-spy FOLDER]

For each N the console runs as it ships (`python main.py --streams N`), its sessions streaming ~30
tokens/s each from the in-process agent simulator (token delays 30–80 ms scaled by 0.6), each driven by
an autopilot that sends the next prompt shortly after a reply ends. It is measured twice: with no page
open (the sessions alone), then with the overview open in headless Chromium. Figures:

  server CPU      the console process (sessions, simulator and pages: one process), % of one core
  loop lag        how late a 50 ms timer fires on the console's event loop (p50 / p99 / max)
  PONG p99        PING sent -> PONG received, as the simulator logged it
  tokens/s        text deltas applied, all sessions (and per session)
  per CPU-s       tokens applied per CPU-second of the console process, and that as a share of the
                  floor (172k: one core receiving and applying tokens in bulk)
  to browser      bytes/s of the page's WebSocket
  main thread     the page's busy share of its main thread (CDP TaskDuration), its longest task
                  (Long Tasks API: >= 50 ms) and its longest frame gap (requestAnimationFrame)

Chromium runs at a lower CPU priority (nice 10): an operator's browser runs on the operator's machine,
so on a small box the server's figures should not include losing its CPU to the page. The browser's
figures are then pessimistic: it gets what the server leaves.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import CDPSession, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.profile import Profiler  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# 30-80 ms token delays x 0.6: ~30 tokens/s while a reply streams (x 1.0: the agents' own ~16 tokens/s).
TIME_SCALE = "0.6"
TICKS = os.sysconf("SC_CLK_TCK")
# Tokens per CPU-second of one core receiving and applying them in bulk (websockets' receive on uvloop,
# then decode -> sequence -> reduce: tests/bench/socket_floor.py, tests/bench/pipeline.py).
FLOOR = 172_000

PERF_PROBE = """
window.__perf = { longtasks: [], gaps: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.longtasks.push([e.startTime, e.duration]);
}).observe({ type: "longtask", buffered: true });
let last = performance.now();
const frame = (t) => { window.__perf.gaps.push([t, t - last]); last = t; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
"""


@dataclass
class ServerSample:
    wall: float
    cpu: float  # seconds
    tokens: float
    pongs_seen: int


@dataclass
class Figures:
    cpu_percent: float
    lag_ms: tuple[float, float, float]
    pong_p99_ms: float
    pong_max_ms: float
    pongs: int
    tokens_per_s: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def scrape(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def metric(text: str, pattern: str) -> list[float]:
    return [float(v) for v in re.findall(rf"^{pattern} (\S+)$", text, re.MULTILINE)]


def pong_latencies(sim_http: str) -> list[float]:
    # A saturated loop (1,000 sessions and their simulator in one process) can take a while to serve it.
    log = httpx.get(f"{sim_http}/log", timeout=90).json()
    return [float(e["latency_ms"]) for e in log if e.get("kind") == "pong" and "latency_ms" in e]


def sample(url: str, pid: int, sim_http: str) -> ServerSample:
    tokens = sum(metric(scrape(url), r"agent_console_session_tokens_total\{[^}]*\}"))
    return ServerSample(time.monotonic(), cpu_seconds(pid), tokens, len(pong_latencies(sim_http)))


def figures(url: str, pid: int, sim_http: str, before: ServerSample) -> Figures:
    after = sample(url, pid, sim_http)
    text = scrape(url)
    lag = [
        metric(text, rf'agent_console_event_loop_lag_recent_seconds\{{quantile="{q}"\}}')[0] * 1000
        for q in ("0.5", "0.99", "1.0")
    ]
    pongs = sorted(pong_latencies(sim_http)[before.pongs_seen :])
    p99 = pongs[min(len(pongs) - 1, int(0.99 * len(pongs)))] if pongs else float("nan")
    elapsed = after.wall - before.wall
    return Figures(
        cpu_percent=100 * (after.cpu - before.cpu) / elapsed,
        lag_ms=(lag[0], lag[1], lag[2]),
        pong_p99_ms=p99,
        pong_max_ms=max(pongs, default=float("nan")),
        pongs=len(pongs),
        tokens_per_s=(after.tokens - before.tokens) / elapsed,
    )


def spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_http(url: str, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start")


def start_console(
    n: int, sim_process: bool, time_scale: str
) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    """The console with N streams; returns its processes, its URL and the agent simulator's."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # No journal: each run starts empty, and never waits for another console's store.
    args = [
        "--no-show",
        "--no-store",
        "--port",
        str(port),
        "--streams",
        str(n),
        "--sim-time-scale",
        time_scale,
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if sim_process:
            sim_port = free_port()
            processes.append(spawn("sim", "agent", "--port", str(sim_port), "--time-scale", time_scale))
            sim_http = f"http://127.0.0.1:{sim_port}"
            wait_http(f"{sim_http}/health", "the agent simulator")
            args += ["--upstream", f"agent=ws://127.0.0.1:{sim_port}/ws"]
        processes.append(spawn(*args))
        wait_http(f"{url}/api/simulators", "the console")
        while not sim_process:  # described once it listens (a process of its own takes a moment)
            described = httpx.get(f"{url}/api/simulators", timeout=5).json()
            if "agent" in described:
                sim_http = described["agent"]["http"]
                break
            time.sleep(0.2)
    except BaseException:
        for process in processes:
            process.kill()
        raise
    return processes, url, sim_http


class BrowserProbe:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Performance.enable")
        self.ws_bytes = 0
        self.cdp.on("Network.webSocketFrameReceived", self._frame)

    def _frame(self, params: dict[str, dict[str, str]]) -> None:
        self.ws_bytes += len(params["response"]["payloadData"])

    def task_seconds(self) -> float:
        result = self.cdp.send("Performance.getMetrics")
        return next(float(m["value"]) for m in result["metrics"] if m["name"] == "TaskDuration")

    def now(self) -> float:
        return float(self.page.evaluate("performance.now()"))

    def worst(self, since: float) -> tuple[float, int, float]:
        """Longest task (ms), long tasks, longest frame gap (ms) since `since` (page time)."""
        longtasks: list[list[float]] = self.page.evaluate("window.__perf.longtasks")
        gaps: list[list[float]] = self.page.evaluate("window.__perf.gaps")
        tasks = [d for start, d in longtasks if start >= since]
        frame_gaps = [g for t, g in gaps if t >= since]
        return max(tasks, default=0.0), len(tasks), max(frame_gaps, default=0.0)


def niced_chromium(folder: Path) -> str:
    wrapper = folder / "chromium-nice"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 10 {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def run(
    n: int,
    seconds: float,
    warmup: float,
    with_page: bool,
    sim_process: bool,
    time_scale: str,
    py_spy: str | None = None,
) -> None:
    processes, url, sim_http = start_console(n, sim_process, time_scale)
    process = processes[-1]  # the console; its CPU is what is reported
    try:
        time.sleep(warmup)
        profiler = Profiler(process.pid, Path(py_spy) / f"streams-{n}.txt") if py_spy else None
        if profiler is not None:
            profiler.start()
        before = sample(url, process.pid, sim_http)
        time.sleep(seconds)
        alone = figures(url, process.pid, sim_http, before)
        report(n, "no page", alone, None)
        if profiler is not None:
            print("\n".join(profiler.stop()), flush=True)
        if not with_page:
            return

        with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
            browser = p.chromium.launch(
                executable_path=niced_chromium(Path(folder)),
                args=["--no-sandbox", "--disable-gpu"],
                headless=True,
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(PERF_PROBE)
            probe = BrowserProbe(page)
            page.goto(url)
            page.wait_for_function(f"document.querySelectorAll('[data-testid=session-card]').length === {n}")
            # Long enough that building the page is out of the 30 s loop-lag window at the end.
            page.wait_for_timeout(warmup * 1000)
            before = sample(url, process.pid, sim_http)
            since, busy, sent = probe.now(), probe.task_seconds(), probe.ws_bytes
            page.wait_for_timeout(seconds * 1000)
            shown = figures(url, process.pid, sim_http, before)
            busy_share = 100 * (probe.task_seconds() - busy) / seconds
            longest, count, gap = probe.worst(since)
            report(n, "overview", shown, (busy_share, longest, count, gap, (probe.ws_bytes - sent) / seconds))
            browser.close()
    finally:
        for each in processes:
            each.terminate()
            each.wait(15)


def report(n: int, how: str, f: Figures, page: tuple[float, float, int, float, float] | None) -> None:
    per_cpu = f.tokens_per_s / max(f.cpu_percent / 100, 1e-9)  # tokens applied per CPU-second
    line = (
        f"N={n:<4} {how:<9} server CPU {f.cpu_percent:5.1f}%  loop lag p50 {f.lag_ms[0]:5.1f} ms"
        f" p99 {f.lag_ms[1]:6.1f} ms max {f.lag_ms[2]:6.1f} ms  PONG p99 {f.pong_p99_ms:6.1f} ms"
        f" (max {f.pong_max_ms:.1f}, {f.pongs} pongs)  tokens/s {f.tokens_per_s:6.0f}"
        f" ({f.tokens_per_s / n:4.1f}/session)"
        f"  tokens per CPU-s {per_cpu:6.0f} ({100 * per_cpu / FLOOR:4.1f}% of the floor)"
    )
    if page is not None:
        busy, longest, count, gap, rate = page
        line += (
            f"  | to browser {rate / 1024:6.1f} KB/s  main thread busy {busy:4.1f}%"
            f"  longest task {longest:5.1f} ms ({count} >= 50 ms)  longest frame gap {gap:5.1f} ms"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="each measurement (the lag window is 30 s)"
    )
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument(
        "--page-up-to",
        type=int,
        default=200,
        help="open the overview in Chromium only up to this many sessions (above: headless only)",
    )
    parser.add_argument(
        "--sim-process",
        action="store_true",
        help="serve the agents from `main.py sim agent` in a second process, not the console's own",
    )
    parser.add_argument("--time-scale", default=TIME_SCALE, help="multiply the agents' token delays")
    parser.add_argument("--py-spy", help="profile the console (no page); collapsed stacks to this folder")
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores; token delays x{args.time_scale}; {args.seconds:.0f} s per measurement;"
        f" agents served {'by a second process' if args.sim_process else 'in the console process'}",
        flush=True,
    )
    for n in args.sessions:
        run(
            n,
            args.seconds,
            args.warmup,
            with_page=n <= args.page_up_to,
            sim_process=args.sim_process,
            time_scale=args.time_scale,
            py_spy=args.py_spy,
        )


if __name__ == "__main__":
    main()
