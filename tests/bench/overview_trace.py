"""Where the operations view's browser time goes: a Chromium trace of the overview with N sessions.

    python tests/bench/overview_trace.py [--sessions 100] [--seconds 20]

The console runs as `streams.py` runs it (`main.py --streams N`, autopiloted sessions streaming from
the embedded simulator); the overview opens in headless Chromium (at nice 10, as there) and, once its
cards are drawn and settled, is traced for `--seconds` (Chromium's performance trace, as DevTools
records it; `--profile` samples its scripts too). Figures, of the renderer's main thread and its
top-level tasks (a task nested in another is part of it):

  busy (wall)       the tasks' wall time, % of the traced time (target <= 15%); on a loaded machine
                    it includes time the thread was ready but not running
  CPU               the same tasks' thread time, % of a core: what the page costs, which a loaded
                    machine does not inflate
  tasks over 50 ms  how many (target: none), wall time and thread time, and the longest, wall and CPU
  to browser        WebSocket payload bytes per second
  by kind           seconds of layout, paint, style, script... (nested kinds count in both)
  top events        the trace's events with the most main-thread time, and their count (frames:
                    one Layout per frame)
  longest tasks     the three longest, each with the events and script functions it held
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.browser_probe import BrowserProbe, niced_chromium  # noqa: E402
from tests.bench.chromium_trace import MainThread, Recorder, print_longest  # noqa: E402
from tests.bench.side_by_side import WORK  # noqa: E402
from tests.bench.streams import TIME_SCALE, start_console  # noqa: E402

BUSY_TARGET = 15.0  # % of the main thread, wall time
TASK_TARGET = 50.0  # ms


def summarize(thread: MainThread, seconds: float, ws_bytes: float) -> None:
    """The main thread's figures against the targets, what its time went to, its longest tasks."""
    wall, cpu = thread.busy()
    by_name: dict[str, float] = {}
    counts: collections.Counter[str] = collections.Counter()
    for e in thread.events:
        name = str(e.get("name"))
        by_name[name] = by_name.get(name, 0.0) + float(str(e["dur"])) / 1e6
        counts[name] += 1
    longest = thread.longest(1)
    print(
        f"main thread busy (wall) {100 * wall / seconds:.1f}% (target <= {BUSY_TARGET:.0f}%)"
        f" | CPU {100 * cpu / seconds:.1f}% of a core"
        f" | tasks over {TASK_TARGET:.0f} ms: {thread.over(TASK_TARGET)} (of CPU: {thread.over_cpu(TASK_TARGET)}),"
        f" longest {longest[0].ms if longest else 0:.0f} ms (CPU {longest[0].cpu if longest else 0:.0f} ms)"
        f" | to browser {ws_bytes / seconds / 1000:.1f} KB/s"
    )
    work: dict[str, float] = {}
    for name, kind in WORK.items():
        work[kind] = work.get(kind, 0.0) + by_name.get(name, 0.0)
    print(
        "by kind (s, wall):",
        ", ".join(f"{k} {v:.2f}" for k, v in sorted(work.items(), key=lambda kv: -kv[1])),
    )
    print("top events (s, count):")
    for name, value in sorted(by_name.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {value:7.3f} {counts[name]:6d}  {name}")
    print("longest tasks:")
    print_longest(thread, 3)


def run(n: int, seconds: float, settle: float, profile: bool) -> None:
    from playwright.sync_api import sync_playwright

    processes, url, _ = start_console(n, False, TIME_SCALE)
    try:
        time.sleep(5)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
            browser = p.chromium.launch(
                executable_path=niced_chromium(Path(folder)),
                args=["--no-sandbox", "--disable-gpu"],
                headless=True,
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            probe = BrowserProbe(page)
            page.goto(url)
            page.wait_for_function(f"document.querySelectorAll('[data-testid=session-card]').length === {n}")
            page.wait_for_timeout(settle * 1000)
            recorder = Recorder(page)
            recorder.start(profile=profile)
            sent = probe.ws_bytes
            page.wait_for_timeout(seconds * 1000)
            received = probe.ws_bytes - sent
            scripts = recorder.stop_profile() if profile else []
            thread = recorder.stop()
            browser.close()
        print(
            f"{n} sessions, overview traced for {seconds:.0f} s (2 cores, shared; load {os.getloadavg()[0]:.1f})"
        )
        summarize(thread, seconds, received)
        if profile:
            print("main thread CPU by the script that ran longest in each task:")
            for where, spent, tasks in thread.by_script()[:6]:
                print(f"  {1000 * spent:7.1f} ms in {tasks:4d} tasks  {where}")
            print("script functions, self time:")
        for ms, what in scripts:
            print(f"  script {ms:7.1f} ms  {what}")
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=8.0, help="seconds after the cards are drawn")
    parser.add_argument("--profile", action="store_true", help="also sample the page's scripts")
    args = parser.parse_args()
    run(args.sessions, args.seconds, args.settle, args.profile)


if __name__ == "__main__":
    main()
