"""Where the operations view's browser time goes: a Chromium trace of the overview with N sessions.

    python tests/bench/overview_trace.py [--sessions 100] [--seconds 20]

The console runs as `streams.py` runs it (`main.py --streams N`, autopiloted sessions streaming from
the embedded simulator); the overview opens in headless Chromium (at nice 10, as there) and, once its
cards are drawn and settled, is traced for `--seconds`. Figures:

  main thread CPU   the renderer main thread's CPU time in tasks (the trace's thread time), % of a
                    core: what the page costs, which a loaded machine does not inflate
  busy (wall)       the same tasks' wall time, % (what `streams.py` reports as busy, from CDP)
  to browser        WebSocket payload bytes per second
  longest tasks     the three longest, ms
  by kind           seconds of layout, paint, style, script... (nested kinds count in both)
  top events        the trace's events with the most main-thread time, and their count (frames:
                    one Layout per frame)
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.side_by_side import TRACE_CATEGORIES, from_trace  # noqa: E402
from tests.bench.streams import TIME_SCALE, BrowserProbe, niced_chromium, start_console  # noqa: E402

TASKS = ("RunTask", "ThreadControllerImpl::RunTask")


def main_threads(events: list[dict[str, object]]) -> set[tuple[object, object]]:
    main = set()
    for e in events:
        args = e.get("args")
        if e.get("name") == "thread_name" and isinstance(args, dict) and args.get("name") == "CrRendererMain":
            main.add((e.get("pid"), e.get("tid")))
    return main


def summarize(events: list[dict[str, object]], seconds: float, ws_bytes: float) -> None:
    main = main_threads(events)
    cpu = wall = 0.0
    by_name: dict[str, float] = {}
    counts: collections.Counter[str] = collections.Counter()
    for e in events:
        dur = e.get("dur")
        if (e.get("pid"), e.get("tid")) not in main or e.get("ph") != "X" or not isinstance(dur, int | float):
            continue
        name = str(e.get("name"))
        by_name[name] = by_name.get(name, 0.0) + dur / 1_000_000
        counts[name] += 1
        if name in TASKS:
            wall += dur / 1_000_000
            tdur = e.get("tdur")
            cpu += tdur / 1_000_000 if isinstance(tdur, int | float) else 0.0
    longest, work = from_trace(events)
    work.pop("tasks (CPU)", None)
    print(
        f"main thread CPU {100 * cpu / seconds:.1f}% of a core | busy (wall) {100 * wall / seconds:.1f}%"
        f" | to browser {ws_bytes / seconds / 1000:.1f} KB/s"
        f" | longest tasks {', '.join(f'{ms:.0f} ms' for ms, _ in longest)}"
    )
    print("by kind (s):", ", ".join(f"{k} {v:.2f}" for k, v in sorted(work.items(), key=lambda kv: -kv[1])))
    print("top events (s, count):")
    for name, value in sorted(by_name.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {value:7.3f} {counts[name]:6d}  {name}")


def run(n: int, seconds: float, settle: float) -> None:
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
            events: list[dict[str, object]] = []
            done = [False]
            probe.cdp.on("Tracing.dataCollected", lambda params: events.extend(params["value"]))
            probe.cdp.on("Tracing.tracingComplete", lambda _params: done.__setitem__(0, True))
            probe.cdp.send(
                "Tracing.start",
                {"traceConfig": {"includedCategories": TRACE_CATEGORIES}, "transferMode": "ReportEvents"},
            )
            sent = probe.ws_bytes
            page.wait_for_timeout(seconds * 1000)
            received = probe.ws_bytes - sent
            probe.cdp.send("Tracing.end")
            while not done[0]:
                page.wait_for_timeout(100)
            browser.close()
        print(f"{n} sessions, overview traced for {seconds:.0f} s (2 cores, shared)")
        summarize(events, seconds, received)
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
    args = parser.parse_args()
    run(args.sessions, args.seconds, args.settle)


if __name__ == "__main__":
    main()
