"""The chat-dialect console in a real Chromium, against the chat simulator run as its own process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from console.sim.chat_responders import ScriptedResponder
from tests.e2e.conftest import ROOT, Console, start_console, stop_console
from tests.helpers import free_port

# A slow, finely chunked stream: the message takes about a second, so there is time to look at it.
RUNNER = """
import asyncio, sys
from console.sim.chat import ChatSimConfig, serve
asyncio.run(serve("127.0.0.1", int(sys.argv[1]), ChatSimConfig(token_delay=0.08, min_chunk=6)))
"""

READ = """() => ({
    status: document.querySelector('[data-testid=message][data-role=assistant]')?.dataset.status,
    text: [...document.querySelectorAll('[data-testid=message][data-role=assistant] [data-testid=message-text]')]
        .map(t => t.textContent).join(''),
    cards: [...document.querySelectorAll('[data-testid=component][data-type=idea]')]
        .map(c => ({text: c.querySelector('[data-field=text] .ac-field').textContent,
                    complete: c.dataset.complete})),
    saved: [...document.querySelectorAll('[data-testid=saved-idea] .ac-idea-text')].map(e => e.textContent),
})"""


@pytest.fixture(scope="module")
def chat_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    sim = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(port)
        console = start_console(
            tmp_path_factory.mktemp("chat"), "--upstream", f"chat=ws://127.0.0.1:{port}/ws"
        )
        yield console
        stop_console(console)
    finally:
        sim.terminate()
        sim.wait(10)


def wait_for_health(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the chat simulator did not start")


def send(page: Page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.keyboard.press("Enter")


def shown_chat(page: Page) -> str:
    item = page.locator("[data-testid=conversation-item][data-active=true]")
    chat_id = item.get_attribute("data-chat-id")
    assert chat_id
    return chat_id


def test_ideas_appear_as_cards_and_in_the_saved_list_while_the_message_streams(
    page: Page, chat_console: Console, tmp_path: Path
) -> None:
    page.goto(f"{chat_console.url}/session/chat")
    page.wait_for_selector("[data-testid=connection-status][data-state=open]")
    chat_id = shown_chat(page)
    prompt = "suggest dinner ideas"
    # What the simulator answers to this prompt in this conversation (it is deterministic for a seed).
    entries = ScriptedResponder(0, 0, 0).compose(chat_id, [], prompt)
    ideas = [text for tag, text in entries if tag == "idea"]
    message = "".join(text for tag, text in entries if tag == "message")
    assert len(ideas) >= 2
    send(page, prompt)

    # Every idea is a card and in the saved list while the message after them is still streaming.
    # The state is read in the same check that finds it, so the stream cannot end in between.
    handle = page.wait_for_function(
        f"""n => {{ const s = ({READ})();
            return s.saved.length === n && s.status === 'streaming' && s.text.length > 0 && s; }}""",
        arg=len(ideas),
        timeout=15_000,
    )
    during = handle.json_value()
    assert during["saved"] == ideas
    assert during["cards"] == [{"text": idea, "complete": "true"} for idea in ideas]
    assert message.startswith(during["text"]) and during["text"] != message

    page.wait_for_selector("[data-testid=message][data-role=assistant][data-status=done]", timeout=15_000)
    after = page.evaluate(READ)
    assert after["text"] == message
    assert after["saved"] == ideas

    with page.expect_download() as download:
        page.click("[data-testid=ideas-export]")
    exported = Path(download.value.path()).read_text()
    assert exported.splitlines() == [f"# Ideas: {prompt}", "", *(f"- {idea}" for idea in ideas)]

    # A new chat is empty; the list takes the user back to the first with its ideas.
    page.click("[data-testid=new-chat]")
    page.wait_for_url(re.compile(r"\?chat=(?!" + chat_id + ")[0-9a-f]+$"))
    page.wait_for_selector("[data-testid=conversation-item] >> nth=1")
    assert page.locator("[data-testid=message]").count() == 0
    assert page.locator("[data-testid=saved-idea]").count() == 0
    page.click(f"[data-testid=conversation-item][data-chat-id='{chat_id}']")
    page.wait_for_url(re.compile(f"chat={chat_id}$"))
    page.wait_for_selector("[data-testid=saved-idea]")
    assert page.evaluate(READ)["saved"] == ideas
