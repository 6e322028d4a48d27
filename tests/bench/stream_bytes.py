"""Bytes sent to the browser per streamed character, server CPU and browser main-thread time.

    python tests/bench/stream_bytes.py [--chars 100000] [--rate 1000]

Runs a console process against a small agent server that streams one reply of `--chars` characters
at `--rate` tokens per second, and measures, one page at a time in real Chromium:
- a plain-text reply: the console's chat (deltas appended in the browser) vs a label re-sent per token;
- a Markdown-heavy reply (headings, lists, code, tables): the chat showing text as received (as it
  did before replies were rendered) vs the chat rendering Markdown as it streams.
The bytes are the payloads of every WebSocket frame the page received and the browser's main-thread
time is Chrome's own task time over the stream (both via the Chrome DevTools Protocol); the CPU is
the console process's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port  # noqa: E402

TOKEN = "word "  # five characters a token, like a real agent's short chunks
# One section of a Markdown-heavy reply, repeated to the reply's length and cut into 5-character tokens.
MARKDOWN_SECTION = """## Findings for the region

The **checkout** service slowed down after the `pool_timeout` change; see [the runbook](https://example.com/rb).

- p95 latency rose from 120 ms to 340 ms
- retries doubled the load on *payments*
- search stayed within budget

| Service | p95 (ms) | Errors |
| --- | --- | --- |
| checkout | 340 | 12 |
| search | 110 | 0 |

```python
def fetch(order_id: str) -> dict:
    return retry(lambda: db.get(order_id), attempts=2)
```

"""


def reply_tokens(kind: str, chars: int) -> list[str]:
    if kind != "markdown":
        return [TOKEN] * (chars // len(TOKEN))
    text = (MARKDOWN_SECTION * (chars // len(MARKDOWN_SECTION) + 1))[:chars]
    return [text[i : i + len(TOKEN)] for i in range(0, len(text), len(TOKEN))]


# -- the console side (a subprocess) -------------------------------------------------------------


def serve(port: int, upstream_port: int, chars: int, rate: float) -> None:
    from nicegui import app, ui

    from console.clients import Target
    from console.session import Change, TextAppended
    from console.supervisor import Supervisor
    from console.ui import page

    hub = Supervisor()
    page.register(hub)

    @ui.page("/label")
    def label_page() -> None:
        """The naive way: one label, its whole text re-sent on every token."""
        conversation = hub.sessions["agent"].client.conversation
        label = ui.label().classes("whitespace-pre-wrap").props("data-testid=label-text")

        def on_change(change: Change) -> None:
            if isinstance(change, TextAppended):
                label.set_text(change.message.text)

        ui.context.client.on_delete(conversation.subscribe(on_change))

    @ui.page("/chat/{rendering}")
    def chat_page(rendering: str) -> None:
        """The chat alone, its replies rendered as Markdown or shown as received (as before Markdown)."""
        from console.ui.chat import ChatView

        page.frame(rendering)
        client = hub.sessions["agent"].client
        with ui.element("div").classes("relative w-full grow min-h-0 flex flex-col flex-nowrap"):
            ChatView(client.conversation, client.retry, markdown=rendering == "markdown")

    @app.post("/bench/send/{kind}")
    def send(kind: str) -> dict[str, str]:
        hub.sessions["agent"].client.send_user_message(kind)
        return {"ok": "sent"}

    @app.get("/bench/cpu")
    def cpu() -> dict[str, float]:
        times = os.times()
        return {"cpu": times.user + times.system}

    async def startup() -> None:
        await agent_server(upstream_port, chars, rate)
        hub.add(Target("agent", f"ws://127.0.0.1:{upstream_port}/ws"), name="agent")

    app.on_startup(startup)
    ui.run(host="127.0.0.1", port=port, show=False, reload=False, title="bench")


async def agent_server(port: int, chars: int, rate: float) -> None:
    import websockets

    async def handler(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            frame = json.loads(message)
            if frame.get("type") != "USER_MESSAGE":
                continue
            tokens = reply_tokens(str(frame.get("content")), chars)
            stream = f"s_{time.monotonic_ns()}"
            start = time.monotonic()
            for seq, token in enumerate(tokens, start=1):
                await ws.send(json.dumps({"type": "TOKEN", "seq": seq, "text": token, "stream_id": stream}))
                delay = start + seq / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "STREAM_END", "seq": len(tokens) + 1, "stream_id": stream}))

    await websockets.serve(handler, "127.0.0.1", port)


# -- the measuring side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    sent: int  # bytes to the browser
    cpu: float  # server CPU seconds
    seconds: float  # wall time of the stream
    busy: float  # browser main-thread seconds
    busy_halves: tuple[float, float]  # main-thread seconds while the first and the second half arrived


def measure(url: str, path: str, kind: str, shown_js: str, length: int) -> Figures:
    """One page, one reply; `shown_js` gives the characters of the new reply shown and whether it ended."""
    import httpx
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Performance.enable")

        def main_thread() -> float:
            metrics = cdp.send("Performance.getMetrics")["metrics"]
            return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

        received = [0]

        samples: list[str] = []

        def on_frame(params: dict[str, dict[str, str]]) -> None:
            data = params["response"]["payloadData"]
            received[0] += len(data.encode())
            if os.environ.get("BENCH_DUMP") and len(samples) < 40:
                samples.append(data[:300])

        cdp.on("Network.webSocketFrameReceived", on_frame)
        page.goto(f"{url}{path}")
        page.wait_for_timeout(3000)  # the page has drawn the replies measured before
        received[0] = 0
        cpu0 = httpx.get(f"{url}/bench/cpu").json()["cpu"]
        busy0 = main_thread()
        page.evaluate(
            "() => { window.__before = document.querySelectorAll('[data-testid=message]').length; }"
        )
        t0 = time.monotonic()
        httpx.post(f"{url}/bench/send/{kind}")
        page.wait_for_function(f"() => ({shown_js})()[0] >= {length // 2}", timeout=600_000, polling=100)
        busy_half = main_thread()
        page.wait_for_function(
            f"() => {{ const [n, done] = ({shown_js})(); return n >= {length} && done; }}",
            timeout=600_000,
            polling=200,
        )
        page.wait_for_timeout(500)
        seconds = time.monotonic() - t0
        cpu = httpx.get(f"{url}/bench/cpu").json()["cpu"] - cpu0
        busy = main_thread() - busy0
        browser.close()
        for sample in samples:
            print("   ", sample)
    return Figures(received[0], cpu, seconds, busy, (busy_half - busy0, busy0 + busy - busy_half))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("PORT", "UPSTREAM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], args.chars, args.rate)
        return
    port, upstream = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, __file__, "--chars", str(args.chars), "--rate", str(args.rate)]
    server = subprocess.Popen([*cmd, "--serve", str(port), str(upstream)], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(4)
        length = args.chars // len(TOKEN) * len(TOKEN)
        # The characters of the new reply received by the page, and whether the reply has ended.
        chat_shown = (
            "() => { const all = document.querySelectorAll('[data-testid=message]'); const m = all[all.length - 1];"
            " if (all.length < window.__before + 2) return [0, false];"
            " return [[...m.querySelectorAll('[data-testid=message-text]')]"
            ".reduce((n, t) => n + t.acSource.length, 0), m.dataset.status === 'done']; }"
        )
        label_shown = (
            "() => { const l = document.querySelector('[data-testid=label-text]');"
            " return [l ? l.textContent.length : 0, true]; }"
        )
        print(
            f"one reply of {length:,} characters at {args.rate:,.0f} tokens/s ({len(TOKEN)} characters a token)"
        )
        print("browser main thread: over the whole stream (first half + second half of the characters)")
        for name, path, kind, shown in [
            ("chat (append in browser)", "/session/agent", "plain", chat_shown),
            ("label per token", "/label", "plain", label_shown),
            ("Markdown reply, as text", "/chat/text", "markdown", chat_shown),
            ("Markdown reply, rendered", "/chat/markdown", "markdown", chat_shown),
        ]:
            f = measure(url, path, kind, shown, length)
            print(
                f"{name:26} {f.sent:>13,} bytes to the browser = {f.sent / length:8.2f} bytes/char;"
                f" server CPU {f.cpu:6.2f} s over {f.seconds:5.1f} s ({100 * f.cpu / f.seconds:5.1f}%);"
                f" browser main thread {f.busy:6.2f} s ({f.busy_halves[0]:.2f} + {f.busy_halves[1]:.2f})"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
