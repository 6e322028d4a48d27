"""Benchmark: an exported trace of 100,000 events opened at once in the console, in real Chromium.

Run: python tests/bench/trace_load.py [--events 100000]

The trace is what the console would export after `--events` server events of the timeline bench's
emitter at 50 events/s (33 minutes of an agent: a response every 250 events with a context snapshot,
tokens, three tool calls and results, pings). It is opened the way a user does: the timeline's "open"
button on a session page and the file chosen; the replayed session (chat, timeline, context) then takes
the place of the one on screen, at its own address.

Figures:
  file            lines and size of the trace
  open            from the upload (the file chosen): the page switches to the replayed session (parse
                  and replay through the engine, off the event loop), its timeline rows are drawn, and
                  it is interactive: a search typed into the timeline's filter has narrowed the rows
                  (target: interactive within 1 s); the same two after the switch
  main thread     the page's renderer main thread in Chromium's performance trace, from the upload
                  until interactive + 2 s: busy (wall) and CPU time of its top-level tasks, tasks over
                  100 ms (target: none) and 50 ms, and the longest three with what they held
                  (`--profile` samples the page's scripts too, and splits the main thread's CPU
                  after the switch by the script file that ran longest in each task)
  cpu             CPU time of the server's open path in this process, in a thread as the console runs
                  it (the least of `--cpu-runs`, less sensitive to a loaded machine than the wall
                  figures): the replay before the page switches, the timeline's model after it
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import sync_playwright

from console import jsonvalue
from console.jsonvalue import JsonObject
from console.trace_io import open_trace
from console.ui import timeline_history
from console.ui.timeline_model import DEFAULT_MAX_ROWS
from tests.bench.chromium_trace import Recorder, print_longest
from tests.bench.streams import wait_http
from tests.bench.timeline import INSTRUMENT, RESPONSE_EVENTS, Emitter, start, stop_process
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import free_port

R = TypeVar("R")

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


def open_cpu(trace: Path, runs: int) -> tuple[float, float]:
    """Least CPU seconds of replaying the trace, and of building its timeline's model."""
    text = trace.read_text()
    replays, models = [], []
    for _ in range(runs):
        seconds, replay = thread_cpu(partial(open_trace, text, trace.name))
        replays.append(seconds)
        model = partial(
            timeline_history.history_model, replay.conversation, DEFAULT_MAX_ROWS, replay.wall_offset, 0
        )
        models.append(thread_cpu(model)[0])
    return min(replays), min(models)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--cpu-runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also sample the page's scripts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / f"trace-{args.events}.jsonl"
        lines = write_trace(trace, args.events)
        print(f"trace: {args.events:,} server events, {lines:,} lines, {trace.stat().st_size / 1e6:.1f} MB")
        replay_cpu, model_cpu = open_cpu(trace, args.cpu_runs)
        port = free_port()
        # Its own sessions only: not whatever the journal of this machine holds.
        console = start(["main.py", "--no-show", "--no-store", "--port", str(port)], port)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/simulators", "the console")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.add_init_script(INSTRUMENT)
                page.goto(f"http://127.0.0.1:{port}/session/agent", timeout=60_000)
                page.wait_for_selector("[data-testid=timeline-open]", timeout=60_000)
                home = page.url
                old_timeline = page.get_attribute("[data-testid=timeline]", "id")
                page.evaluate("window.__bench.longtasks = []")
                recorder = Recorder(page)
                recorder.start(profile=args.profile)
                started = time.monotonic()
                page.set_input_files("[data-testid=timeline-upload] input[type=file]", str(trace))
                page.wait_for_url(lambda url: url != home, timeout=120_000)
                switched = time.monotonic()
                page.wait_for_function(
                    "old => [...document.querySelectorAll('[data-testid=timeline]')]"
                    ".some(t => t.id !== old && t.querySelector('[data-testid=timeline-row]'))",
                    arg=old_timeline,
                    timeout=60_000,
                )
                rows_drawn = time.monotonic()
                # Interactive: the timeline's search narrows the rows to the last PING's (and its PONG's).
                last_ping = (args.events - 1) // 50 * 50
                page.click("[data-testid=timeline-heartbeats]")  # PINGs are hidden until asked for
                page.fill("[data-testid=timeline-search]", f"{last_ping:08x}")
                page.wait_for_function(
                    "() => { const rows = document.querySelectorAll('[data-testid=timeline-row]');"
                    " return rows.length > 0 && rows.length <= 4; }",
                    timeout=60_000,
                )
                interactive = time.monotonic()
                page.wait_for_timeout(2000)
                scripts = recorder.stop_profile() if args.profile else []
                thread = recorder.stop()
                longtasks: list[float] = page.evaluate("window.__bench.longtasks")
                shown = page.locator("[data-testid=timeline-row]").count()
                messages = page.locator("[data-testid=message]").count()
                browser.close()
        finally:
            stop_process(console)
    wall, cpu = thread.busy()
    traced = time.monotonic() - started
    longest = thread.longest(1)
    print(
        f"open, from the upload: the page switches {switched - started:.2f} s, timeline rows drawn"
        f" {rows_drawn - started:.2f} s, interactive {interactive - started:.2f} s (target <= 1 s)"
    )
    print(
        f"      after the switch: rows drawn {1000 * (rows_drawn - switched):.0f} ms,"
        f" interactive (a search typed and applied) {1000 * (interactive - switched):.0f} ms"
    )
    print(
        f"main thread, upload to interactive + 2 s ({traced:.1f} s, Chromium's trace): busy {wall:.2f} s,"
        f" CPU {cpu:.2f} s; tasks over 100 ms: {thread.over(100)} (target 0; of CPU: {thread.over_cpu(100)}),"
        f" over 50 ms: {thread.over(50)};"
        f" longest {longest[0].ms if longest else 0:.0f} ms (CPU {longest[0].cpu if longest else 0:.0f} ms);"
        f" long tasks the page saw (PerformanceObserver): {len(longtasks)}, longest {max(longtasks, default=0):.0f} ms"
    )
    print("longest tasks:")
    print_longest(thread, 3, 50)
    if args.profile:
        print("main thread CPU after the switch, by the script that ran longest in each task:")
        for where, seconds, tasks in thread.by_script(switched - started)[:8]:
            print(f"  {1000 * seconds:7.1f} ms in {tasks:4d} tasks  {where}")
        print("script functions, self time, upload to interactive + 2 s:")
    for ms, what in scripts:
        print(f"  script {ms:7.1f} ms  {what}")
    print(f"chat messages in the page: {messages:,}; timeline rows in the DOM after the search: {shown}")
    print(
        f"cpu: parse and replay {replay_cpu:.2f} s (before the switch);"
        f" the timeline's model {model_cpu:.2f} s (least of {args.cpu_runs})"
    )


if __name__ == "__main__":
    main()
