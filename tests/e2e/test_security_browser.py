"""Every page under the Content-Security-Policy in a real Chromium: it loads, works, and the browser
reports no violation (nor a blocked inline script) anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.e2e.conftest import Console, start_console, stop_console

WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
    window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""
TOKEN = "correct horse battery staple"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(tmp_path_factory.mktemp("csp"), "--seed", "3", "--sim-time-scale", "0.3")
    yield started
    stop_console(started)


class Watched:
    """A page whose CSP violations (events and console reports) are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.reports: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.reports.append(message.text)

    def violations(self) -> list[str]:
        seen: list[str] = self.page.evaluate("() => window.__csp")
        return [*seen, *self.reports]


@pytest.fixture
def watched(page: Page) -> Watched:
    return Watched(page)


def settle(page: Page) -> None:
    """NiceGUI is up (its socket connected) and the page had a moment for late scripts and styles."""
    page.wait_for_function("() => window.socket && window.socket.connected", timeout=20_000)
    page.wait_for_timeout(500)


def test_every_page_loads_and_works_with_no_csp_violation(watched: Watched, console: Console) -> None:
    page = watched.page
    response = page.goto(f"{console.url}/")
    assert response is not None and "nonce-" in response.headers["content-security-policy"]
    page.wait_for_selector("[data-testid=session-card]")
    settle(page)
    page.click("[data-testid=add-session]")
    page.wait_for_selector("[data-testid=add-url]")
    for dialect in ("agent", "sse", "chat"):
        page.goto(f"{console.url}/session/{dialect}")
        settle(page)
    # The agent session works: a prompt gets its reply, and the inspector opens on its context.
    page.goto(f"{console.url}/session/agent")
    page.fill("[data-testid=chat-input]", "show the database schema")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=message][data-role=assistant][data-status=done]", timeout=60_000)
    page.click("[data-testid=context-tab]")
    page.wait_for_selector("[data-testid=history-step]")
    page.click("[data-testid=timeline-tab]")
    page.wait_for_selector("[data-testid=timeline-row]")
    page.click("[data-testid=dark-mode]")  # script the server sends runs too
    page.wait_for_selector("body.body--dark")
    for missing in ("/session/no-such-session", "/no/such/page"):
        page.goto(f"{console.url}{missing}")
        settle(page)
    assert watched.violations() == []
    # The watch does see a violation: a script injected into the page (no nonce) is refused.
    page.evaluate(
        "() => document.body.append(Object.assign(document.createElement('script'), {textContent: 'window.ran = 1'}))"
    )
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.ran") is None


def test_a_foreign_site_cannot_frame_the_console(browser: Browser, console: Console) -> None:
    page = browser.new_page()
    try:
        response = page.goto(f"{console.url}/session/agent")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
        # A page of another origin (a data: URL is opaque) that frames the console gets nothing.
        page.set_content(f'<iframe src="{console.url}/session/agent" id="f"></iframe>')
        page.wait_for_timeout(1500)
        frame = page.frame_locator("#f")
        assert frame.locator("[data-testid=chat-input]").count() == 0
    finally:
        page.close()


@pytest.fixture(scope="module")
def locked_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(tmp_path_factory.mktemp("locked"), "--token", TOKEN)
    yield started
    stop_console(started)


def test_the_login_page_logs_in_under_the_csp(watched: Watched, locked_console: Console) -> None:
    page = watched.page
    page.goto(f"{locked_console.url}/session/agent")
    assert "/login" in page.url
    page.fill("[data-testid=login-token]", "wrong")
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("text=Wrong token or password.")
    page.fill("[data-testid=login-token]", TOKEN)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{locked_console.url}/session/agent")
    page.wait_for_selector("[data-testid=chat-input]")
    settle(page)
    assert watched.violations() == []
