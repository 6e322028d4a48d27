"""Bytes sent to the browser per streamed character, and server CPU: the console's chat vs a label.

    python tests/bench/stream_bytes.py [--chars 100000] [--rate 1000]

Runs a console process (the real chat page, plus a page that shows the same reply with a plain label
updated per token) against a small agent server that streams one reply of `--chars` characters at
`--rate` tokens per second. Real Chromium opens one page at a time; the bytes are the payloads of
every WebSocket frame the page received (Chrome DevTools Protocol), the CPU is the console process's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN = "word "  # five characters a token, like a real agent's short chunks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the console side (a subprocess) -------------------------------------------------------------


def serve(port: int, upstream_port: int, chars: int, rate: float) -> None:
    from nicegui import app, ui

    from console.clients import Target
    from console.session import Change, TextAppended
    from console.sessions import SessionHub
    from console.ui import page

    hub = SessionHub()
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

    @app.post("/bench/send")
    def send() -> dict[str, str]:
        hub.sessions["agent"].client.send_user_message("go")
        return {"ok": "sent"}

    @app.get("/bench/cpu")
    def cpu() -> dict[str, float]:
        times = os.times()
        return {"cpu": times.user + times.system}

    async def startup() -> None:
        await agent_server(upstream_port, chars, rate)
        hub.add(Target("agent", f"ws://127.0.0.1:{upstream_port}/ws"), name="agent")

    app.on_startup(startup)
    ui.run(port=port, show=False, reload=False, title="bench")


async def agent_server(port: int, chars: int, rate: float) -> None:
    import websockets

    async def handler(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            if json.loads(message).get("type") != "USER_MESSAGE":
                continue
            tokens = chars // len(TOKEN)
            stream = f"s_{time.monotonic_ns()}"
            start = time.monotonic()
            for seq in range(1, tokens + 1):
                await ws.send(json.dumps({"type": "TOKEN", "seq": seq, "text": TOKEN, "stream_id": stream}))
                delay = start + seq / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "STREAM_END", "seq": tokens + 1, "stream_id": stream}))

    await websockets.serve(handler, "127.0.0.1", port)


# -- the measuring side ---------------------------------------------------------------------------


def measure(url: str, path: str, chars: int, done_js: str) -> tuple[int, float, float]:
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
        received = [0]

        samples: list[str] = []

        def on_frame(params: dict[str, dict[str, str]]) -> None:
            data = params["response"]["payloadData"]
            received[0] += len(data.encode())
            if os.environ.get("BENCH_DUMP") and len(samples) < 40:
                samples.append(data[:300])

        cdp.on("Network.webSocketFrameReceived", on_frame)
        page.goto(f"{url}{path}")
        page.wait_for_timeout(1500)
        received[0] = 0
        cpu0 = httpx.get(f"{url}/bench/cpu").json()["cpu"]
        t0 = time.monotonic()
        httpx.post(f"{url}/bench/send")
        page.wait_for_function(done_js, timeout=600_000, polling=200)
        page.wait_for_timeout(500)
        seconds = time.monotonic() - t0
        cpu = httpx.get(f"{url}/bench/cpu").json()["cpu"] - cpu0
        browser.close()
        for sample in samples:
            print("   ", sample)
    return received[0], cpu, seconds


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
        chat_done = (
            "() => { const m = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop();"
            f" return m && m.dataset.status === 'done' && m.innerText.length >= {length}; }}"
        )
        label_done = (
            "() => { const l = document.querySelector('[data-testid=label-text]');"
            f" return l && l.textContent.length >= {length}; }}"
        )
        print(
            f"one reply of {length:,} characters at {args.rate:,.0f} tokens/s ({len(TOKEN)} characters a token)"
        )
        for name, path, done in [
            ("chat (append in browser)", "/session/agent", chat_done),
            ("label per token", "/label", label_done),
        ]:
            sent, cpu, seconds = measure(url, path, length, done)
            print(
                f"{name:26} {sent:>13,} bytes to the browser = {sent / length:8.2f} bytes/char;"
                f" server CPU {cpu:6.2f} s over {seconds:5.1f} s ({100 * cpu / seconds:5.1f}%)"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
