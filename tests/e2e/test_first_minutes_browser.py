"""A new user's first minutes in a real Chromium: titles, language, dark mode, labels, a phone."""

from __future__ import annotations

import re
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
    expect(page.get_by_test_id("restart-session")).to_be_visible()  # what can still be done
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
        page.tap("[data-testid=toggle-panels]")
        page.wait_for_selector("[data-testid=timeline-filter]")
        page.wait_for_timeout(800)  # a tooltip would show by now, and stay over the tabs
        assert page.locator(".q-tooltip:visible").count() == 0
        chips = page.locator(".ac-tl-chips").bounding_box()
        assert chips is not None and chips["height"] < 40  # one row, scrolled sideways
    finally:
        context.close()


def test_back_after_new_chat_returns_to_the_conversation_the_user_was_in(
    page: Page, console: Console
) -> None:
    page.goto(f"{console.url}/session/chat")
    active = "[data-testid=conversation-item][data-active=true]"
    first = page.locator(active).get_attribute("data-chat-id")
    assert first
    page.wait_for_url(f"**/session/chat?chat={first}")  # the address names the conversation shown
    page.click("[data-testid=new-chat]")
    page.wait_for_function(
        f"() => document.querySelector('{active}')?.dataset.chatId !== '{first}'", timeout=10_000
    )
    page.go_back()
    page.wait_for_function(f"() => document.querySelector('{active}')?.dataset.chatId === '{first}'")


def test_a_card_in_the_chat_reveals_its_rows_and_rows_say_where_they_are(
    page: Page, console: Console
) -> None:
    page.goto(f"{console.url}/session/sse")
    expect(page.get_by_test_id("connection-status")).to_have_text("Conversation complete", timeout=30_000)
    card = page.locator("[data-testid=component][data-type=calendar_event]")
    card.click()
    start = page.locator("[data-testid=timeline-row][data-kind=COMPONENT_START]").first
    expect(start).to_have_class(re.compile(r"ac-tl-flash"))
    # Its fields are named on the timeline, and its text arrived as one row per run.
    labels = page.locator(
        "[data-testid=timeline-row][data-kind=COMPONENT_FIELD] [data-testid=timeline-row-label]"
    )
    expect(labels.first).to_contain_text("title: ")
    page.click("[data-testid=timeline-filter-none]")
    page.click("[data-testid=timeline-filter][data-kind=TEXT_CHUNK]")
    assert page.locator("[data-testid=timeline-row][data-kind=TEXT_CHUNK]").count() <= 8
    # A row with nothing in the chat says so instead of promising it.
    page.click("[data-testid=timeline-filter-all]")
    page.locator("[data-testid=timeline-row][data-kind=CONNECTED]").first.click()
    expect(page.get_by_test_id("timeline-detail")).to_contain_text("nothing there")


def test_tool_names_are_whole_on_the_timeline(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/session/agent")
    page.fill("[data-testid=chat-input]", "analyze and compare the regions")
    page.keyboard.press("Enter")
    calls = "[data-testid=timeline-row][data-kind=TOOL_CALL] [data-testid=timeline-row-label]"
    page.wait_for_function(f"() => document.querySelectorAll('{calls}').length >= 3", timeout=60_000)
    cut = page.evaluate(
        f"() => [...document.querySelectorAll('{calls}')].filter(l => l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)"
    )
    assert cut == []
