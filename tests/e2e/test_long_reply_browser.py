"""A very long streamed paragraph and code block, in a real Chromium: the lines already complete are
closed off into blocks of their own (so an append lays out only the newest lines), and the reply looks
and reads exactly as one block would."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from playwright.sync_api import Page
from websockets.asyncio.server import ServerConnection

from tests.e2e.conftest import Console, start_console, stop_console
from tests.helpers import free_port

REPLY = "[data-testid=message][data-role=assistant]"
WORDS = [
    "the",
    "checkout",
    "service",
    "slowed",
    "down",
    "after",
    "the",
    "**pool**",
    "change",
    "and",
    "`retries`",
    "doubled",
    "the",
    "load",
    "",
]
PARAGRAPH = " ".join(WORDS[i % len(WORDS)] for i in range(1800))  # ~10,000 characters, one paragraph
CODE = "\n".join(
    f"def step_{i}(order):  # line {i}\n    return retry(order, attempts={i})" for i in range(150)
)
SECTIONS = "".join(
    f"## Part {i}\n\nPart {i} of the report: latency and errors by service.\n\n"
    if i % 10 == 0
    else f"Note {i}.\n\n"
    for i in range(80)
)
TEXT = f"{PARAGRAPH}\n\n```python\n{CODE}\n```\n\n{SECTIONS}Done."


class LongAgent:
    """An agent-dialect server on loopback whose every reply is `TEXT`, in 40-character tokens."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.loop.close()

    async def _serve(self) -> None:
        async with websockets.serve(self._handler, "127.0.0.1", self.port):
            self.stop: asyncio.Future[None] = self.loop.create_future()
            self.ready.set()
            await self.stop

    async def _handler(self, ws: ServerConnection) -> None:
        async for message in ws:
            if json.loads(message).get("type") != "USER_MESSAGE":
                continue
            tokens = [TEXT[i : i + 40] for i in range(0, len(TEXT), 40)]
            for seq, token in enumerate(tokens, start=1):
                await ws.send(json.dumps({"type": "TOKEN", "seq": seq, "text": token, "stream_id": "s_long"}))
                await asyncio.sleep(0.002)
            await ws.send(json.dumps({"type": "STREAM_END", "seq": len(tokens) + 1, "stream_id": "s_long"}))

    def __enter__(self) -> LongAgent:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set_result, None)
        self.thread.join(10)


@pytest.fixture(scope="module")
def long_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with LongAgent() as agent:
        tmp: Path = tmp_path_factory.mktemp("long")
        console = start_console(tmp, "--upstream", f"agent=ws://127.0.0.1:{agent.port}/ws")
        yield console
        stop_console(console)


def test_a_long_paragraph_is_laid_out_in_closed_blocks_that_look_like_one(
    page: Page, long_console: Console
) -> None:
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(f"{long_console.url}/session/agent")
    page.wait_for_selector("[data-testid=connection-status][data-state=open]")
    page.fill("[data-testid=chat-input]", "a long one please")
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{REPLY}')].pop()?.dataset.status === 'done'", timeout=60_000
    )
    # Each closed chunk of the code block is highlighted (when the browser is idle), the last one too.
    page.wait_for_function(
        f"() => [...[...document.querySelectorAll('{REPLY}')].pop().querySelectorAll('pre code')]"
        ".every(c => c.dataset.highlighted)"
    )
    shown = page.evaluate(
        """() => {
            const reply = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop();
            const text = reply.querySelector('[data-testid=message-text]');
            const code = text.querySelector('pre');
            const long = [...text.querySelectorAll('p')].filter(
                p => p.compareDocumentPosition(code) & Node.DOCUMENT_POSITION_FOLLOWING);
            // The same paragraph as one block, in the same place: lines and height must match.
            const whole = document.createElement('p');
            for (const p of long) for (const n of p.childNodes) whole.appendChild(n.cloneNode(true));
            const probe = text.cloneNode(false);
            probe.style.cssText = 'position:absolute;visibility:hidden;width:' + text.clientWidth + 'px';
            probe.appendChild(whole);
            text.parentElement.appendChild(probe);
            const height = whole.getBoundingClientRect().height;
            probe.remove();
            const first = long[0].getBoundingClientRect().top;
            const last = long[long.length - 1].getBoundingClientRect().bottom;
            const pres = [...text.querySelectorAll('pre')];
            // The reply as shown and with its closed blocks not gathered into groups: same height.
            const laidOut = (grouped) => {
                const copy = text.cloneNode(true);
                if (!grouped) for (const g of copy.querySelectorAll('.ac-group')) g.replaceWith(...g.childNodes);
                copy.style.cssText = 'position:absolute;visibility:hidden;width:' + text.clientWidth + 'px';
                text.parentElement.appendChild(copy);
                const h = copy.getBoundingClientRect().height;
                copy.remove();
                return h;
            };
            return {
                source: text.acSource,
                paragraphs: long.length,
                words: long.map(p => p.textContent).join(''),
                cut: long.slice(0, -1).every(p => p.classList.contains('ac-cut')),
                height: last - first,
                whole: height,
                pres: pres.length,
                code: pres.map(p => p.textContent).join(''),
                langs: pres.map(p => p.querySelector('code').dataset.lang),
                highlighted: pres.slice(0, -1).every(p => p.querySelector('code').dataset.highlighted),
                groups: text.querySelectorAll('.ac-group').length,
                grouped: laidOut(true),
                ungrouped: laidOut(false),
            };
        }"""
    )
    assert shown["source"] == TEXT  # copy still gives the Markdown as received
    assert shown["paragraphs"] >= 4  # closed off as it grew
    assert shown["cut"]
    rendered = PARAGRAPH.replace("**", "").replace("`", "")
    assert " ".join(shown["words"].split()) == " ".join(rendered.split())
    assert abs(shown["height"] - shown["whole"]) <= 1  # no line moved: same lines as one paragraph
    assert shown["pres"] >= 2
    assert shown["code"] == CODE
    assert set(shown["langs"]) == {"python"}
    assert shown["highlighted"]
    assert shown["groups"] >= 2  # the closed blocks gathered into groups...
    assert abs(shown["grouped"] - shown["ungrouped"]) <= 1  # ...which move nothing
