"""Benchmark of the operations view: N autopiloted sessions streaming at once.

Run: python tests/bench/streams.py [--sessions 10 50 100 200 1000] [--seconds 30] [--page-up-to 200]
     [--sim-process] [--time-scale 0.6] [--py-spy FOLDER] [--reference 100] [--sim-processes K] [--store]

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
  fleet line      CPU per token of the console and of the agent simulator's processes (its share of a
                  core, and its per-frame cost against the frames it logged), how late its paced
                  waits ended on average and how much script time it let go (none: it kept every
                  session's pace), and with --reference N each session's rate as a share of the
                  rate the same agents reach at N sessions
  cycle line      where the sessions' time went, as the simulator saw it: the client's turn (the
                  reply's end read, the autopilot's think time, the next prompt read), replying (of
                  it the scripts' own time and the TOOL_ACK waits; the rest is lateness not made up),
                  and how many tokens the scripts put in a second of their time: the agents'
                  workload, which differs between N (other sessions, other prompts), so a rate
                  against --reference mixes the console's cost with the workload's difference
  journal line    with --store: what the console wrote to storage (its journal file and write-ahead
                  log, checkpoints included: /proc/PID/io), per second and per token applied
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
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.browser_probe import PERF_PROBE, BrowserProbe, niced_chromium  # noqa: E402
from tests.bench.profile import Profiler  # noqa: E402

# 30-80 ms token delays x 0.6: ~30 tokens/s while a reply streams (x 1.0: the agents' own ~16 tokens/s).
TIME_SCALE = "0.6"
TICKS = os.sysconf("SC_CLK_TCK")
# Tokens per CPU-second of one core receiving and applying them in bulk (websockets' receive on uvloop,
# then decode -> sequence -> reduce: tests/bench/socket_floor.py, tests/bench/pipeline.py).
FLOOR = 172_000
JOURNALED: list[bool] = [False]  # `--store`: each console journals to a fresh SQLite file


@dataclass
class ServerSample:
    wall: float
    cpu: float  # seconds
    tokens: float
    pongs_seen: tuple[int, ...]  # per simulator process


@dataclass
class Figures:
    cpu_percent: float
    lag_ms: tuple[float, float, float]
    pong_p99_ms: float
    pong_max_ms: float
    pongs: int
    tokens_per_s: float


@dataclass
class SimSample:
    """The agent simulator processes together: CPU seconds and frames written."""

    wall: float
    cpu: float
    frames: int
    waits: int = 0  # paced waits ended, their summed lateness, and the script time let go
    lateness: float = 0.0
    let_go: float = 0.0
    cycles: tuple[float, ...] = ()  # the reply cycles' parts, summed (`CYCLE_PARTS`)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def simulator_pids(console: int) -> list[int]:
    """The console's agent simulator processes (`console/sim/process.py`), its children."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if parent == console and b"console.sim.process" in command:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def scrape(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def metric(text: str, pattern: str) -> list[float]:
    return [float(v) for v in re.findall(rf"^{pattern} (\S+)$", text, re.MULTILINE)]


def pong_latencies(sims: tuple[str, ...]) -> list[list[float]]:
    """Each simulator's logged PONG latencies, oldest first."""
    logs = []
    for sim_http in sims:
        # A saturated loop (1,000 sessions and their simulator in one process) can take a while to serve it.
        log = httpx.get(f"{sim_http}/log", timeout=90).json()
        logs.append([float(e["latency_ms"]) for e in log if e.get("kind") == "pong" and "latency_ms" in e])
    return logs


def sim_sample(pids: list[int], sims: tuple[str, ...]) -> SimSample:
    health = [httpx.get(f"{sim_http}/health", timeout=30).json() for sim_http in sims]
    cpu = sum(cpu_seconds(pid) for pid in pids)
    frames, waits = sum(int(h["frames"]) for h in health), sum(int(h["waits"]) for h in health)
    lateness, let_go = sum(float(h["lateness_s"]) for h in health), sum(float(h["let_go_s"]) for h in health)
    cycles = tuple(sum(float(h.get("cycles", {}).get(part, 0)) for h in health) for part in CYCLE_PARTS)
    return SimSample(time.monotonic(), cpu, frames, waits, lateness, let_go, cycles)


CYCLE_PARTS = ("replies", "tokens", "idle_s", "start_s", "reply_s", "first_s", "planned_s", "acks_s")


def cycle_report(n: int, before: SimSample, after: SimSample) -> str:
    """Where the sessions' time went, as the simulator saw it (`console/sim/agent_context.Cycles`):
    shares of all sessions' time, what of the replying was their scripts' own time, and how many
    tokens the scripts put in a second of it (the agents' workload: it differs between populations)."""
    if not before.cycles or not after.cycles:
        return ""
    replies, tokens, idle, start, reply, first, planned, acks = (
        b - a for a, b in zip(before.cycles, after.cycles, strict=True)
    )
    total = idle + start + reply + first
    if replies <= 0 or total <= 0 or planned <= 0:
        return ""
    share = [100 * x / total for x in (idle, start, reply, first)]
    seconds = after.wall - before.wall
    return (
        f"\nN={n:<4} cycle     sessions' time: client's turn (end read, think, prompt read) {share[0]:4.1f}%,"
        f" before a reply starts {share[1]:4.2f}%, replying {share[2]:4.1f}% (of it script"
        f" {100 * planned / reply:4.1f}%, TOOL_ACK waits {100 * acks / reply:3.1f}%), before the first prompt"
        f" {share[3]:3.1f}% | tokens made {tokens / seconds / n:4.1f}/s per session, {tokens / planned:4.1f}"
        f" per script second, {tokens / replies:3.0f} per reply"
    )


def fleet_report(
    n: int, f: Figures, sim: tuple[SimSample, SimSample], processes: int, reference: float | None
) -> str:
    """What decides whether N sessions get their agents' full rate: each side's CPU per token."""
    before, after = sim
    seconds = after.wall - before.wall
    sim_cpu, frames = after.cpu - before.cpu, after.frames - before.frames
    per_token = 1e4 * f.cpu_percent / f.tokens_per_s if f.tokens_per_s else float("nan")
    per_frame = 1e6 * sim_cpu / frames if frames else float("nan")
    line = (
        f"N={n:<4} fleet     console {f.cpu_percent:5.1f}% of a core, {per_token:5.1f} us CPU/token"
        f" | simulator ({processes} process{'es' if processes > 1 else ''}) {100 * sim_cpu / seconds:5.1f}%"
        f" of a core, {per_frame:5.1f} us CPU/frame, {frames / seconds:6.0f} frames/s"
    )
    waits = after.waits - before.waits
    if waits:  # how the simulator kept its scripts' pace (0 s let go: every session got its rate)
        late_ms = 1000 * (after.lateness - before.lateness) / waits
        line += f", waits {late_ms:4.1f} ms late, {after.let_go - before.let_go:5.1f} s let go"
    if reference:
        rate = f.tokens_per_s / n
        line += f" | {rate:4.1f} tokens/s per session: {100 * rate / reference:3.0f}% of the agents' {reference:.1f}"
    return line + cycle_report(n, before, after)


def sample(url: str, pid: int, sims: tuple[str, ...]) -> ServerSample:
    tokens = sum(metric(scrape(url), r"agent_console_session_tokens_total\{[^}]*\}"))
    seen = tuple(len(log) for log in pong_latencies(sims))
    return ServerSample(time.monotonic(), cpu_seconds(pid), tokens, seen)


def figures(url: str, pid: int, sims: tuple[str, ...], before: ServerSample) -> Figures:
    after = sample(url, pid, sims)
    text = scrape(url)
    lag = [
        metric(text, rf'agent_console_event_loop_lag_recent_seconds\{{quantile="{q}"\}}')[0] * 1000
        for q in ("0.5", "0.99", "1.0")
    ]
    logs = zip(pong_latencies(sims), before.pongs_seen, strict=True)
    pongs = sorted(latency for log, seen in logs for latency in log[seen:])
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


def disk_written(pid: int) -> int:
    """Bytes the process has caused to be written to storage (`/proc/PID/io`: the journal's file
    and its write-ahead log, checkpoints included)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def journal_args() -> list[str]:
    if not JOURNALED[0]:
        return ["--no-store"]
    return ["--store", str(Path(tempfile.mkdtemp(prefix="streams-")) / "journal.sqlite3")]


def start_console(
    n: int, sim_process: bool, time_scale: str, sim_processes: int | None = None
) -> tuple[list[subprocess.Popen[bytes]], str, tuple[str, ...]]:
    """The console with N streams; returns its processes, its URL and the agent simulators'."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # No journal unless asked (`--store`): each run starts empty, and never waits for another console's.
    args = [
        "--no-show",
        *journal_args(),
        "--port",
        str(port),
        "--streams",
        str(n),
        "--sim-time-scale",
        time_scale,
    ]
    if sim_processes is not None:
        args += ["--sim-processes", str(sim_processes)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if sim_process:
            sim_port = free_port()
            processes.append(spawn("sim", "agent", "--port", str(sim_port), "--time-scale", time_scale))
            sims = (f"http://127.0.0.1:{sim_port}",)
            wait_http(f"{sims[0]}/health", "the agent simulator")
            args += ["--upstream", f"agent=ws://127.0.0.1:{sim_port}/ws"]
        processes.append(spawn(*args))
        wait_http(f"{url}/api/simulators", "the console")
        while not sim_process:  # described once it listens (a process of its own takes a moment)
            described = httpx.get(f"{url}/api/simulators", timeout=5).json()
            if "agent" in described:  # "agent", and "agent.2"… when the agents are split over processes
                sims = tuple(v["http"] for k, v in described.items() if k.split(".")[0] == "agent")
                break
            time.sleep(0.2)
    except BaseException:
        for process in processes:
            process.kill()
        raise
    return processes, url, sims


def run(
    n: int,
    seconds: float,
    warmup: float,
    with_page: bool,
    sim_process: bool,
    time_scale: str,
    py_spy: str | None = None,
    reference: float | None = None,
    sim_processes: int | None = None,
) -> float:
    """Measure N sessions; returns the tokens/s each session got with no page open."""
    processes, url, sims = start_console(n, sim_process, time_scale, sim_processes)
    process = processes[-1]  # the console; its CPU is what is reported
    try:
        time.sleep(warmup)
        sim_pids = [processes[0].pid] if sim_process else simulator_pids(process.pid)
        profilers = []
        if py_spy:  # the console, and each simulator process
            Path(py_spy).mkdir(parents=True, exist_ok=True)
            profilers.append(Profiler(process.pid, Path(py_spy) / f"streams-{n}.txt"))
            for i, pid in enumerate(sim_pids):
                profilers.append(Profiler(pid, Path(py_spy) / f"streams-{n}-simulator-{i + 1}.txt"))
        for profiler in profilers:
            profiler.start()
        sim_before = sim_sample(sim_pids, sims)
        before = sample(url, process.pid, sims)
        written = disk_written(process.pid)
        time.sleep(seconds)
        alone = figures(url, process.pid, sims, before)
        written = disk_written(process.pid) - written
        sim_after = sim_sample(sim_pids, sims)
        report(n, "no page", alone, None)
        if JOURNALED[0]:
            print(
                f"N={n:<4} journal   written to disk {written / seconds / 1e6:5.2f} MB/s"
                f" ({written / max(alone.tokens_per_s * seconds, 1):5.0f} bytes per token)",
                flush=True,
            )
        print(fleet_report(n, alone, (sim_before, sim_after), len(sim_pids), reference), flush=True)
        for profiler in profilers:
            print(f"  where the time goes (py-spy, {profiler.path}):")
            print("\n".join(profiler.stop()), flush=True)
        if not with_page:
            return alone.tokens_per_s / n

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
            before = sample(url, process.pid, sims)
            since, busy, sent = probe.now(), probe.task_seconds(), probe.ws_bytes
            page.wait_for_timeout(seconds * 1000)
            shown = figures(url, process.pid, sims, before)
            busy_share = 100 * (probe.task_seconds() - busy) / seconds
            longest, count, gap = probe.worst(since)
            report(n, "overview", shown, (busy_share, longest, count, gap, (probe.ws_bytes - sent) / seconds))
            browser.close()
        return alone.tokens_per_s / n
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
    parser.add_argument(
        "--py-spy", help="profile the console and the simulator (no page); collapsed stacks to this folder"
    )
    parser.add_argument(
        "--sim-processes", type=int, help="the console's agent simulator processes (main.py --sim-processes)"
    )
    parser.add_argument(
        "--reference",
        type=int,
        help="first measure this many sessions (no page): each session's rate there is the agents' own",
    )
    parser.add_argument(
        "--store", action="store_true", help="journal every session to a fresh SQLite file (default: none)"
    )
    args = parser.parse_args()
    JOURNALED[0] = args.store
    print(
        f"{os.cpu_count()} cores; token delays x{args.time_scale}; {args.seconds:.0f} s per measurement;"
        f" agents served {'by a second process' if args.sim_process else 'in the console process'}",
        flush=True,
    )
    reference = None
    if args.reference:
        reference = run(args.reference, args.seconds, args.warmup, False, args.sim_process, args.time_scale)
        print(f"the agents' own rate: {reference:.1f} tokens/s per session (at {args.reference})", flush=True)
    for n in args.sessions:
        run(
            n,
            args.seconds,
            args.warmup,
            with_page=n <= args.page_up_to,
            sim_process=args.sim_process,
            time_scale=args.time_scale,
            py_spy=args.py_spy,
            reference=reference,
            sim_processes=args.sim_processes,
        )


if __name__ == "__main__":
    main()
