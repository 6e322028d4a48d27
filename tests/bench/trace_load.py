"""Benchmark: an exported trace of 100,000 events opened at once in the console, in real Chromium.

Run: python tests/bench/trace_load.py [--events 100000]

The trace is what the console would export after `--events` server events of the timeline bench's
emitter at 50 events/s (33 minutes of an agent: a response every 250 events with a context snapshot,
tokens, three tool calls and results, pings). It is opened the way a user does: the timeline's "open"
button on a session page and the file chosen; the replayed session (chat, timeline, context) then takes
the place of the one on screen, at its own address.

Figures:
  file            lines and size of the trace
  open            from the upload (the file chosen): the page switches to the replayed session, its
                  first timeline rows are shown, it is interactive (a search typed into the timeline's
                  filter, for rows of what is loaded, narrows the rows: the filter's 120 ms debounce and
                  Playwright's typing included; target within 1 s), and it is fully loaded (the replay's
                  progress note is gone and the timeline holds the whole trace's rows); then a search
                  for the trace's last PING on the whole trace
  main thread     the page's renderer main thread in Chromium's performance trace, from the upload
                  until fully loaded + 2 s: busy (wall) and CPU time of its top-level tasks, tasks over
                  100 ms (target: none) and 50 ms, and the longest three with what they held
                  (`--profile` samples the page's scripts too, and splits the main thread's CPU
                  after the switch by the script file that ran longest in each task)
  loop            the console's event-loop lag probe (its /metrics histogram, sampled every 50 ms while
                  busy) over the open: samples late by over 10 ms (target: none from the replay)
  cpu             CPU time of the server's open path in this process (the least of `--cpu-runs`, less
                  sensitive to a loaded machine than the wall figures): the whole replay, the timeline's
                  model of the whole trace; and the replay in slices as the console runs it: the
                  longest slice and the 99th percentile (target: well under 10 ms)

`--console-root DIR` runs the console of another checkout (the same figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Request, sync_playwright

from console import heap, jsonvalue
from console.jsonvalue import JsonObject
from console.trace_io import JsonlReplay, open_trace
from console.ui import timeline_history, trace_opening
from console.ui.timeline_model import DEFAULT_MAX_ROWS
from tests.bench.chromium_trace import Recorder, print_longest
from tests.bench.streams import wait_http
from tests.bench.timeline import INSTRUMENT, RESPONSE_EVENTS, Emitter, stop_process
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import free_port

R = TypeVar("R")
ROOT = Path(__file__).resolve().parents[2]

RATE = 50.0  # events per second of the recorded session


def write_trace(path: Path, events: int) -> int:
    """An exported trace (the console's JSON Lines format) of `events` server events; returns lines."""
    emitter = Emitter(RATE)
    header: JsonObject = {"format": "agent-console-trace", "version": 1, "started_at": 1767225600.0}
    lines = [jsonvalue.dumps(header), jsonvalue.dumps({"t": 0.0, "dir": "client", "kind": "CONNECTED"})]
    for n in range(events):
        t = round(n * 1000 / RATE, 3)
        if n % RESPONSE_EVENTS == 0:
            prompt = jsonvalue.dumps(
                {"type": "USER_MESSAGE", "content": f"question {n // RESPONSE_EVENTS + 1}"}
            )
            lines.append(jsonvalue.dumps({"t": t, "dir": "out", "kind": "USER_MESSAGE", "raw": prompt}))
        frame = emitter.wire_frame(n)
        raw, kind = jsonvalue.dumps(frame), str(frame["type"])
        lines.append(jsonvalue.dumps({"t": t + 1, "dir": "in", "kind": kind, "seq": n + 1, "raw": raw}))
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def thread_cpu(work: Callable[[], R]) -> tuple[float, R]:
    """CPU seconds `work` takes in a thread of its own, and what it returned."""
    done: list[tuple[float, R]] = []

    def run() -> None:
        started = time.thread_time()
        result = work()
        done.append((time.thread_time() - started, result))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return done[0]


def open_cpu(trace: Path, runs: int) -> tuple[float, float, int]:
    """Least CPU seconds of replaying the trace, and of building its timeline's model; the model's rows."""
    text = trace.read_text()
    replays, models = [], []
    rows = 0
    for _ in range(runs):
        seconds, replay = thread_cpu(partial(open_trace, text, trace.name))
        replays.append(seconds)
        model = partial(
            timeline_history.history_model, replay.conversation, DEFAULT_MAX_ROWS, replay.wall_offset, 0
        )
        seconds, built = thread_cpu(model)
        models.append(seconds)
        rows = len(built.rows)
    return min(replays), min(models), rows


def slice_times(trace: Path) -> list[float]:
    """Seconds each slice of the replay takes, sliced as the console slices it, under the console's
    collector policy (console/heap.py), with no page attached."""
    text = trace.read_text()

    async def run() -> list[float]:
        heap.freeze_startup()
        heap.FREEZE_SURVIVORS.start()
        source = JsonlReplay(text)
        times = []
        try:
            while True:
                started = time.perf_counter()
                done = source.step(trace_opening.SLICE)
                times.append(time.perf_counter() - started)
                if done:
                    return times
                await asyncio.sleep(0)
        finally:
            heap.FREEZE_SURVIVORS.stop()

    return asyncio.run(run())


def loop_lag(port: int) -> tuple[int, int]:
    """The console's loop-lag samples so far: all of them, and those late by over 10 ms."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    total = under = 0
    for line in text.splitlines():
        if line.startswith("agent_console_event_loop_lag_seconds_count"):
            total = int(float(line.split()[-1]))
        elif line.startswith('agent_console_event_loop_lag_seconds_bucket{le="0.01"}'):
            under = int(float(line.split()[-1]))
    return total, total - under


def start_console(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    log = (Path("/tmp") / f"bench-trace-load-{port}.log").open("wb")
    # Its own sessions only: not whatever the journal of this machine holds.
    command = [sys.executable, "main.py", "--no-show", "--no-store", "--port", str(port)]
    return subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


# When the page itself saw the switch and the first rows of the trace's timeline (its clock, epoch ms):
# Playwright's polling answers later than that on a loaded machine. The switch replaces the whole
# session part in one update, so a row seen once the replay bar is there is the trace's.
MARKS = """
window.__marks = {};
new MutationObserver((_, observer) => {
  const marks = window.__marks;
  if (!location.pathname.includes('/session/trace-')) return;
  if (!marks.switched && document.querySelector('[data-testid=replay-bar]')) marks.switched = Date.now();
  if (marks.switched && !marks.rows && document.querySelector('[data-testid=timeline-row]')) {
    marks.rows = Date.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true});
"""
FULLY_LOADED = """([old, rows]) => {
    if (document.querySelector('[data-testid=replay-progress]')) return false;
    const t = [...document.querySelectorAll('[data-testid=timeline]')].find(t => t.id !== old);
    const view = t && t.querySelector('.ac-tl');
    return !!view && getElement(+view.id.slice(1)).rows.length >= rows; }"""
NARROWED = """kind => { const rows = [...document.querySelectorAll('[data-testid=timeline-row]')];
    return rows.length > 0 && rows.every(r => r.dataset.kind === kind); }"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--cpu-runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also sample the page's scripts")
    parser.add_argument("--console-root", type=Path, default=ROOT, help="the checkout whose console runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / f"trace-{args.events}.jsonl"
        lines = write_trace(trace, args.events)
        print(f"trace: {args.events:,} server events, {lines:,} lines, {trace.stat().st_size / 1e6:.1f} MB")
        print(f"console: {args.console_root}")
        replay_cpu, model_cpu, model_rows = open_cpu(trace, args.cpu_runs)
        slices = sorted(slice_times(trace))
        port = free_port()
        console = start_console(args.console_root, port)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/simulators", "the console")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.add_init_script(INSTRUMENT)
                page.add_init_script(MARKS)
                page.goto(f"http://127.0.0.1:{port}/session/agent", timeout=60_000)
                page.wait_for_selector("[data-testid=timeline-open]", timeout=60_000)
                home = page.url
                old_timeline = page.get_attribute("[data-testid=timeline]", "id")
                page.evaluate("window.__bench.longtasks = []")
                lag_before = loop_lag(port)
                recorder = Recorder(page)
                recorder.start(profile=args.profile)
                uploads: list[Request] = []
                page.on("request", lambda r: uploads.append(r) if r.method == "POST" else None)
                chosen = time.time()
                page.set_input_files("[data-testid=timeline-upload] input[type=file]", str(trace))
                # The page has switched: the replayed session's address and its replay bar.
                page.wait_for_function(
                    "home => location.href !== home && !!document.querySelector('[data-testid=replay-bar]')",
                    arg=home,
                    timeout=120_000,
                )
                switched = time.time()
                page.wait_for_function(
                    "old => [...document.querySelectorAll('[data-testid=timeline]')]"
                    ".some(t => t.id !== old && t.querySelector('[data-testid=timeline-row]'))",
                    arg=old_timeline,
                    timeout=60_000,
                )
                rows_shown = time.time()
                # Interactive: a search for rows of what is loaded (every reply has tool results)
                # narrows the rows to them.
                page.fill("[data-testid=timeline-search]", "tool_result")
                typed = time.time()
                page.wait_for_function(NARROWED, arg="TOOL_RESULT", timeout=60_000)
                interactive = time.time()
                page.wait_for_function(FULLY_LOADED, arg=[old_timeline, model_rows], timeout=120_000)
                loaded = time.time()
                # The whole trace searched: the rows narrow to the last PING's (and its PONG's).
                last_ping = (args.events - 1) // 50 * 50
                page.click("[data-testid=timeline-heartbeats]")  # PINGs are hidden until asked for
                page.fill("[data-testid=timeline-search]", f"{last_ping:08x}")
                page.wait_for_function(
                    "() => { const rows = document.querySelectorAll('[data-testid=timeline-row]');"
                    " return rows.length > 0 && rows.length <= 4; }",
                    timeout=60_000,
                )
                found = time.time()
                page.wait_for_timeout(2000)
                lag_after = loop_lag(port)
                scripts = recorder.stop_profile() if args.profile else []
                thread = recorder.stop()
                longtasks: list[float] = page.evaluate("window.__bench.longtasks")
                marks: dict[str, float] = page.evaluate("window.__marks")
                shown = page.locator("[data-testid=timeline-row]").count()
                messages = page.locator("[data-testid=message]").count()
                browser.close()
        finally:
            stop_process(console)
    # From when the browser starts sending the file (its own clock: the same machine's), not from when
    # Playwright starts handing the file to the browser (over its pipe, 15 MB take a second).
    started = uploads[0].timing["startTime"] / 1000
    wall, cpu = thread.busy()
    traced = time.time() - chosen
    longest = thread.longest(1)
    print(
        f"open, from the upload: the page switches {switched - started:.2f} s, first timeline rows shown"
        f" {rows_shown - started:.2f} s, interactive {interactive - started:.2f} s (target <= 1 s;"
        f" the search applied {1000 * (interactive - typed):.0f} ms after it was typed),"
        f" fully loaded {loaded - started:.2f} s"
    )
    print(
        f"      as the page saw them: the page switches {marks['switched'] / 1000 - started:.2f} s,"
        f" first timeline rows shown {marks['rows'] / 1000 - started:.2f} s"
    )
    print(
        f"      the file handed to the browser by Playwright took {started - chosen:.2f} s before the upload"
    )
    print(f"      the whole trace searched (its last PING found) {1000 * (found - loaded):.0f} ms after that")
    print(
        f"main thread, file chosen to fully loaded + 2 s ({traced:.1f} s, Chromium's trace; times from there): busy {wall:.2f} s,"
        f" CPU {cpu:.2f} s; tasks over 100 ms: {thread.over(100)} (target 0; of CPU: {thread.over_cpu(100)}),"
        f" over 50 ms: {thread.over(50)};"
        f" longest {longest[0].ms if longest else 0:.0f} ms (CPU {longest[0].cpu if longest else 0:.0f} ms);"
        f" long tasks the page saw (PerformanceObserver): {len(longtasks)}, longest {max(longtasks, default=0):.0f} ms"
    )
    print("longest tasks:")
    print_longest(thread, 3, 50)
    if args.profile:
        print("main thread CPU after the switch, by the script that ran longest in each task:")
        for where, seconds, tasks in thread.by_script(switched - chosen)[:8]:
            print(f"  {1000 * seconds:7.1f} ms in {tasks:4d} tasks  {where}")
        print("script functions, self time, upload to fully loaded + 2 s:")
    for ms, what in scripts:
        print(f"  script {ms:7.1f} ms  {what}")
    print(f"chat messages in the page: {messages:,}; timeline rows in the DOM after the search: {shown}")
    samples, late = lag_after[0] - lag_before[0], lag_after[1] - lag_before[1]
    print(f"loop: {samples} lag samples from the upload to fully loaded + 2 s, {late} late by over 10 ms")
    p99 = slices[min(len(slices) - 1, int(0.99 * len(slices)))]
    print(
        f"cpu: parse and replay {replay_cpu:.2f} s; the timeline's model {model_cpu:.2f} s"
        f" (least of {args.cpu_runs}); in slices of {1000 * trace_opening.SLICE:.0f} ms:"
        f" {len(slices)} slices, longest {1000 * slices[-1]:.1f} ms, p99 {1000 * p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
