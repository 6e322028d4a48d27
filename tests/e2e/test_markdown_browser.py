"""Replies rendered as Markdown while they stream, in a real Chromium; hostile replies stay inert."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest
import websockets
from playwright.sync_api import Dialog, Page
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from tests.e2e.conftest import Console, start_console, stop_console
from tests.helpers import free_port

REPLIES = "[data-testid=message][data-role=assistant]"

# Every way a reply could try to run script or load something, each split over small tokens.
HOSTILE = """Here is the report.

<img src=x onerror="window.__pwned = 1; alert('img')">

[x](javascript:alert(1)) [y](JAVASCRIPT:alert(2)) [t](java\tscript:alert(3)) \
[d](data:text/html,<script>alert(4)</script>) [v](vbscript:msgbox(5)) [r](/local/path)

![pixel](http://{host}/pixel.png)

<script>window.__pwned = 2; alert('script')</script>
<iframe src="http://{host}/frame"></iframe>
<a href="javascript:alert(6)" onclick="alert(7)">click me</a>

A [safe link](https://example.com/docs) and an autolink https://example.com/raw done.
"""


class HostileAgent:
    """An agent-dialect server on loopback whose every reply is `HOSTILE`; it records HTTP requests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.loop.close()

    async def _serve(self) -> None:
        async with websockets.serve(self._handler, "127.0.0.1", self.port, process_request=self._http):
            self.stop: asyncio.Future[None] = self.loop.create_future()
            self.ready.set()
            await self.stop

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/ws"):
            return None
        self.requests.append(request.path)  # anything the page loads from here is a failure
        return connection.respond(HTTPStatus.NOT_FOUND, "nothing here\n")

    async def _handler(self, ws: ServerConnection) -> None:
        async for message in ws:
            if json.loads(message).get("type") != "USER_MESSAGE":
                continue
            text = HOSTILE.format(host=self.host)
            tokens = [text[i : i + 7] for i in range(0, len(text), 7)]
            for seq, token in enumerate(tokens, start=1):
                await ws.send(
                    json.dumps({"type": "TOKEN", "seq": seq, "text": token, "stream_id": "s_hostile1"})
                )
                await asyncio.sleep(0.005)
            await ws.send(
                json.dumps({"type": "STREAM_END", "seq": len(tokens) + 1, "stream_id": "s_hostile1"})
            )

    def __enter__(self) -> HostileAgent:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set_result, None)
        self.thread.join(10)


@pytest.fixture(scope="module")
def sim_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(tmp_path_factory.mktemp("md"), "--seed", "4")
    yield console
    stop_console(console)


def send(page: Page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.keyboard.press("Enter")


def wait_reply_done(page: Page) -> None:
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{REPLIES}')].pop()?.dataset.status === 'done'", timeout=30_000
    )


def test_a_streamed_reply_renders_headings_lists_code_tables_and_links(
    page: Page, sim_console: Console
) -> None:
    page.goto(f"{sim_console.url}/session/agent")
    page.wait_for_selector("[data-testid=connection-status][data-state=open]")
    send(page, "show me a markdown sample")
    # The heading is an element while the reply still streams; keep it to see it never re-rendered.
    status = page.evaluate(
        """() => new Promise(resolve => {
            const check = () => {
                const reply = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop();
                const heading = reply && reply.querySelector('.ac-md h2');
                if (heading) { window.__heading = heading; resolve(reply.dataset.status); }
                else requestAnimationFrame(check);
            };
            check();
        })"""
    )
    assert status == "streaming"
    wait_reply_done(page)
    page.locator(f"{REPLIES} pre code[data-highlighted]").last.wait_for()  # highlighted once complete
    shown = page.evaluate(
        """() => {
            const reply = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop();
            const all = s => [...reply.querySelectorAll(s)];
            const link = reply.querySelector('.ac-md a[href]');
            return {
                same_heading: reply.querySelector('.ac-md h2') === window.__heading && window.__heading.isConnected,
                headings: all('.ac-md h2, .ac-md h3').map(h => h.tagName + ' ' + h.textContent),
                items: all('.ac-md ul > li').length,
                code_lang: reply.querySelector('pre code').dataset.lang,
                keywords: all('pre code .ac-hl-kw').map(k => k.textContent),
                header: all('table thead th').map(th => th.textContent.trim()),
                rows: all('table tbody tr').length,
                inline_code: all('.ac-md :not(pre) > code').length,
                link: [link.href, link.target, link.rel],
                raw_markup: reply.innerText.includes('##') || reply.innerText.includes('```'),
                cards: all('[data-testid=tool-card]').length,
            };
        }"""
    )
    assert shown["same_heading"]  # appended to, never rebuilt
    assert shown["headings"] == ["H2 Incident summary", "H3 Latency by service", "H3 Proposed fix"]
    assert shown["items"] == 3
    assert shown["code_lang"] == "python"
    assert {"def", "return", "lambda"} <= set(shown["keywords"])
    assert shown["header"] == ["Service", "p95 latency (ms)", "Errors per hour"]
    assert shown["rows"] == 3
    assert shown["inline_code"] >= 2
    assert shown["link"] == [
        "https://example.com/runbooks/checkout",
        "_blank",
        "noopener noreferrer nofollow",
    ]
    assert not shown["raw_markup"]
    assert shown["cards"] == 1


def test_a_hostile_reply_runs_nothing_and_loads_nothing(page: Page, tmp_path: Path) -> None:
    with HostileAgent() as agent:
        console = start_console(tmp_path, "--upstream", f"agent=ws://{agent.host}/ws")
        try:
            dialogs: list[str] = []
            requests: list[str] = []

            def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            # A load or a script the page's security policy had to refuse would still be an attempt.
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(console.url)
            page.wait_for_selector("[data-testid=connection-status][data-state=open]")
            send(page, "report please")
            wait_reply_done(page)
            reply = page.locator(REPLIES).last
            for name in ["x", "y", "t", "d", "v", "r"]:
                reply.get_by_text(name, exact=True).first.click()  # inert: nothing opens, nothing runs
            page.wait_for_timeout(500)
            shown = reply.evaluate(
                """m => ({
                    elements: m.querySelectorAll('img, script, iframe, object, embed, video, audio, source').length,
                    handlers: [...m.querySelectorAll('*')].flatMap(e => [...e.attributes])
                        .filter(a => a.name.startsWith('on')).length,
                    hrefs: [...m.querySelectorAll('[data-testid=message-text] a[href]')]
                        .map(a => [a.getAttribute('href'), a.target, a.rel]),
                    inert: [...m.querySelectorAll('a.ac-md-inert')].map(a => a.textContent),
                    text: m.querySelector('[data-testid=message-text]').textContent,
                    pwned: window.__pwned ?? null,
                })"""
            )
        finally:
            stop_console(console)
    assert dialogs == []
    assert not [e for e in errors if "Refused" in e or "Security Policy" in e], errors
    assert shown["pwned"] is None
    assert shown["elements"] == 0 and shown["handlers"] == 0
    assert shown["hrefs"] == [
        [f"http://{agent.host}/pixel.png", "_blank", "noopener noreferrer nofollow"],  # a link, not loaded
        ["https://example.com/docs", "_blank", "noopener noreferrer nofollow"],
        ["https://example.com/raw", "_blank", "noopener noreferrer nofollow"],
    ]
    assert set(shown["inert"]) >= {"x", "y", "t", "d", "v", "r"}
    assert "<script>" in shown["text"] and "<img src=x" in shown["text"]  # raw HTML is shown as text
    assert agent.requests == []
    assert not [url for url in requests if agent.host in url or url.endswith("/x")]
