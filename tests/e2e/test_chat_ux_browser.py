"""A user's first minutes with the chat, in a real Chromium: typing, scrolling, long input, keyboard."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from console.transcript import Transcript
from tests.e2e.conftest import Console, start_console, stop_console

INPUT = "[data-testid=chat-input]"
MESSAGES = "[data-testid=message]"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    # Replies in a fraction of the usual time, still long enough to be in flight while the user types.
    console = start_console(tmp_path_factory.mktemp("ux"), "--seed", "5", "--sim-time-scale", "0.2")
    yield console
    stop_console(console)


def received_prompts(console: Console) -> list[str]:
    """What the simulated agent was sent, in order (its own record, not the console's)."""
    http = console.simulators()["agent"]["http"]
    truth = httpx.get(f"{http}/truth", params={"session": "default"}, timeout=5).json()
    return [m.text for m in Transcript.from_json(truth).prompts]


def wait_for(condition: object, timeout: float = 60) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("not reached in time")


LIVE = "[data-testid=connection-status]:is([data-state=open], [data-state=streaming], [data-state=tool_call_pending])"


def open_agent(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/session/agent")
    page.wait_for_selector(LIVE)  # connected (a reply asked for by an earlier test may still stream)


def settled_scroll(page: Page) -> dict[str, float]:
    """The chat's scroll position once nothing has moved for a few frames."""
    position: dict[str, float] = page.evaluate(
        """() => new Promise(resolve => {
            const box = document.querySelector('[data-testid=chat-scroll]');
            let last = -1, still = 0;
            const check = () => {
                const now = box.scrollHeight * 1e6 + box.scrollTop;
                still = now === last ? still + 1 : 0;
                last = now;
                if (still >= 10) resolve({top: box.scrollTop, height: box.scrollHeight, client: box.clientHeight});
                else requestAnimationFrame(check);
            };
            check();
        })"""
    )
    return position


def newest_is_visible(page: Page) -> bool:
    visible: bool = page.evaluate(
        """() => {
            const box = document.querySelector('[data-testid=chat-scroll]').getBoundingClientRect();
            const all = document.querySelectorAll('[data-testid=message]');
            const last = all[all.length - 1].getBoundingClientRect();
            return last.bottom <= box.bottom + 1 && last.bottom > box.top;
        }"""
    )
    return visible


def test_typing_across_enter_never_loses_or_repeats_a_character(page: Page, console: Console) -> None:
    open_agent(page, console)
    before = received_prompts(console)
    prompts = ["hello bravo", "gift ideas for my team", "hi again, third one while two are in flight"]
    page.click(INPUT)
    for prompt in prompts:
        # A person's pace: the keys after Enter come while the send is still on its way to the server.
        page.keyboard.type(prompt, delay=35)
        page.keyboard.press("Enter")
    page.keyboard.type("draft", delay=35)  # typed on after the last send: it stays in the box
    wait_for(lambda: len(received_prompts(console)) >= len(before) + len(prompts))
    assert received_prompts(console)[len(before) :] == prompts
    shown = page.locator(f"{MESSAGES}[data-role=user] [data-testid=message-text]").all_text_contents()
    assert shown[-3:] == prompts
    assert page.input_value(INPUT) == "draft"


def test_a_reloaded_long_session_opens_at_its_newest_message(page: Page, console: Console) -> None:
    open_agent(page, console)
    while (count := page.locator(MESSAGES).count()) < 20:
        page.fill(INPUT, "summarize the q3 report")
        page.keyboard.press("Enter")
        page.wait_for_function(
            f"() => document.querySelectorAll('[data-testid=message]').length >= {count + 2}"
            " && ![...document.querySelectorAll('[data-testid=message]')].some(m => m.dataset.status === 'streaming')",
            timeout=60_000,
        )
    for _ in range(2):  # opened, then reloaded
        page.reload()
        page.wait_for_selector(LIVE)
        page.wait_for_function("() => document.querySelectorAll('[data-testid=message]').length >= 20")
        position = settled_scroll(page)
        assert position["height"] > 2 * position["client"]  # long enough to be opened anywhere else
        assert position["height"] - position["top"] - position["client"] < 4, position
        assert newest_is_visible(page)


def test_sending_while_scrolled_up_jumps_to_the_bottom_and_follows_the_reply(
    page: Page, console: Console
) -> None:
    open_agent(page, console)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=message]').length >= 6")
    settled_scroll(page)
    page.hover("[data-testid=chat-scroll]")
    for _ in range(5):
        page.mouse.wheel(0, -600)  # the user reads older messages
    page.wait_for_selector("[data-testid=jump-latest]", state="visible")
    count = page.locator(MESSAGES).count()
    page.fill(INPUT, "write a long detailed document")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=message]').length >= {count + 2}")
    # While the long reply streams, the newest text stays in view.
    for _ in range(5):
        time.sleep(0.4)
        position = settled_scroll(page)
        assert position["height"] - position["top"] - position["client"] < 4, position
        assert newest_is_visible(page)
    assert not page.locator("[data-testid=jump-latest]").is_visible()


def test_a_long_paste_scrolls_inside_the_input_and_is_folded_once_sent(page: Page, console: Console) -> None:
    open_agent(page, console)
    words = "a pasted log line with a few words in it\n" * 600
    pasted = words[:20_000].strip()
    page.fill(INPUT, pasted)
    box = page.locator(INPUT).bounding_box()
    chat = page.locator("[data-testid=chat-scroll]").bounding_box()
    assert box is not None and chat is not None
    assert box["height"] <= 0.3 * 900 and chat["height"] > 450  # the chat keeps the screen
    count = page.locator(MESSAGES).count()
    page.keyboard.press("Enter")
    wait_for(lambda: received_prompts(console)[-1:] == [pasted])
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=message]').length > {count}")
    sent = page.locator(f"{MESSAGES}[data-role=user]").last
    folded = sent.bounding_box()
    assert folded is not None and folded["height"] < 320
    sent.locator("[data-testid=show-more]").click()
    unfolded = sent.bounding_box()
    assert unfolded is not None and unfolded["height"] > 3 * folded["height"]
    assert sent.locator("[data-testid=show-more]").get_attribute("aria-expanded") == "true"


def test_tool_cards_fold_from_the_keyboard(page: Page, console: Console) -> None:
    open_agent(page, console)
    head = page.locator("[data-testid=tool-card] .ac-tool-head").last
    head.wait_for()
    card = page.locator("[data-testid=tool-card]").last
    args = card.locator(".ac-json").first
    assert head.get_attribute("tabindex") == "0" and head.get_attribute("role") == "button"
    head.focus()
    page.keyboard.press("Enter")
    assert not args.is_visible() and head.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    assert args.is_visible() and head.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Shift+Tab")  # the card's head is in the tab order: Tab comes back to it
    page.keyboard.press("Tab")
    assert head.evaluate("h => document.activeElement === h")


def test_the_reconnect_banner_leaves_the_first_line_readable(page: Page, console: Console) -> None:
    open_agent(page, console)
    page.mouse.move(400, 400)
    for _ in range(40):  # the user scrolls to the top of the chat
        page.mouse.wheel(0, -3000)
    page.wait_for_function("() => document.querySelector('[data-testid=chat-scroll]').scrollTop === 0")
    page.click("[data-testid=session-menu]")
    page.click("[data-testid=drop-connection]")
    banner = page.locator("[data-testid=connection-banner]")
    banner.wait_for(state="visible")
    first_top: float = page.evaluate(
        """() => [...document.querySelector('[data-testid=chat]').children]
            .map(e => e.getBoundingClientRect()).find(r => r.height > 0).top"""
    )
    shown = banner.bounding_box()
    assert shown is not None
    assert first_top >= shown["y"] + shown["height"]
    page.wait_for_selector("[data-testid=connection-status][data-state=open]", timeout=15_000)
