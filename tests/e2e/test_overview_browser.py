"""The operations view in a real Chromium: twenty autopiloted sessions, filtered, then one opened."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import start_console, stop_console

CARDS = "[data-testid=session-card]"
VISIBLE = f"{CARDS}:visible"
SEARCH = "input[data-testid=overview-search], [data-testid=overview-search] input"
# True when what the grid shows agrees with the filter: every shown card is in one of `states`, every
# hidden one is not. Cards change state all the time, so this is polled until a refresh has landed.
FILTER_HOLDS = """(states) => [...document.querySelectorAll('[data-testid=session-card]')].every(
    c => (c.offsetParent !== null) === states.includes(c.dataset.state))"""
# Cards in the order the grid shows them have non-increasing events/s.
BUSIEST_FIRST = """() => {
    const cards = [...document.querySelectorAll('[data-testid=session-card]')]
        .filter(c => c.style.order !== '')
        .sort((a, b) => Number(a.style.order) - Number(b.style.order));
    const rates = cards.map(c => parseInt(c.querySelector('[data-testid=card-rate]').textContent));
    return cards.length === 20 && rates.every((r, i) => i === 0 || rates[i - 1] >= r) && rates[0] > 0;
}"""
LIVE_TAIL = """() => [...document.querySelectorAll('[data-testid=card-tail]')]
    .filter(t => t.textContent.trim().length > 20).length"""
ISOLATED_TAILS = """() => [...document.querySelectorAll('[data-testid=card-tail]')]
    .filter(t => t.dir === 'auto' && getComputedStyle(t).unicodeBidi === 'isolate').length"""


def test_twenty_sessions_stream_on_the_overview_filter_and_open_one(tmp_path: Path, page: Page) -> None:
    console = start_console(tmp_path, "--streams", "20", "--sim-time-scale", "0.5")
    try:
        page.goto(console.url)
        expect(page.locator(CARDS)).to_have_count(20)
        expect(page.get_by_test_id("overview-summary")).to_contain_text("20 sessions")
        # Live: replies stream into the cards' tails and the rates move.
        page.wait_for_function(f"() => ({LIVE_TAIL})() >= 5", timeout=20_000)
        expect(page.get_by_test_id("overview-totals")).to_contain_text(re.compile(r"[1-9]\d* tokens/s"))

        page.locator(SEARCH).first.fill("agent-07")
        expect(page.locator(VISIBLE)).to_have_count(1)
        expect(page.locator(VISIBLE)).to_have_attribute("data-session-id", "agent-07")
        page.locator(SEARCH).first.fill("")
        expect(page.locator(VISIBLE)).to_have_count(20)
        # Hiding and showing cards again keeps what streamed into them.
        assert page.evaluate(LIVE_TAIL) >= 5
        assert page.evaluate(ISOLATED_TAILS) == 20  # upstream text, isolated for bidirectional display

        filters = page.get_by_test_id("overview-filter")
        filters.get_by_text("Active", exact=True).click()
        page.wait_for_function(FILTER_HOLDS, arg=["streaming", "tool_call_pending"], timeout=10_000)
        filters.get_by_text("Idle", exact=True).click()
        page.wait_for_function(FILTER_HOLDS, arg=["open"], timeout=10_000)
        filters.get_by_text("Failing", exact=True).click()
        expect(page.locator(VISIBLE)).to_have_count(0)  # normal mode: nothing fails
        expect(page.get_by_test_id("overview-empty")).to_be_visible()
        filters.get_by_text("All", exact=True).click()
        expect(page.locator(VISIBLE)).to_have_count(20)

        page.get_by_test_id("overview-sort").click()
        page.get_by_role("option", name="Busiest").click()
        page.wait_for_function(BUSIEST_FIRST, timeout=10_000)
        page.get_by_test_id("overview-sort").click()
        page.get_by_role("option", name="Name").click()  # cards hold still again

        scrape = httpx.get(f"{console.url}/metrics", timeout=5)
        assert scrape.headers["content-type"].startswith("text/plain")
        counts = re.findall(r'^agent_console_sessions\{state="\w+"\} (\d+)$', scrape.text, re.MULTILINE)
        assert sum(int(n) for n in counts) == 20

        # The whole card opens the session's console.
        page.locator(f'{CARDS}[data-session-id="agent-07"]').click()
        page.wait_for_url(re.compile(r"/session/agent-07$"))
        expect(page.locator("[data-testid=message][data-role=user]").first).to_be_visible()
        expect(page.get_by_test_id("connection-status")).to_have_attribute(
            "data-state", re.compile("open|streaming|tool_call_pending")
        )
    finally:
        stop_console(console)


def test_two_clicks_on_a_cards_close_button_remove_at_most_one_session_and_undo_keeps_it(
    tmp_path: Path, page: Page
) -> None:
    console = start_console(tmp_path, "--streams", "4", "--sim-time-scale", "0.5")
    try:
        page.goto(console.url)
        expect(page.locator(CARDS)).to_have_count(4)
        first = page.locator(CARDS).first
        removed = first.get_attribute("data-session-id")
        close = page.locator(f"{CARDS}[data-session-id='{removed}'] button[aria-label^='Remove']")
        spot = close.bounding_box()
        assert spot is not None
        x, y = spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2
        page.mouse.click(x, y)
        expect(page.get_by_test_id("card-removed")).to_contain_text("removed")
        page.mouse.click(x, y)  # the same spot again, at once
        # The session goes after the Undo time; the pointer is still there, and so is the slot.
        total = page.get_by_test_id("overview-total")
        expect(total).to_have_text("3 sessions", timeout=15_000)
        page.mouse.click(x, y)  # and again, after the session is gone
        page.wait_for_timeout(500)
        expect(page.locator(f"{CARDS}[data-session-id='{removed}']")).to_have_count(1)
        expect(total).to_have_text("3 sessions")
        page.mouse.move(5, 5)  # the pointer leaves: the slot goes, the others move up
        expect(page.locator(CARDS)).to_have_count(3)
        expect(total).to_have_text("3 sessions")

        # Undo keeps a session as if nothing happened.
        kept = page.locator(CARDS).first.get_attribute("data-session-id")
        # From the keyboard: Enter on the ×, then Enter again lands on Undo, which has the focus.
        page.locator(f"{CARDS}[data-session-id='{kept}'] button[aria-label^='Remove']").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("undo-remove")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("card-removed")).to_have_count(0)
        page.wait_for_timeout(6_000)  # past the Undo time
        expect(page.locator(f"{CARDS}[data-session-id='{kept}']")).to_have_count(1)
        expect(total).to_have_text("3 sessions")
    finally:
        stop_console(console)


# The reply's tail on the card furthest down, and whether that card is out of the grid's view.
LAST_CARD = """() => {
    const cards = [...document.querySelectorAll('[data-testid=session-card]')];
    const card = cards[cards.length - 1], box = card.closest('.ac-ov-scroll').getBoundingClientRect();
    return [card.querySelector('[data-testid=card-tail]').textContent,
            card.getBoundingClientRect().top > box.bottom + 100];
}"""
FIRST_TAIL = """() => document.querySelector('[data-testid=card-tail]').textContent"""


def test_a_card_out_of_view_draws_what_streamed_when_it_is_scrolled_into_view(
    tmp_path: Path, page: Page
) -> None:
    console = start_console(tmp_path, "--streams", "12", "--sim-time-scale", "0.5")
    try:
        page.set_viewport_size({"width": 900, "height": 480})  # three cards a row, two rows in view
        page.goto(console.url)
        expect(page.locator(CARDS)).to_have_count(12)
        page.wait_for_function(f"() => ({LIVE_TAIL})() >= 3", timeout=20_000)
        held, out_of_view = page.evaluate(LAST_CARD)
        assert out_of_view
        # The sessions in view go on streaming; the card out of view is not drawn again meanwhile.
        shown = page.evaluate(FIRST_TAIL)
        page.wait_for_function(f"shown => ({FIRST_TAIL})() !== shown", arg=shown, timeout=20_000)
        page.wait_for_timeout(1_000)
        assert page.evaluate(LAST_CARD)[0] == held
        # Scrolled into view, it shows where its session is now.
        page.locator(CARDS).last.scroll_into_view_if_needed()
        page.wait_for_function(f"held => ({LAST_CARD})()[0] !== held", arg=held, timeout=20_000)
    finally:
        stop_console(console)
