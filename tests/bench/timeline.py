"""Benchmark of the trace timeline under a steady event stream, in real Chromium.

Run: python tests/bench/timeline.py [--rate 50] [--seconds 60] [--hidden 30] [--baseline 20] [--alone 60]

A small agent-protocol emitter streams `--rate` server events per second: a response every 5 s (a
context snapshot, tokens, three tool calls with their results, STREAM_END) and a PING every second.
Phases:

1. the console (`python main.py --upstream agent=...`) with no page open (`--baseline` s): what the
   session itself costs the server;
2. the session page open on the Timeline tab, following the newest row (`--seconds` s);
3. the same page with the side panel hidden (`--hidden` s): the chat alone (its DOM is larger by
   then, which is the chat's cost growing, not the timeline's);
4. a page holding only the timeline panel (`--alone` s, row cap `--max-rows`), served by this script
   (`--serve`), so that the page's main thread does the timeline's work and NiceGUI's, not the chat's.

Figures per phase: server CPU (from /proc/<pid>/stat), long main-thread tasks (PerformanceObserver
"longtask": every task over 50 ms) and the longest gap between animation frames, the time the timeline
spends applying one pushed batch and rendering its window, timeline rows in the DOM against rows kept,
and websocket traffic to the page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Browser, Page, WebSocket, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
RESPONSE_EVENTS = 250  # a new response every 250 events
WORDS = ("the", "agent", "streams", "tokens", "while", "tools", "run", "and", "context", "shifts", "across")

INSTRUMENT = """
window.__bench = {longtasks: [], frames: [], batches: []};
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__bench.longtasks.push(e.duration);
}).observe({type: 'longtask', buffered: true});
let last = performance.now();
const frame = now => { window.__bench.frames.push(now - last); last = now; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
"""

# Time the timeline's own work: applying a pushed batch, and the render that follows it.
WRAP_TIMELINE = """() => {
  const root = document.querySelector('.ac-tl');
  const view = getElement(+root.id.slice(1));
  for (const name of ['push', 'render']) {
    const original = view[name];
    view[name] = (...args) => {
      const t = performance.now();
      const out = original.apply(view, args);
      window.__bench.batches.push([name, performance.now() - t]);
      return out;
    };
  }
  return true;
}"""


@dataclass
class Emitter:
    rate: float
    sent: int = 0
    connections: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def frame(self, n: int) -> JsonObject:
        """The n-th event. A response is 250 events (5 s at 50/s): a context snapshot, tokens, three
        tool calls each answered 25 events later, STREAM_END; a PING every 50 events throughout."""
        slot = n % RESPONSE_EVENTS
        if n % 50 == 0:
            return {"type": "PING", "challenge": f"{n:08x}"}
        if slot == 1:
            rows: list[JsonValue] = [self.rng.random() for _ in range(50)]
            data: JsonObject = {"region": self.rng.choice(WORDS), "rows": rows}
            return {"type": "CONTEXT_SNAPSHOT", "context_id": "ctx_bench", "data": data}
        if slot in (40, 110, 180):
            return {"type": "TOOL_CALL", "call_id": f"tc_{n}", "tool_name": "lookup", "args": {"n": n}}
        if slot in (65, 135, 205):  # never on a PING's slot
            return {"type": "TOOL_RESULT", "call_id": f"tc_{n - 25}", "result": {"value": n}}
        if slot == 249:
            return {"type": "STREAM_END"}
        return {"type": "TOKEN", "text": " ".join(self.rng.choices(WORDS, k=2)) + " "}

    def wire_frame(self, n: int) -> JsonObject:
        """The n-th event as sent: with its seq, and its response's stream id."""
        obj = self.frame(n)
        obj["seq"] = n + 1
        if obj["type"] in ("TOKEN", "TOOL_CALL", "TOOL_RESULT", "STREAM_END"):
            obj["stream_id"] = f"s_{n // RESPONSE_EVENTS}"
        return obj

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        reader = asyncio.create_task(self._drain(ws))
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0  # every connection is a session of its own, from seq 1
        try:
            while True:
                await ws.send(jsonvalue.dumps(self.wire_frame(n)))
                self.sent += 1
                n += 1
                await asyncio.sleep(max(0.0, start + n / self.rate - loop.time()))
        except ConnectionClosed:
            pass  # the console went away: the run is over
        finally:
            reader.cancel()

    async def _drain(self, ws: ServerConnection) -> None:
        async for _ in ws:  # PONGs and TOOL_ACKs
            pass


def run_emitter(emitter: Emitter, port: int, stop: threading.Event) -> None:
    async def main() -> None:
        async with serve(emitter.handler, "127.0.0.1", port):
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


CHIPS = """() => [...document.querySelectorAll('[data-testid=timeline-filter]')]
    .map(c => c.textContent.trim().replace(/\\s+/g, ' ')).join(', ')"""


def wait_connected(emitter: Emitter, connections: int) -> None:
    deadline = time.monotonic() + 30
    while emitter.connections < connections and time.monotonic() < deadline:
        time.sleep(0.1)
    assert emitter.connections >= connections, "no client connected to the emitter"


def measure_cpu(pid: int, seconds: float) -> float:
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - t0) * 100


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    events: int = 0
    cpu: float = 0.0
    longtasks: list[float] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)
    pushes: list[float] = field(default_factory=list)
    renders: list[float] = field(default_factory=list)
    dom_rows: list[int] = field(default_factory=list)
    dom_nodes: int = 0
    kept: int = 0
    note: str = ""
    reloads: int = 0
    traffic: dict[str, int] = field(default_factory=lambda: {"bytes": 0, "messages": 0})

    def report(self) -> None:
        t = self.seconds
        print(f"\n[{self.name}] {t:.0f} s, {self.events} server events ({self.events / t:.1f}/s)")
        print(f"  console CPU: {self.cpu:.1f}%")
        if self.reloads:
            print(f"  the page was reloaded {self.reloads} time(s) by NiceGUI (socket handshake failed)")
        lt = self.longtasks
        print(
            f"  page long tasks (>50 ms): {len(lt)}, longest {max(lt, default=0):.0f} ms, "
            f"{sum(lt) / t:.0f} ms/s in long tasks; longest frame gap {max(self.frames, default=0):.0f} ms"
        )
        if self.pushes:
            print(
                f"  timeline JS: {len(self.pushes) / t:.1f} batches/s, apply mean {statistics.fmean(self.pushes):.2f}"
                f" ms / max {max(self.pushes):.2f} ms; render mean {statistics.fmean(self.renders or [0]):.2f} ms"
                f" / max {max(self.renders, default=0):.2f} ms"
            )
        if self.dom_rows:
            print(
                f"  timeline rows in the DOM: {min(self.dom_rows)}–{max(self.dom_rows)} "
                f"(rows kept in the browser: {self.kept}); page DOM elements: {self.dom_nodes}"
            )
        if self.note:
            print(f"  {self.note}")
        print(
            f"  websocket to the page: {self.traffic['messages'] / t:.1f} messages/s, "
            f"{self.traffic['bytes'] / t / 1024:.1f} KB/s"
        )


TAKE = """() => { const b = window.__bench, out = {...b};
    b.longtasks = []; b.frames = []; b.batches = [];
    return [out, document.querySelectorAll('[data-testid=timeline-row]').length]; }"""


def collect(page: Page, phase: Phase) -> None:
    """Move what the page measured so far into the phase (a reload would lose it)."""
    bench, rows = page.evaluate(TAKE)
    phase.longtasks += bench["longtasks"]
    phase.frames += bench["frames"]
    phase.pushes += [d for name, d in bench["batches"] if name == "push"]
    phase.renders += [d for name, d in bench["batches"] if name == "render"]
    if rows:
        phase.dom_rows.append(rows)


def observe(page: Page, phase: Phase, pid: int, emitter: Emitter) -> Phase:
    """Watch the page for `phase.seconds` while the emitter streams."""
    try:
        page.evaluate(TAKE)  # what came before this phase is not part of it
    except PlaywrightError:
        phase.reloads += 1
        settle(page)
    phase.traffic.update(bytes=0, messages=0)
    sent, cpu, t0 = emitter.sent, cpu_seconds(pid), time.monotonic()
    duration, phase.seconds = phase.seconds, 0.0
    while time.monotonic() - t0 < duration:
        time.sleep(2.0)
        try:
            collect(page, phase)
        except PlaywrightError:
            # NiceGUI reloaded the page (its socket fell behind and the handshake failed): count it,
            # and go on measuring the reloaded page.
            phase.reloads += 1
            settle(page)
    phase.seconds = time.monotonic() - t0
    phase.cpu = (cpu_seconds(pid) - cpu) / phase.seconds * 100
    phase.events = emitter.sent - sent
    for _ in range(3):
        try:
            phase.dom_nodes, phase.kept = page.evaluate(
                "() => [document.getElementsByTagName('*').length,"
                " getElement(+document.querySelector('.ac-tl').id.slice(1)).rows.length]"
            )
            break
        except PlaywrightError:
            phase.reloads += 1
            settle(page)
    return phase


def serve_timeline_only(port: int, upstream: str, max_rows: int) -> None:
    """A page with nothing but the timeline panel of one session (phase 4)."""
    from nicegui import app, ui

    from console.dialects.agent.client import AgentClient
    from console.ui.timeline import TimelinePanel

    client = AgentClient(upstream)
    app.on_startup(client.start)

    @ui.page("/")
    def index() -> None:
        ui.query(".nicegui-content").classes("p-0 h-[100dvh]")
        with ui.element("div").classes("w-[30rem] h-full"):
            TimelinePanel(client, max_rows=max_rows)

    ui.run(host="127.0.0.1", port=port, show=False, reload=False, title="timeline bench")


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    log = (Path("/tmp") / f"bench-timeline-{port}.log").open("wb")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(10)


def open_page(browser: Browser, url: str, phase_box: list[Phase]) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.add_init_script(INSTRUMENT)

    def on_websocket(ws: WebSocket) -> None:
        def count(payload: str | bytes) -> None:
            phase_box[0].traffic["bytes"] += len(payload)
            phase_box[0].traffic["messages"] += 1

        ws.on("framereceived", count)

    page.on("websocket", on_websocket)
    page.goto(url)
    settle(page)
    return page


def settle(page: Page) -> None:
    """Wait for a page that stays (on a loaded machine NiceGUI may reload it once), then instrument it."""
    for _ in range(5):
        try:
            page.wait_for_function("() => window.did_handshake === true", timeout=30_000)
            page.wait_for_selector("[data-testid=timeline-row]")
            time.sleep(2.0)
            page.evaluate(WRAP_TIMELINE)
            return
        except PlaywrightError:
            continue


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve_timeline_only(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0, help="server events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="with the timeline open")
    parser.add_argument("--hidden", type=float, default=30.0, help="same page, side panel hidden")
    parser.add_argument("--baseline", type=float, default=20.0, help="no page open")
    parser.add_argument("--alone", type=float, default=60.0, help="a page with only the timeline")
    parser.add_argument("--max-rows", type=int, default=200, help="row cap of the timeline-only page")
    args = parser.parse_args()

    emitter = Emitter(args.rate)
    emit_port, port = free_port(), free_port()
    stop = threading.Event()
    threading.Thread(target=run_emitter, args=(emitter, emit_port, stop), daemon=True).start()
    upstream = f"ws://127.0.0.1:{emit_port}/ws"
    phases: list[Phase] = []
    current = [Phase("")]
    print(f"emitting {args.rate:.0f} events/s")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        console = start(
            ["main.py", "--no-show", "--port", str(port), "--upstream", f"agent={upstream}"], port
        )
        try:
            wait_connected(emitter, 1)
            if args.baseline:
                sent = emitter.sent
                baseline = Phase("console, no page open", args.baseline)
                baseline.cpu = measure_cpu(console.pid, args.baseline)
                baseline.events = emitter.sent - sent
                print(f"[{baseline.name}] console CPU {baseline.cpu:.1f}% ({baseline.events} events)")
            page = open_page(browser, f"http://127.0.0.1:{port}/session/agent", current)
            current[0] = Phase("console page, timeline open and following", args.seconds)
            phases.append(observe(page, current[0], console.pid, emitter))
            if args.hidden:
                page.click("[data-testid=toggle-panels]")
                time.sleep(1.0)  # not the moment of hiding itself
                current[0] = Phase("console page, side panel hidden (chat only)", args.hidden)
                phases.append(observe(page, current[0], console.pid, emitter))
            print("filter chips:", page.evaluate(CHIPS))
            page.close()
        finally:
            stop_process(console)
        if args.alone:
            port = free_port()
            command = [str(Path(__file__).resolve()), "--serve", str(port), upstream, str(args.max_rows)]
            alone = start(command, port)
            try:
                wait_connected(emitter, 2)
                page = open_page(browser, f"http://127.0.0.1:{port}/", current)
                current[0] = Phase(
                    f"page with only the timeline panel (cap {args.max_rows} rows)", args.alone
                )
                phases.append(observe(page, current[0], alone.pid, emitter))
                older = page.locator("[data-testid=timeline-older]")
                current[0].note = older.text_content() or "" if older.count() else "(no older rows)"
            finally:
                stop_process(alone)
        browser.close()
    stop.set()
    for phase in phases:
        phase.report()


if __name__ == "__main__":
    main()
