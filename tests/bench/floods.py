"""Benchmark of hostile floods: the cost of each kind of flood at 1x, 10x and 100x its size.

Run: python tests/bench/floods.py [--kinds errors contexts tool_calls deep ideas] [--scales 1 10 100]
     [--streams 99] [--root PATH] [--py-spy FOLDER]

For each flood kind and scale the console runs as it ships (`python main.py --no-show --upstream ...`,
from `--root`, so that an older checkout can be measured with the same script) with one session
against a hostile server on loopback (`tests/hostile/servers.py`) and `--streams` autopiloted
sessions against an agent simulator in a process of its own (the operations load: 100 sessions in
all by default). The flooded session's page is open in headless Chromium (the context tab for the
contexts flood). The hostile server sends the flood as fast as the socket takes it, a PING every 500
frames, then PINGs in binary frames (answered in their turn) until the console has applied all.
Figures:

  startup    before any flood: seconds from launch until every session is live (and the worst
             event-loop lag until then), then the worst lag while the page opens in Chromium
  stall      the worst event-loop lag while flooded: the upper bound of the highest bucket of the
             console's own lag histogram (/metrics) that gained a sample during the flood
  PONG p99   PING written -> PONG read, at the hostile server (max in brackets)
  RSS +MB    the console's resident memory: the highest sample while flooded minus before
  /metrics   latency of a scrape while flooded (p50 / p99 / max), polled every 0.25 s; in brackets
             the longest the console itself took to build one (start to text, its turns included)
  seconds    from the first frame until the console has applied the last (a binary PING answered;
             for the chat, its reply shown as done)
  CPU us/fr  the console's CPU time (user + system) per flood frame: its CPU while flooded, less what
             it spent at the same rate before the flood (the other sessions, the open page). It does
             not grow with the machine's load as wall-clock figures do: constant across scales when
             the cost per frame is
  load       the machine's load average (1 minute) at the end: wall-clock figures grow with it

Every figure but the startup ones is taken during the flood proper: the flood begins only once
startup has settled (every session live, the page open, /metrics answering fast again), so the cost of
starting 100 sessions and Chromium is reported apart and not charged to the flood.

Flood kinds (base size = 1x):
  errors      400 ERROR frames, messages cycling through 7 texts
  contexts    100 CONTEXT_SNAPSHOTs, each for a new context id
  tool_calls  100 TOOL_CALLs that are never answered
  deep        100 frames nested 255-1,024 levels in args, data, results and messages
  ideas       200 chunks of one idea (chat dialect; the prompt is typed in the page)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from console import jsonvalue  # noqa: E402
from tests.bench.profile import Profiler  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.hostile.servers import Peer, RawWebSocketServer, frame, nested_text  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
BASE = {"errors": 400, "contexts": 100, "tool_calls": 100, "deep": 100, "ideas": 200}
PING_EVERY = 500
BATCH = 50  # frames written at once
LIVE = ("open", "streaming", "tool_call_pending")
SETTLED = 0.1  # a scrape this fast, three in a row with every session live: startup is over
SETTLE_LIMIT = 90.0


def agent_frames(kind: str, size: int) -> Callable[[int, int], str]:
    """The n-th frame of an agent flood, given its seq."""
    if kind == "errors":
        return lambda n, seq: json.dumps(
            {"type": "ERROR", "seq": seq, "code": "E", "message": f"failure {n % 7}"}
        )
    if kind == "contexts":
        return lambda n, seq: json.dumps(
            {
                "type": "CONTEXT_SNAPSHOT",
                "seq": seq,
                "context_id": f"ctx-{n}",
                "data": {"n": n, "items": [n] * 8},
            }
        )
    if kind == "tool_calls":
        return lambda n, seq: json.dumps(
            {
                "type": "TOOL_CALL",
                "seq": seq,
                "stream_id": "s1",
                "call_id": f"call-{n}",
                "tool_name": "t",
                "args": {"n": n},
            }
        )
    if kind == "deep":
        depths = (255, 500, 1000)
        fields = (
            '"type": "TOOL_CALL", "stream_id": "s1", "call_id": "c{n}", "tool_name": "t", "args": {{"a": {deep}}}',
            '"type": "CONTEXT_SNAPSHOT", "context_id": "ctx", "data": {deep}',
            '"type": "TOOL_RESULT", "stream_id": "s1", "call_id": "c{n}", "result": {{"r": {deep}}}',
            '"type": "ERROR", "code": "E", "message": {deep}',
        )
        return lambda n, seq: (
            f'{{"seq": {seq}, '
            + fields[n % len(fields)].format(n=n, deep=nested_text(depths[n % len(depths)]))
            + "}"
        )
    raise ValueError(kind)


@dataclass
class Flood:
    kind: str
    size: int
    pings: dict[str, float] = field(default_factory=dict)
    pongs: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0  # frames written

    async def agent(self, peer: Peer) -> None:
        # Built before the flood: the benchmark's own loop (which also reads the PONGs and the
        # scrapes it times) must not spend the flood building frames.
        make = agent_frames(self.kind, self.size)
        planned: list[tuple[str | None, bytes]] = []  # (the challenge of a PING, the frame)
        seq = 1
        for n in range(self.size):
            if n % PING_EVERY == 0:
                ping = {"type": "PING", "seq": seq, "challenge": f"p{n}"}
                planned.append((f"p{n}", frame(json.dumps(ping))))
                seq += 1
            planned.append((None, frame(make(n, seq))))
            seq += 1
        await self.go.wait()
        self.started = time.monotonic()
        batch: list[bytes] = []
        for challenge, data in planned:
            batch.append(data)
            if challenge is not None:
                self.pings[challenge] = time.monotonic()
            if challenge is not None or len(batch) >= BATCH:
                await self.write(peer, batch)
        await self.write(peer, batch)
        await self.settle(peer, seq)

    async def write(self, peer: Peer, batch: list[bytes]) -> None:
        """As fast as the socket takes it, yet giving the benchmark's loop a turn per batch: a PONG
        or a scrape answer read late would be charged to the console."""
        peer.send(b"".join(batch))
        self.sent += len(batch)
        batch.clear()
        await peer.drain()
        await asyncio.sleep(0)

    async def chat(self, peer: Peer) -> None:
        while not peer.received:
            await asyncio.sleep(0.02)
        first = jsonvalue.loads(peer.received[0][1])
        chat_id = first.get("chatId") if isinstance(first, dict) else None
        chunks = [
            frame(json.dumps({"tag": "idea", "chunk": f"word{n} ", "chatId": chat_id}))
            for n in range(self.size)
        ]
        self.started = time.monotonic()
        for start in range(0, len(chunks), BATCH):
            await self.write(peer, chunks[start : start + BATCH])
        peer.send(frame(json.dumps({"tag": "idea", "chunk": "end", "chatId": chat_id, "done": True})))
        peer.send(frame(json.dumps({"tag": "message", "chunk": "ok", "chatId": chat_id, "done": True})))
        peer.send(frame(json.dumps({"tag": "done", "chatId": chat_id})))
        await peer.drain()
        self.finished.set()

    async def settle(self, peer: Peer, seq: int) -> None:
        """PING until the console answers: in binary frames, which the console does not look into
        ahead of their turn (a text PING is answered as soon as it is read), so the PONG says that
        everything before it was applied."""
        for n in range(960):
            ping = {"type": "PING", "seq": seq + n, "challenge": f"end{n}"}
            peer.send(frame(json.dumps(ping).encode(), opcode=0x2))
            await peer.drain()
            await asyncio.sleep(0.25)
            if any(str(pong["echo"]).startswith("end") for _, pong in peer.sent("PONG")):
                break
        self.finished.set()

    def pong_delays(self, peer: Peer) -> list[float]:
        # Only PONGs that answer a PING this connection was sent (a restarted session's replies do not count).
        sent = {str(pong["echo"]): at for at, pong in peer.sent("PONG")}
        return [sent[c] - at for c, at in self.pings.items() if c in sent and sent[c] >= at]


def lag_buckets(text: str) -> dict[str, float]:
    pattern = r'^agent_console_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$'
    return {le: float(count) for le, count in re.findall(pattern, text, re.M)}


def worst_lag(before: dict[str, float], after: dict[str, float]) -> float:
    """The smallest bucket bound under which every lag sample taken between the two scrapes falls."""
    total = after.get("+Inf", 0) - before.get("+Inf", 0)
    bounds = sorted((float(le), count) for le, count in after.items() if le != "+Inf")
    for bound, count in bounds:
        if count - before.get(_label(bound), 0) >= total:
            return bound
    return float("inf")


def _label(bound: float) -> str:
    return str(bound)


def live_sessions(text: str) -> int:
    """Sessions whose link is up, from the `agent_console_sessions` gauge."""
    return int(sum(metric(text, "agent_console_sessions", f'{{state="{state}"}}') or 0 for state in LIVE))


async def settle(http: httpx.AsyncClient, url: str, sessions: int) -> tuple[float, str]:
    """Wait until every session is live and three scrapes in a row answer within `SETTLED`; returns
    the seconds waited and the last scrape (its lag histogram covers the whole startup)."""
    started = time.monotonic()
    fast = 0
    text = ""
    while time.monotonic() - started < SETTLE_LIMIT:
        latency, text = await scrape(http, url)
        up = live_sessions(text) >= sessions if text else False
        fast = fast + 1 if up and latency < SETTLED else 0
        if fast >= 3:
            break
        await asyncio.sleep(0.25)
    return time.monotonic() - started, text


def metric(text: str, name: str, labels: str = "") -> float | None:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else None


async def scrape(http: httpx.AsyncClient, url: str) -> tuple[float, str]:
    """A scrape's latency and text; a scrape that gets no answer in 30 s counts as 30 s and no text.

    Timed in a thread of its own, as a monitoring system would scrape: this process's event loop is
    busy writing the flood, and the turns a scrape waited there are not the console's."""
    return await asyncio.to_thread(_scrape_blocking, f"{url}/metrics")


_SCRAPER = httpx.Client()


def _scrape_blocking(url: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        response = _SCRAPER.get(url, timeout=30)
    except httpx.HTTPError:
        return time.perf_counter() - started, ""
    return time.perf_counter() - started, response.text


async def measure(kind: str, scale: int, args: argparse.Namespace, sim_url: str) -> str:
    flood = Flood(kind, BASE[kind] * scale)
    server = RawWebSocketServer(flood.chat if kind == "ideas" else flood.agent)
    await server.start()
    dialect = "chat" if kind == "ideas" else "agent"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "main.py", "--no-show", "--port", str(port), *args.console_flags]
    if args.streams:
        command += ["--upstream", f"agent={sim_url}", "--streams", str(args.streams)]
    command += ["--upstream", f"{dialect}={server.url}"]
    console = await asyncio.create_subprocess_exec(
        *command, cwd=args.root, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    launched = time.monotonic()
    try:
        async with httpx.AsyncClient() as http, async_playwright() as p:
            for _ in range(150):
                try:
                    if (await http.get(f"{url}/metrics", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            waited, started = await settle(http, url, args.streams + 1)
            up = (time.monotonic() - launched, worst_lag({}, lag_buckets(started)), waited)
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = await browser.new_page()
            await open_page(page, url, dialect, kind)
            waited, before = await settle(http, url, args.streams + 1)
            opened = worst_lag(lag_buckets(started), lag_buckets(before))
            unsettled = max(up[2], waited) >= SETTLE_LIMIT
            rss_before = metric(before, "process_resident_memory_bytes") or 0.0
            idle_rate = await cpu_rate(console.pid)
            profiler = None
            if args.py_spy:
                profiler = Profiler(console.pid, Path(args.py_spy) / f"{kind}-{flood.size}.txt")
                profiler.start()
            cpu_start = cpu_seconds(console.pid)
            flood.go.set()
            if kind == "ideas":
                await page.fill("[data-testid=chat-input]", "ideas please")
                await page.keyboard.press("Enter")
            latencies: list[float] = []
            built: list[float] = []  # the console's own time for each scrape (told by the next one)
            rss_peak = rss_before
            # Until the console has applied it all: the agent flood's last TOOL_CALL acked, the chat's
            # reply shown as done.
            replied = page.locator("[data-testid=message][data-role=assistant][data-status=done]")
            done = False
            while not done:
                finished = flood.finished.is_set()
                latency, text = await scrape(http, url)
                latencies.append(latency)
                built.append(metric(text, "agent_console_scrape_duration_seconds") or 0.0)
                rss_peak = max(rss_peak, metric(text, "process_resident_memory_bytes") or 0.0)
                done = finished and (kind != "ideas" or await replied.count() > 0)
                await asyncio.sleep(0.25)
            seconds = time.monotonic() - flood.started
            cpu = cpu_seconds(console.pid) - cpu_start - idle_rate * seconds
            profile = profiler.stop() if profiler is not None else []
            text = ""
            for _ in range(5):  # the flood is over: the console answers again
                await asyncio.sleep(0.5)
                latency, text = await scrape(http, url)
                if text:
                    break
            stall = worst_lag(lag_buckets(before), lag_buckets(text))
            await browser.close()
        peer = server.peers[0] if server.peers else None
        delays = sorted(flood.pong_delays(peer)) if peer else []
        pong = (
            f"{quantile(delays, 0.99) * 1000:8.0f} ms ({max(delays) * 1000:.0f})"
            if delays
            else "         n/a"
        )
        scrapes = " / ".join(f"{quantile(sorted(latencies), q) * 1000:.0f}" for q in (0.5, 0.99, 1.0))
        scrapes += f" ({max(built[1:], default=0.0) * 1000:.0f})"
        return "\n".join(
            [
                f"{kind:<11}{flood.size:>8,}  {up[0]:5.1f} s {_stall(up[1]):>10} {_stall(opened):>10}  "
                f"{_stall(stall):>10}  "
                f"{pong:<20}{(rss_peak - rss_before) / 1e6:8.1f}  {scrapes + ' ms':<24}{seconds:8.1f}"
                f"{cpu / flood.size * 1e6:10.0f}{os.getloadavg()[0]:6.1f}",
                *([] if not unsettled else [f"  (startup had not settled after {SETTLE_LIMIT:.0f} s)"]),
                *profile,
            ]
        )
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            console.terminate()
        try:
            await asyncio.wait_for(console.wait(), 15)
        except TimeoutError:
            console.kill()
        await server.stop()


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_rate(pid: int, seconds: float = 2.0) -> float:
    """The process's CPU seconds per second over the next `seconds`."""
    start = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - start) / seconds


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _stall(seconds: float) -> str:
    return "> 2500 ms" if seconds == float("inf") else f"≤ {seconds * 1000:.0f} ms"


async def open_page(page: Page, url: str, dialect: str, kind: str) -> None:
    await page.goto(f"{url}/session/{dialect}")
    await page.wait_for_selector("[data-testid=connection-status]", state="attached")
    if kind == "contexts":
        tab = page.locator("[data-testid=context-tab]")
        if await tab.count():
            await tab.first.click()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", nargs="+", default=list(BASE))
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument(
        "--streams", type=int, default=99, help="autopiloted sessions besides the flooded one"
    )
    parser.add_argument("--root", default=str(ROOT), help="checkout to run")
    parser.add_argument("--py-spy", help="profile the console while flooded; collapsed stacks to this folder")
    args = parser.parse_args()
    args.console_flags = await asyncio.to_thread(console_flags, args.root)
    sim_port = free_port()
    sim = await asyncio.create_subprocess_exec(
        *[sys.executable, "main.py", "sim", "agent", "--port", str(sim_port)],
        cwd=args.root,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(3.0)
    print(f"console: {args.root}; {args.streams} autopiloted sessions besides the flooded one")
    print(
        "startup: sessions up in s (worst stall from launch), then the page opened (worst stall);"
        " the rest: during the flood proper, after both settled"
    )
    print(
        f"{'kind':<11}{'frames':>8}  {'sessions up (stall)':>19} {'page open':>10}  {'stall':>10}  "
        f"{'PONG p99 (max)':<20}{'RSS +MB':>8}  "
        f"{'/metrics p50/p99/max (own)':<24}{'seconds':>8}{'CPU us/fr':>10}{'load':>6}"
    )
    try:
        for kind in args.kinds:
            for scale in args.scales:
                try:
                    row = await asyncio.wait_for(
                        measure(kind, scale, args, f"ws://127.0.0.1:{sim_port}/ws"), 240
                    )
                except TimeoutError:
                    row = f"{kind:<11}{BASE[kind] * scale:>8,}  not applied within 240 s"
                print(row, flush=True)
    finally:
        sim.terminate()
        await sim.wait()


def console_flags(root: str) -> list[str]:
    """`--no-store` where the console has a journal: each run starts empty, not with saved sessions."""
    shown = subprocess.run([sys.executable, "main.py", "--help"], cwd=root, capture_output=True, text=True)
    return ["--no-store"] if "--no-store" in shown.stdout else []


if __name__ == "__main__":
    asyncio.run(main())
