"""The console in a real Chromium, against the simulator the console process serves itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from console.transcript import Transcript
from tests.e2e.conftest import Console, start_console, stop_console

READ_REPLIES = """() => [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].map(m => ({
    status: m.dataset.status,
    // The text as the browser received it (a reply is shown rendered as Markdown).
    text: [...m.querySelectorAll('[data-testid=message-text]')].map(t => t.acSource).join(''),
    cards: [...m.querySelectorAll('[data-testid=tool-card]')].map(c => c.dataset.status),
}))"""


def truth_replies(console: Console) -> list[str]:
    http = console.simulators()["agent"]["http"]
    truth = httpx.get(f"{http}/truth", params={"session": "default"}, timeout=5).json()
    return [m.text for m in Transcript.from_json(truth).replies]


def send(page: Page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.keyboard.press("Enter")


def wait_idle(page: Page, replies: int, timeout: float = 60) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown: list[dict[str, object]] = page.evaluate(READ_REPLIES)
        if len(shown) >= replies and all(r["status"] == "done" for r in shown):
            return shown
        time.sleep(0.1)
    raise AssertionError(f"replies did not finish: {page.evaluate(READ_REPLIES)}")


@pytest.fixture(scope="module")
def normal_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(tmp_path_factory.mktemp("normal"), "--seed", "3")
    yield console
    stop_console(console)


def test_a_streamed_reply_with_a_tool_call_renders_exactly_what_the_agent_sent(
    page: Page, normal_console: Console
) -> None:
    page.goto(f"{normal_console.url}/session/agent")
    # Text streams in before the tool call: it must not move when the card appears below it. The page samples
    # the first text run every frame, so the last box before the card and the first with it are both seen.
    page.evaluate(
        """() => { window.__shifts = [];
        new PerformanceObserver(list => { for (const e of list.getEntries())
            for (const s of e.sources || []) if (s.node && s.node.closest && s.node.closest('[data-testid=chat]'))
                window.__shifts.push(e.value); }).observe({type: 'layout-shift', buffered: false});
        const box = el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, height: r.height}; };
        window.__cardAppeared = new Promise(resolve => {
            let before = null;
            setTimeout(() => resolve({before, after: null, status: 'no card within 20 s'}), 20000);
            const sample = () => {
                const run = document.querySelector(
                    '[data-testid=message][data-role=assistant] [data-testid=message-text]');
                const card = document.querySelector('[data-testid=tool-card]');
                if (card) { resolve({before, after: run && box(run), status: card.dataset.status}); return; }
                if (run && run.textContent.length > 0) before = box(run);
                requestAnimationFrame(sample);
            };
            sample();
        }); }"""
    )
    send(page, "summarize the q3 report")
    seen: dict[str, object] = page.evaluate("() => window.__cardAppeared")
    before_card, after_card = seen["before"], seen["after"]
    assert seen["status"] == "waiting"
    assert before_card is not None, "the card arrived in the same frame as the text before it"
    assert after_card == before_card  # frozen: no move, no reflow of the text above
    page.wait_for_selector("[data-testid=tool-card][data-status=done]", timeout=15_000)
    replies = wait_idle(page, 1)
    assert [r["text"] for r in replies] == truth_replies(normal_console)
    assert replies[0]["cards"] == ["done"]
    shifts: list[float] = page.evaluate("() => window.__shifts")
    print(f"layout shift in the chat while the card appeared and the reply finished: {sum(shifts):.4f}")
    assert sum(shifts) < 0.01, shifts


def test_the_reconnect_indicator_shows_within_500_ms_of_a_drop(page: Page, normal_console: Console) -> None:
    page.goto(f"{normal_console.url}/session/agent")
    page.wait_for_selector("[data-testid=connection-status][data-state=open]")
    page.click("[data-testid=session-menu]")
    item = page.locator("[data-testid=drop-connection]")
    item.wait_for()
    elapsed_ms: float = item.evaluate(
        """(el) => new Promise(resolve => {
            const t0 = performance.now();
            el.click();
            const check = () => document.querySelector(
                '[data-testid=connection-status][data-state=reconnecting]')
                ? resolve(performance.now() - t0) : requestAnimationFrame(check);
            check();
        })"""
    )
    print(f"reconnect indicator shown {elapsed_ms:.0f} ms after the drop")
    assert elapsed_ms < 500
    assert page.locator("[data-testid=connection-banner]").is_visible()
    page.wait_for_selector("[data-testid=connection-status][data-state=open]", timeout=10_000)
    assert not page.locator("[data-testid=connection-banner]").is_visible()


def test_chaos_mode_with_drops_ends_with_exactly_the_agents_text(page: Page, tmp_path: Path) -> None:
    console = start_console(tmp_path, "--demo", "chaos", "--seed", "21", "--sim-time-scale", "0.25")
    try:
        page.goto(f"{console.url}/session/agent")
        page.wait_for_selector("[data-testid=connection-status][data-state=open]")
        prompts = ["analyze and compare the regions", "write a long detailed document"]
        for n, prompt in enumerate(prompts, start=1):
            send(page, prompt)
            page.wait_for_function(
                f"() => document.querySelectorAll('[data-testid=message][data-role=assistant]').length >= {n}"
            )
            # Cut the link mid-reply on top of the simulator's own chaos.
            time.sleep(0.5)
            page.click("[data-testid=session-menu]")
            page.click("[data-testid=drop-connection]")
            wait_idle(page, n, timeout=90)
        replies = wait_idle(page, len(prompts))
        assert [r["text"] for r in replies] == truth_replies(console)
        assert all(r["cards"] == ["done"] * len(r["cards"]) for r in replies if isinstance(r["cards"], list))
        http = console.simulators()["agent"]["http"]
        violations = [
            e
            for e in httpx.get(f"{http}/log", params={"session": "default"}).json()
            if e["verdict"] == "violation"
        ]
        assert violations == []
    finally:
        stop_console(console)
