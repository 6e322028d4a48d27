"""Chromium's performance trace of a page, read for what the benchmarks report about its main thread.

`Recorder` starts and stops a trace over CDP (the categories DevTools' Performance panel records);
`MainThread` reads it: the renderer main thread's tasks, their wall time ("busy") and thread time
(CPU, which a loaded machine does not inflate), the longest tasks, and what each of those held (the
trace events nested in it, by name, with the script or element they name), so a long task can be
traced to its cause.
"""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass, field

from playwright.sync_api import CDPSession, Page

CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute"]
TASKS = ("RunTask", "ThreadControllerImpl::RunTask")
Event = dict[str, object]


class Recorder:
    """A Chromium trace of one page, from `start` to `stop`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.events: list[Event] = []
        self.samples: list[tuple[float, float, str]] = []  # (µs, ms, function) of the script profile
        self._done = False
        self.cdp.on("Tracing.dataCollected", lambda params: self.events.extend(params["value"]))
        self.cdp.on("Tracing.tracingComplete", lambda _params: setattr(self, "_done", True))

    def start(self, profile: bool = False) -> None:
        """Trace the page from now on; with `profile`, sample its scripts too (`stop_profile`)."""
        if profile:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            self.cdp.send("Profiler.start")
        self.cdp.send(
            "Tracing.start",
            {"traceConfig": {"includedCategories": CATEGORIES}, "transferMode": "ReportEvents"},
        )

    def stop(self) -> MainThread:
        self.cdp.send("Tracing.end")
        while not self._done:
            self.page.wait_for_timeout(100)
        return MainThread(self.events, self.samples)

    def stop_profile(self, top: int = 15) -> list[tuple[float, str]]:
        """Milliseconds of script by function (self time), the `top` largest, since `start(profile=True)`;
        the samples are kept (`samples`) to tell what ran in a given task."""
        profile = self.cdp.send("Profiler.stop")["profile"]
        nodes = {node["id"]: node for node in profile["nodes"]}
        at = float(profile["startTime"])
        spent: dict[str, float] = collections.defaultdict(float)
        for sample, delta in zip(profile.get("samples", []), profile.get("timeDeltas", []), strict=False):
            at += delta
            frame = nodes[sample]["callFrame"]
            where = str(frame.get("url", "")).rsplit("/", 1)[-1]
            name = f"{frame.get('functionName') or '(anonymous)'} {where}:{frame.get('lineNumber', 0) + 1}"
            spent[name] += delta / 1000
            self.samples.append((at, delta / 1000, name))
        return [(ms, what) for what, ms in _largest(spent, top)]


@dataclass
class Task:
    ms: float  # wall time
    cpu: float  # thread time, ms
    at: float  # seconds into the trace
    inside: list[tuple[float, str]] = field(default_factory=list)  # (ms, what), nested events


def _largest(spent: dict[str, float], n: int) -> list[tuple[str, float]]:
    return sorted(spent.items(), key=lambda kv: -kv[1])[:n]


def _what(event: Event) -> str:
    """An event's name, with the script function or URL it names, if any."""
    name = str(event.get("name"))
    args = event.get("args")
    data = args.get("data") if isinstance(args, dict) else None
    if isinstance(data, dict):
        detail = data.get("functionName") or data.get("url") or data.get("type") or ""
        if detail:
            where = str(data.get("url") or "").rsplit("/", 1)[-1]
            line = data.get("lineNumber")
            suffix = f" {where}:{line}" if where and line is not None and detail != data.get("url") else ""
            return f"{name} {str(detail)[:60]}{suffix}"
    return name


class MainThread:
    """The renderer main thread's tasks in a trace."""

    def __init__(self, events: list[Event], samples: list[tuple[float, float, str]] | None = None) -> None:
        self.samples = samples or []
        main = set()
        for e in events:
            args = e.get("args")
            if (
                e.get("name") == "thread_name"
                and isinstance(args, dict)
                and args.get("name") == "CrRendererMain"
            ):
                main.add((e.get("pid"), e.get("tid")))
        self.events = [
            e
            for e in events
            if (e.get("pid"), e.get("tid")) in main
            and e.get("ph") == "X"
            and isinstance(e.get("dur"), int | float)
        ]
        stamps = [float(ts) for e in events if isinstance(ts := e.get("ts"), int | float) and ts > 0]
        self.start = min(stamps, default=0.0)
        # Top-level tasks only: a task run inside another (a nested loop) is part of its time.
        self.tasks: list[Event] = []
        end = -1.0
        for e in sorted(
            (e for e in self.events if e.get("name") in TASKS), key=lambda e: float(str(e["ts"]))
        ):
            ts = float(str(e["ts"]))
            if ts >= end:
                self.tasks.append(e)
                end = ts + float(str(e["dur"]))

    def busy(self) -> tuple[float, float]:
        """Seconds of tasks on the main thread: wall time, thread (CPU) time."""
        wall = sum(float(str(e["dur"])) for e in self.tasks) / 1e6
        cpu = sum(float(t) for e in self.tasks if isinstance(t := e.get("tdur"), int | float)) / 1e6
        return wall, cpu

    def longest(self, n: int = 3, over_ms: float = 0.0, detail: int = 6) -> list[Task]:
        """The `n` longest tasks (over `over_ms`), each with its `detail` largest nested events."""
        ranked = sorted(self.tasks, key=lambda e: -float(str(e["dur"])))[:n]
        out: list[Task] = []
        for task in ranked:
            ts, dur = float(str(task["ts"])), float(str(task["dur"]))
            if dur / 1000 < over_ms:
                break
            inside: dict[str, float] = collections.defaultdict(float)
            for e in self.events:
                ets = float(str(e["ts"]))
                if e is not task and ts <= ets < ts + dur and e.get("name") not in TASKS:
                    inside[_what(e)] += float(str(e["dur"])) / 1000
            tdur = task.get("tdur")
            cpu = float(tdur) / 1000 if isinstance(tdur, int | float) else 0.0
            scripts: dict[str, float] = collections.defaultdict(float)
            for sampled, ms, name in self.samples:
                if ts <= sampled < ts + dur and not name.startswith("("):
                    scripts[f"script {name}"] += ms
            found = [*_largest(inside, detail), *_largest(scripts, detail)]
            out.append(Task(dur / 1000, cpu, (ts - self.start) / 1e6, [(ms, w) for w, ms in found]))
        return out

    def by_script(self, since_s: float = 0.0) -> list[tuple[str, float, int]]:
        """Tasks from `since_s` (seconds into the trace) by the script file that ran longest in each
        (from the profile's samples; "(no script)": layout, paint, parsing only): (file, CPU seconds of
        those tasks, how many), the costliest first."""
        spent: dict[str, float] = collections.defaultdict(float)
        count: dict[str, int] = collections.defaultdict(int)
        samples = sorted(self.samples)
        stamps = [at for at, _, _ in samples]
        for task in self.tasks:
            ts, dur = float(str(task["ts"])), float(str(task["dur"]))
            if (ts - self.start) / 1e6 < since_s:
                continue
            files: dict[str, float] = collections.defaultdict(float)
            for _, ms, name in samples[bisect.bisect_left(stamps, ts) : bisect.bisect_left(stamps, ts + dur)]:
                where = name.rsplit(" ", 1)[-1].split(":")[0]
                if where and not name.startswith("("):
                    files[where] += ms
            top = max(files, key=lambda f: files[f]) if files else "(no script)"
            tdur = task.get("tdur")
            spent[top] += float(tdur) / 1e6 if isinstance(tdur, int | float) else 0.0
            count[top] += 1
        return sorted(((f, spent[f], count[f]) for f in spent), key=lambda x: -x[1])

    def over(self, ms: float) -> int:
        """Tasks longer than `ms`, wall time."""
        return sum(1 for e in self.tasks if float(str(e["dur"])) / 1000 > ms)

    def over_cpu(self, ms: float) -> int:
        """Tasks that took more than `ms` of thread time: long on any machine, not only a loaded one."""
        return sum(1 for e in self.tasks if isinstance(t := e.get("tdur"), int | float) and t / 1000 > ms)


def print_longest(thread: MainThread, n: int = 3, over_ms: float = 0.0) -> None:
    for task in thread.longest(n, over_ms):
        print(f"  task {task.ms:.0f} ms (CPU {task.cpu:.0f} ms) at {task.at:.2f} s:")
        for ms, what in task.inside:
            print(f"    {ms:7.1f} ms  {what}")
