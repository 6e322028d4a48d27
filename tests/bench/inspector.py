"""Benchmark of the context inspector on 600 KB and 5 MB snapshots, in real Chromium, while a reply streams.

Run: python tests/bench/inspector.py [--sizes 600000 5000000] [--in-process]

A small agent-protocol server (console/dialects/agent/protocol.py frames) answers a prompt "big N TAG" with a
context snapshot of about N bytes, then streams tokens at 30 per second for six seconds, and 1.5 s in
sends an updated snapshot of the same context id (documents edited, inserted and removed). The console
(`python main.py --upstream agent=...`) is attached to it. Each size is run twice in Chromium: once with
the Timeline tab open (the baseline: what the stream and the rest of the page cost) and once with the
Context tab open. Printed figures, per size:

* in process (no browser): the diff and preparation of the step (the worker thread's part), the
  opening view a tab builds on the event loop and its JSON size, and the longest event-loop stall
  while a `StepCache` diffs the pair in its worker thread, against the same diff run on the loop;
* per run, the browser's main thread while the snapshots arrive and the reply streams: long tasks
  (PerformanceObserver "longtask", every task over 50 ms: the longest), the longest animation-frame
  gap, the longest gap between two text updates of the streaming reply; and the console's event loop:
  an HTTP probe every 20 ms from this script, worst response around the snapshots against the median;
* with the Context tab: from the server sending a snapshot frame to its rows in the tree (wall clock,
  same machine), for the first snapshot and the diffed update; then, click to rows on screen, scrubbing
  back, opening the largest array (a level asked of the server), scrubbing forward and jumping to the
  last change, with the longest task meanwhile.

Figures depend on what else the machine runs: compare the two runs of a size, taken a minute apart.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from playwright.sync_api import Page, sync_playwright
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from console import jsonvalue
from console.jsonvalue import JsonObject
from tests.bench.inspector_loop import in_process, sentence, snapshot_pair
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_console, stop_console
from tests.helpers import free_port

TOKENS_PER_SECOND = 30
STREAM_SECONDS = 6.0
UPDATE_AFTER = 1.5

INSTRUMENT = """
window.__bench = {longtasks: [], frames: [], chat: [], seen: {}, marks: {}};
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
let last = performance.now();
const frame = now => { window.__bench.frames.push([now, now - last]); last = now; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
// Wall-clock times of what the bench waits for, the moment the DOM changes: each mark is a selector
// that must match, and one that must not (or null).
new MutationObserver(() => {
  const now = performance.timeOrigin + performance.now();
  for (const [name, [sel, absent]] of Object.entries(window.__bench.marks))
    if (!(name in window.__bench.seen) && document.querySelector(sel) && !(absent && document.querySelector(absent)))
      window.__bench.seen[name] = now;
  const reply = document.querySelector('[data-testid=message][data-role=assistant][data-status=streaming]');
  if (reply) {
    const length = reply.textContent.length;
    if (length !== window.__bench.chatLength) {
      window.__bench.chatLength = length;
      window.__bench.chat.push(performance.now());
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ['data-change', 'data-focus']});
addEventListener('click', () => { window.__bench.clickAt = performance.timeOrigin + performance.now(); }, true);
"""


@dataclass
class Server:
    """Answers "big N TAG" with a snapshot pair of N bytes (context "ctx_TAG") around a streamed reply."""

    seq: int = 0
    connections: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    pairs: dict[int, tuple[str, str]] = field(default_factory=dict)

    def prepare(self, size: int) -> None:
        old, new = snapshot_pair(size)
        self.pairs[size] = (
            jsonvalue.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 0, "context_id": "ctx_TAG", "data": old}),
            jsonvalue.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 0, "context_id": "ctx_TAG", "data": new}),
        )

    async def send(self, ws: ServerConnection, obj: JsonObject) -> None:
        self.seq += 1
        obj["seq"] = self.seq
        await ws.send(jsonvalue.dumps(obj))

    async def send_snapshot(self, ws: ServerConnection, text: str, tag: str, name: str) -> None:
        self.seq += 1
        # The frame is prepared once: only its seq ("seq":0 comes first after the type) and tag change.
        frame = text.replace('"seq":0', f'"seq":{self.seq}', 1).replace("_TAG", f"_{tag}")
        self.sent_at[f"{tag}:{name}"] = time.time()
        await ws.send(frame)

    async def reply(self, ws: ServerConnection, size: int, tag: str, stream: str) -> None:
        first, second = self.pairs[size]
        rng = random.Random(size)
        await self.send_snapshot(ws, first, tag, "first")
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        updated = False
        while loop.time() - start < STREAM_SECONDS:
            if not updated and loop.time() - start >= UPDATE_AFTER:
                await self.send_snapshot(ws, second, tag, "second")
                updated = True
            await self.send(ws, {"type": "TOKEN", "stream_id": stream, "text": sentence(rng, 2) + " "})
            n += 1
            await asyncio.sleep(max(0.0, start + n / TOKENS_PER_SECOND - loop.time()))
        await self.send(ws, {"type": "STREAM_END", "stream_id": stream})

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        replies = 0
        try:
            async for message in ws:
                frame = jsonvalue.loads(message)
                if isinstance(frame, dict) and frame.get("type") == "USER_MESSAGE":
                    content = str(frame.get("content", ""))
                    if content.startswith("big "):
                        replies += 1
                        _, size, tag = content.split()
                        await self.reply(ws, int(size), tag, f"s_{replies}")
        except ConnectionClosed:
            pass


def run_server(server: Server, port: int, stop: threading.Event) -> None:
    async def serve_until_stopped() -> None:
        async with serve(server.handler, "127.0.0.1", port, max_size=None):
            while not stop.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(serve_until_stopped())


class LoopProbe:
    """Asks the console a trivial HTTP question every 20 ms: a late answer is a busy event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[float, float]] = []  # (wall time sent, seconds to answer)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stop.is_set():
                sent = time.time()
                t0 = time.perf_counter()
                http.get(f"{self.url}/api/simulators")
                self.samples.append((sent, time.perf_counter() - t0))
                time.sleep(0.02)

    def worst(self, since: float, until: float) -> tuple[float, float]:
        """Median over the whole run and worst response time within [since, until], in ms."""
        inside = [s for t, s in self.samples if since <= t <= until]
        median = statistics.median(s for _, s in self.samples)
        return median * 1000, max(inside, default=0.0) * 1000


def longest_task(page: Page, since_ms: float) -> tuple[float, float]:
    """The longest long task and the longest frame gap since `since_ms` (performance.now() time)."""
    bench = page.evaluate("() => window.__bench")
    tasks = [d for start, d in bench["longtasks"] if start >= since_ms]
    frames = [d for at, d in bench["frames"] if at >= since_ms]
    return max(tasks, default=0.0), max(frames, default=0.0)


def stream_round(page: Page, server: Server, probe: LoopProbe, size: int, tag: str, inspect: bool) -> None:
    """One reply with its snapshot pair; with `inspect`, the Context tab is open and timed too."""
    marks = {
        "first": [f'[data-testid=tree-node][data-path="$.corpus_{tag}"]', None],
        "diff": [f'[data-testid=tree-node][data-path="$.stats_{tag}.updated"][data-change=added]', None],
    }
    page.evaluate(
        "(marks) => { window.__bench.seen = {}; window.__bench.chat = []; window.__bench.marks = marks; }",
        marks if inspect else {},
    )
    replies = page.locator("[data-testid=message][data-role=assistant][data-status=done]").count()
    since = float(page.evaluate("() => performance.now()"))
    page.fill("[data-testid=chat-input]", f"big {size} {tag}")
    page.keyboard.press("Enter")
    page.wait_for_selector(
        f"[data-testid=message][data-role=assistant][data-status=done] >> nth={replies}", timeout=120_000
    )
    task, frame = longest_task(page, since)
    chat: list[float] = page.evaluate("() => window.__bench.chat")
    chat_gap = max((b - a for a, b in itertools.pairwise(chat)), default=0.0)
    median, worst = probe.worst(server.sent_at[f"{tag}:first"] - 0.05, server.sent_at[f"{tag}:second"] + 1.5)
    print(f"  {'Context tab open' if inspect else 'Timeline tab open (baseline)'}:")
    print(
        f"    browser: longest long task {task:.0f} ms (0: none over 50 ms), longest frame gap {frame:.0f} ms, "
        f"longest gap between chat text updates {chat_gap:.0f} ms"
    )
    print(f"    console event loop: probe median {median:.1f} ms, worst around the snapshots {worst:.1f} ms")
    if inspect:
        page.wait_for_function("() => 'diff' in window.__bench.seen", timeout=30_000)
        seen = page.evaluate("() => window.__bench.seen")
        first = seen["first"] - server.sent_at[f"{tag}:first"] * 1000
        second = seen["diff"] - server.sent_at[f"{tag}:second"] * 1000
        print(f"    frame sent -> rows drawn: first snapshot {first:.0f} ms, diffed update {second:.0f} ms")


def clicked(page: Page, target: str, appears: str, absent: str | None = None) -> float:
    """Milliseconds from a click on `target` to the DOM showing `appears` (and no longer `absent`),
    timed in the page: the round trip to the server and the drawing, not the test driver."""
    page.evaluate(
        "(mark) => { window.__bench.seen = {}; window.__bench.marks = {done: mark}; }", [appears, absent]
    )
    page.locator(target).click()
    page.wait_for_function("() => 'done' in window.__bench.seen", timeout=30_000)
    at: float = page.evaluate("() => window.__bench.seen.done - window.__bench.clickAt")
    return at


def interact(page: Page, tag: str) -> None:
    """Scrub back to the first snapshot, open its big array (one level from the server), scrub forward
    again (the diff is cached) and jump to the last change."""
    since = float(page.evaluate("() => performance.now()"))
    node = "[data-testid=tree-node]"
    back = clicked(
        page, "[data-testid=history-prev]", f'{node}[data-path="$.corpus_{tag}"]', f"{node}[data-change]"
    )
    opened = clicked(
        page, f'{node}[data-path="$.documents"] > .ac-line', f'{node}[data-path="$.documents[0]"]'
    )
    forward = clicked(
        page, "[data-testid=history-next]", f'{node}[data-path="$.stats_{tag}.updated"][data-change=added]'
    )
    items = page.locator("[data-testid=changed-path]")
    last = items.count() - 1
    path = items.nth(last).get_attribute("data-path")
    jumped = clicked(
        page, f"[data-testid=changed-path] >> nth={last}", f'{node}[data-path="{path}"][data-focus]'
    )
    task, frame = longest_task(page, since)
    nodes = page.locator(node).count()
    print(
        f"    click -> rows drawn: scrub back {back:.0f} ms; open $.documents {opened:.0f} ms; "
        f"scrub forward {forward:.0f} ms; jump to the last change ({path}) {jumped:.0f} ms"
    )
    print(
        f"    meanwhile: longest long task {task:.0f} ms, frame gap {frame:.0f} ms; tree nodes in the DOM: {nodes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[600_000, 5_000_000])
    parser.add_argument("--in-process", action="store_true", help="only the figures without a browser")
    args = parser.parse_args()

    # Before the browser: Playwright's sync API keeps an event loop running in this thread.
    figures = {size: in_process(size) for size in args.sizes}
    if args.in_process:
        for size in args.sizes:
            print(f"snapshot pair of {size / 1e6:.1f} MB")
            print("\n".join(figures[size]))
        return
    server = Server()
    for size in args.sizes:
        server.prepare(size)
    port = free_port()
    stop = threading.Event()
    threading.Thread(target=run_server, args=(server, port, stop), daemon=True).start()
    tmp = Path("/tmp") / f"bench-inspector-{port}"
    tmp.mkdir(exist_ok=True)
    console = start_console(tmp, "--upstream", f"agent=ws://127.0.0.1:{port}/ws")
    probe = LoopProbe(console.url)
    try:
        deadline = time.monotonic() + 30
        while server.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.connections, "the console did not connect"
        probe.thread.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for size in args.sizes:
                print(f"snapshot pair of {size / 1e6:.1f} MB")
                print("\n".join(figures[size]))
                for inspect in (False, True):
                    tag = f"{size}_{'inspected' if inspect else 'baseline'}"
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.add_init_script(INSTRUMENT)
                    page.goto(f"{console.url}/session/agent")
                    page.wait_for_selector("[data-testid=chat-input]")
                    if inspect:
                        page.click("[data-testid=context-tab]")
                    stream_round(page, server, probe, size, tag, inspect)
                    if inspect:
                        interact(page, tag)
                    page.close()
            browser.close()
    finally:
        probe.stop.set()
        stop_console(console)
        stop.set()


if __name__ == "__main__":
    main()
