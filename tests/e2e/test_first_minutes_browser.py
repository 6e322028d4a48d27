"""A new user's first minutes in a real Chromium: titles, language, dark mode, labels, a phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Console, start_console, stop_console

# Buttons with no text of their own (icon buttons) that nothing names for a screen reader. Quasar's
# icon is `aria-hidden`: its ligature name must not be what gets read.
UNNAMED_ICON_BUTTONS = """() => [...document.querySelectorAll('button, [role=button]')]
    .filter(b => b.offsetParent !== null && !b.closest('[data-testid=message], [data-testid=send-button]'))
    .filter(b => !b.getAttribute('aria-label') && !b.getAttribute('aria-labelledby'))
    .filter(b => { const own = [...b.querySelectorAll('*'), b].map(n => [...n.childNodes])
        .flat().filter(t => t.nodeType === 3 && !t.parentElement.closest('.q-icon, .material-icons'))
        .map(t => t.textContent.trim()).join(''); return own === ''; })
    .map(b => (b.dataset.testid || "") + " " + b.textContent.trim() + " " + (b.parentElement.className || ""))"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(tmp_path_factory.mktemp("first"), "--seed", "2", "--sim-time-scale", "0.3")
    yield console
    stop_console(console)


def test_pages_are_titled_by_session_declare_their_language_and_keep_dark_mode(
    page: Page, console: Console
) -> None:
    page.goto(f"{console.url}/session/agent")
    page.wait_for_selector("[data-testid=chat-input]")
    assert page.evaluate("document.documentElement.lang") == "en-US"
    assert page.title().startswith("agent · agent=ws://")
    assert page.evaluate(UNNAMED_ICON_BUTTONS) == []
    page.click("[data-testid=dark-mode]")
    page.wait_for_function("() => document.body.classList.contains('body--dark')")
    page.goto(f"{console.url}/overview")
    page.wait_for_selector("[data-testid=session-card]")
    assert page.title() == "Sessions · Agent Console"
    page.wait_for_function("() => document.body.classList.contains('body--dark')")
    assert page.evaluate(UNNAMED_ICON_BUTTONS) == []
    page.click("[data-testid=dark-mode]")
    page.goto(f"{console.url}/session/sse")
    page.wait_for_selector("[data-testid=connection-status]")
    assert not page.evaluate("document.body.classList.contains('body--dark')")


def test_a_finished_stream_has_one_name_everywhere_and_no_connection_to_drop(
    page: Page, console: Console
) -> None:
    page.goto(f"{console.url}/session/sse")
    status = page.get_by_test_id("connection-status")
    expect(status).to_have_text("Conversation complete", timeout=30_000)
    page.click("[data-testid=session-menu]")
    expect(page.get_by_text("Nothing to do: the connection is closed")).to_be_visible()
    expect(page.get_by_test_id("drop-connection")).to_be_hidden()
    page.goto(f"{console.url}/overview")
    card = page.locator("[data-testid=session-card][data-session-id=sse] [data-testid=card-state]")
    expect(card).to_have_text("Conversation complete")


def test_a_phone_screen_shows_whole_cards_one_row_of_chips_and_the_address(
    browser: Browser, console: Console
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{console.url}/overview")
        page.wait_for_selector("[data-testid=card-counters]")
        page.wait_for_timeout(500)
        fits = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=session-card]')].map(c => {
                const r = c.getBoundingClientRect(), n = c.querySelector('[data-testid=card-counters]');
                const k = n.getBoundingClientRect();
                return r.left >= 0 && r.right <= innerWidth && k.right <= r.right && k.width > 0
                    && n.scrollWidth <= n.clientWidth + 1; })"""
        )
        assert fits and all(fits), fits
        page.goto(f"{console.url}/session/agent")
        page.wait_for_selector("[data-testid=chat-input]")
        url = page.locator(".ac-session-url")
        assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1", url.element_handle())
        page.click("[data-testid=toggle-panels]")
        page.wait_for_selector("[data-testid=timeline-filter]")
        chips = page.locator(".ac-tl-chips").bounding_box()
        assert chips is not None and chips["height"] < 40  # one row, scrolled sideways
    finally:
        context.close()
