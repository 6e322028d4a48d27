"""The console's session page against a naive NiceGUI label, on the same token source, in one run.

    python tests/bench/side_by_side.py [--chars 100000] [--rate 200] [--text plain|prose]
                                       [--only none|console|label] [--py-spy FOLDER]

A token source (its own process) streams one reply of `--chars` characters at `--rate` tokens per
second (five characters a token) to a console process, built and served as `main.py` serves it
(`dashboard.build`: Tailwind prebuilt, the heap frozen after startup, the loop-lag probe and the
sampler running) so that its figures are the shipped console's. Two pages are measured in turn, each in its own
headless Chromium, each on a fresh reply:

- console: the full session page (chat rendering Markdown, the timeline tab open beside it);
- label:   one `ui.label` whose whole text is set again on every token (the naive NiceGUI way).

Figures per page:
  CPU/1k tok    server CPU seconds (the console process, which serves both pages) per 1,000 tokens
  B/char        WebSocket payload bytes the page received per character of the reply
  busy          the page's main-thread busy share over the stream (CDP `TaskDuration`), and per
                quarter of the reply (does the cost grow with the length shown so far?)
  longest task  the longest main-thread task over the stream (Chromium's trace, `toplevel` RunTask)
  main thread   seconds by kind of work: layout, style, script, paint... (Chromium's trace), and
                `tasks (CPU)`: the thread's CPU time in tasks, the figure to compare on a loaded machine
  idle CPU      server CPU share with the page open and nothing streaming (20 s after the reply), and
                how often the event loop's thread was woken meanwhile (voluntary context switches)

First, with no page open (`none`), the server CPU per 1,000 tokens and the idle CPU of the session
alone: what the pages' figures cost on top of it. Then the console's figures as a ratio of the label's (lower is better). `--only console` measures the
console alone (e.g. `--chars 500000 --rate 1000` to see that the cost per quarter stays flat).
`--py-spy FOLDER` samples the console process while each page is measured (the stream and its idle
tail) and writes collapsed stacks there, `<page>.txt`, for a flame graph or a grep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.stream_bytes import TOKEN  # noqa: E402
from tests.bench.streams import wait_http  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import free_port  # noqa: E402

IDLE_SECONDS = 20.0
TRACE_CATEGORIES = ["toplevel", "devtools.timeline"]
WORK = {
    "Layout": "layout",
    "UpdateLayoutTree": "style",
    "FunctionCall": "script",
    "EvaluateScript": "script",
    "TimerFire": "timers",
    "FireAnimationFrame": "frames",
    "PrePaint": "paint",
    "Paint": "paint",
    "Layerize": "paint",
    "HitTest": "hit test",
}
# Markdown-flavoured prose: paragraphs and a list now and then, like a real reply.
SECTION = (
    "The checkout service slowed down after the **pool_timeout** change, and retries doubled the load "
    "on the payments service while search stayed within its budget for the whole week.\n\n"
    "- p95 latency rose from 120 ms to 340 ms\n- error rate stayed under `0.1%`\n\n"
)


def tokens_for(chars: int, text_kind: str) -> list[str]:
    """`prose`: paragraphs and lists; `plain`: one paragraph that never ends (the worst case for layout)."""
    section = SECTION if text_kind == "prose" else TOKEN
    text = (section * (chars // len(section) + 1))[:chars]
    return [text[i : i + len(TOKEN)] for i in range(0, len(text), len(TOKEN))]


# -- the token source (a subprocess) ---------------------------------------------------------------


def source(port: int, chars: int, rate: float) -> None:
    import websockets

    async def handler(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await reply(ws)

    async def reply(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            frame = json.loads(message)
            if frame.get("type") != "USER_MESSAGE":
                continue
            tokens = tokens_for(chars, str(frame.get("content")))
            stream = f"s_{time.monotonic_ns()}"
            start = time.monotonic()
            for seq, token in enumerate(tokens, start=1):
                await ws.send(json.dumps({"type": "TOKEN", "seq": seq, "text": token, "stream_id": stream}))
                delay = start + seq / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "STREAM_END", "seq": len(tokens) + 1, "stream_id": stream}))

    async def run() -> None:
        async with websockets.serve(handler, "127.0.0.1", port):
            await asyncio.Future()

    asyncio.run(run())


# -- the console (a subprocess) ----------------------------------------------------------------------


def serve(port: int, upstream_port: int) -> None:
    """The console as it ships (`dashboard.build`, served as `main.py` serves it), its one session
    attached to the token source, plus the naive page and the benchmark's own endpoints."""
    from nicegui import app, ui

    from console import dashboard
    from console.clients import Target
    from console.security.install import install as install_security
    from console.security.policy import SecurityPolicy
    from console.session import Change, TextAppended

    config = dashboard.DashboardConfig(
        port=port,
        upstreams=(Target("agent", f"ws://127.0.0.1:{upstream_port}/ws"),),
        show=False,
        security=SecurityPolicy(port=port),
    )
    install_security(config.security)
    hub = dashboard.build(config)

    @ui.page("/label")
    def label_page() -> None:
        """The naive way: one label, its whole text set again on every token."""
        conversation = hub.sessions["agent"].client.conversation
        label = ui.label().classes("whitespace-pre-wrap").props("data-testid=label-text")

        def on_change(change: Change) -> None:
            if isinstance(change, TextAppended):
                label.set_text(change.message.text)

        ui.context.client.on_delete(conversation.subscribe(on_change))

    @app.post("/bench/send/{kind}")
    def send(kind: str) -> dict[str, str]:
        hub.sessions["agent"].client.send_user_message(kind)
        return {"ok": "sent"}

    @app.get("/bench/reply")
    def reply() -> dict[str, int | bool]:
        """The newest message: its characters so far, and whether it ended (for the page-less run)."""
        messages = hub.sessions["agent"].client.conversation.messages
        last = messages[-1] if len(messages) > 1 else None
        done = last is not None and last.role == "assistant" and last.status != "streaming"
        return {"count": len(messages), "chars": len(last.text) if last else 0, "done": done}

    @app.get("/bench/cpu")
    def cpu() -> dict[str, float]:
        """The process's CPU seconds, and how often its main thread (the event loop's) has slept and
        been woken: the kernel's count of its voluntary context switches."""
        times = os.times()
        status = Path("/proc/self/status").read_text()
        wakes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_ctxt")
        )
        return {"cpu": times.user + times.system, "wakes": wakes}

    dashboard.serve(config)


# -- the measuring side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    cpu_per_1k: float
    bytes_per_char: float
    busy: float  # share of the stream's wall time
    quarters: tuple[float, ...]  # busy share while each quarter of the reply arrived
    longest_ms: float
    longest_at: tuple[tuple[float, float], ...]  # the longest tasks: ms, and seconds into the stream
    work: dict[str, float]  # main-thread seconds by kind of work
    idle_cpu: float  # share of one core
    idle_wakes: float  # the event loop's wakes per second, idle


CONSOLE_SHOWN = (
    "() => { const all = document.querySelectorAll('[data-testid=message]');"
    " if (all.length < window.__before + 2) return [0, false]; const m = all[all.length - 1];"
    " return [[...m.querySelectorAll('[data-testid=message-text]')]"
    ".reduce((n, t) => n + t.acSource.length, 0), m.dataset.status === 'done']; }"
)
LABEL_SHOWN = (
    "() => { const l = document.querySelector('[data-testid=label-text]');"
    " return [l ? l.textContent.length : 0, true]; }"
)


def from_trace(events: list[dict[str, object]]) -> tuple[list[tuple[float, float]], dict[str, float]]:
    """The three longest tasks of the renderer's main thread (ms, and seconds into the trace), and its
    seconds by kind of work (nested kinds count in both: a forced layout inside a script is script),
    with `tasks (CPU)`: the thread time of all its tasks, which a loaded machine does not inflate as
    it does their wall time."""
    main = set()
    for e in events:
        args = e.get("args")
        if e.get("name") == "thread_name" and isinstance(args, dict) and args.get("name") == "CrRendererMain":
            main.add((e.get("pid"), e.get("tid")))
    tasks: list[tuple[float, float]] = []
    work: dict[str, float] = {}
    start = min(
        (float(ts) for e in events if isinstance(ts := e.get("ts"), int | float) and ts > 0), default=0.0
    )
    for e in events:
        dur = e.get("dur")
        if (e.get("pid"), e.get("tid")) not in main or e.get("ph") != "X" or not isinstance(dur, int | float):
            continue
        name = str(e.get("name"))
        ts = e.get("ts")
        if name in ("RunTask", "ThreadControllerImpl::RunTask") and isinstance(ts, int | float):
            tasks.append((dur / 1000, (ts - start) / 1_000_000))
            if isinstance(tdur := e.get("tdur"), int | float):
                work["tasks (CPU)"] = work.get("tasks (CPU)", 0.0) + tdur / 1_000_000
        elif name in WORK:
            work[WORK[name]] = work.get(WORK[name], 0.0) + dur / 1_000_000
    return sorted(tasks, reverse=True)[:3], work


def measure(url: str, path: str, kind: str, shown_js: str, length: int, tokens: int) -> Figures:
    import httpx
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Performance.enable")

        def main_thread() -> float:
            metrics = cdp.send("Performance.getMetrics")["metrics"]
            return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

        received = [0]
        cdp.on(
            "Network.webSocketFrameReceived",
            lambda params: received.__setitem__(
                0, received[0] + len(params["response"]["payloadData"].encode())
            ),
        )
        events: list[dict[str, object]] = []
        cdp.on("Tracing.dataCollected", lambda params: events.extend(params["value"]))
        done = [False]
        cdp.on("Tracing.tracingComplete", lambda _params: done.__setitem__(0, True))
        page.goto(f"{url}{path}")
        page.wait_for_timeout(3000)  # the page has drawn what came before
        page.evaluate(
            "() => { window.__before = document.querySelectorAll('[data-testid=message]').length; }"
        )
        cdp.send(
            "Tracing.start",
            {"traceConfig": {"includedCategories": TRACE_CATEGORIES}, "transferMode": "ReportEvents"},
        )
        received[0] = 0
        cpu0 = httpx.get(f"{url}/bench/cpu").json()["cpu"]
        busy0 = main_thread()
        t0 = time.monotonic()
        httpx.post(f"{url}/bench/send/{kind}")
        marks = [(t0, busy0)]
        for quarter in (1, 2, 3):
            page.wait_for_function(
                f"() => ({shown_js})()[0] >= {length * quarter // 4}", timeout=900_000, polling=250
            )
            marks.append((time.monotonic(), main_thread()))
        page.wait_for_function(
            f"() => {{ const [n, done] = ({shown_js})(); return n >= {length} && done; }}",
            timeout=900_000,
            polling=250,
        )
        marks.append((time.monotonic(), main_thread()))
        seconds = marks[-1][0] - t0
        cpu = httpx.get(f"{url}/bench/cpu").json()["cpu"] - cpu0
        sent = received[0]
        cdp.send("Tracing.end")
        while not done[0]:
            page.wait_for_timeout(100)
        idle0 = (time.monotonic(), httpx.get(f"{url}/bench/cpu").json())
        page.wait_for_timeout(IDLE_SECONDS * 1000)
        idle, wakes = idle_figures(url, *idle0)
        browser.close()
    longest, work = from_trace(events)
    longest = longest or [(0.0, 0.0)]
    quarters = tuple((b1 - b0) / (w1 - w0) for (w0, b0), (w1, b1) in itertools.pairwise(marks))
    return Figures(
        cpu_per_1k=1000 * cpu / tokens,
        bytes_per_char=sent / length,
        busy=(marks[-1][1] - busy0) / seconds,
        quarters=quarters,
        longest_ms=longest[0][0],
        longest_at=tuple(longest),
        work=work,
        idle_cpu=idle,
        idle_wakes=wakes,
    )


@contextlib.contextmanager
def sampled(pid: int, folder: Path | None, name: str) -> Iterator[None]:
    """py-spy samples process `pid` meanwhile (when given a folder): collapsed stacks to `name`.txt."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.txt"
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def idle_figures(url: str, since: float, then: dict[str, float]) -> tuple[float, float]:
    """The CPU share and the loop's wakes per second from `since` (monotonic), counts `then`, to now."""
    import httpx

    now = httpx.get(f"{url}/bench/cpu").json()
    seconds = time.monotonic() - since
    return (now["cpu"] - then["cpu"]) / seconds, (now["wakes"] - then["wakes"]) / seconds


def measure_headless(url: str, kind: str, length: int, tokens: int) -> tuple[float, float, float]:
    """Server CPU seconds per 1,000 tokens with no page open (the floor below the UI), and the idle
    CPU share and loop wakes per second after the reply."""
    import httpx

    def cpu() -> float:
        return float(httpx.get(f"{url}/bench/cpu").json()["cpu"])

    before = httpx.get(f"{url}/bench/reply").json()["count"]
    cpu0 = cpu()
    httpx.post(f"{url}/bench/send/{kind}")
    while True:
        time.sleep(0.25)
        now = httpx.get(f"{url}/bench/reply").json()
        if now["count"] >= before + 2 and now["done"] and now["chars"] >= length:
            break
    per_1k = 1000 * (cpu() - cpu0) / tokens
    idle0 = (time.monotonic(), httpx.get(f"{url}/bench/cpu").json())
    time.sleep(IDLE_SECONDS)
    return (per_1k, *idle_figures(url, *idle0))


def report(name: str, f: Figures) -> None:
    quarters = " ".join(f"{100 * q:.0f}" for q in f.quarters)
    work = ", ".join(f"{k} {v:.2f}" for k, v in sorted(f.work.items(), key=lambda kv: -kv[1]))
    tasks = ", ".join(f"{ms:.0f} ms at {at:.1f} s" for ms, at in f.longest_at)
    print(
        f"{name:8} CPU/1k tok {f.cpu_per_1k:5.3f} s | {f.bytes_per_char:9.2f} B/char | busy {100 * f.busy:5.1f}%"
        f" (quarters {quarters}) | longest task {f.longest_ms:6.1f} ms | idle CPU {100 * f.idle_cpu:4.2f}%"
        f" ({f.idle_wakes:.0f} wakes/s)\n"
        f"         main thread s: {work}\n         longest tasks: {tasks}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second")
    parser.add_argument("--only", choices=["none", "console", "label"])
    parser.add_argument("--text", choices=["plain", "prose"], default="plain", help="what the reply is")
    parser.add_argument("--py-spy", type=Path, metavar="FOLDER", help="sample the console: stacks here")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("PORT", "UPSTREAM"), help=argparse.SUPPRESS)
    parser.add_argument("--source", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1])
        return
    if args.source:
        source(args.source, args.chars, args.rate)
        return
    port, upstream = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, __file__, "--chars", str(args.chars), "--rate", str(args.rate)]
    feeder = subprocess.Popen([*cmd, "--source", str(upstream)], env=env, cwd=ROOT)
    time.sleep(1)
    server = subprocess.Popen([*cmd, "--serve", str(port), str(upstream)], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/bench/cpu", "the console")
        tokens = len(tokens_for(args.chars, args.text))
        length = len("".join(tokens_for(args.chars, args.text)))
        print(
            f"one {args.text} reply of {length:,} characters at {args.rate:,.0f} tokens/s, {len(TOKEN)} characters a token"
        )
        results: dict[str, Figures] = {}
        if args.only in (None, "none"):
            with sampled(server.pid, args.py_spy, "none"):
                floor, idle, wakes = measure_headless(url, args.text, length, tokens)
            print(
                f"no page  CPU/1k tok {floor:5.3f} s | idle CPU {100 * idle:4.2f}% ({wakes:.0f} wakes/s)"
                " (the session alone: what no"
                " page can save)",
                flush=True,
            )
        pages = {"console": ("/session/agent", CONSOLE_SHOWN), "label": ("/label", LABEL_SHOWN)}
        for name, (path, shown) in pages.items():
            if args.only not in (None, name):
                continue
            with sampled(server.pid, args.py_spy, name):
                results[name] = measure(url, path, args.text, shown, length, tokens)
            report(name, results[name])
        if len(results) == 2:
            c, n = results["console"], results["label"]
            print(
                "console / label:"
                f" CPU per 1k tokens {c.cpu_per_1k / n.cpu_per_1k:.3f}x,"
                f" bytes per char {c.bytes_per_char / n.bytes_per_char:.5f}x,"
                f" browser busy {c.busy / n.busy:.3f}x,"
                f" longest task {c.longest_ms / n.longest_ms:.3f}x,"
                f" idle CPU {c.idle_cpu / max(n.idle_cpu, 1e-6):.2f}x"
                f" (quarter medians {statistics.median(c.quarters):.3f} vs {statistics.median(n.quarters):.3f})"
            )
    finally:
        for process in (server, feeder):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
