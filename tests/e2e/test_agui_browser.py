"""An AG-UI session in a real Chromium: it streams, its cards fill in, approvals answer, and the
inspector scrubs the shared state's history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Console, start_console, stop_console

NODE = "[data-testid=context-tree] [data-testid=tree-node]"
REPLY = "[data-testid=message][data-role=assistant]"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(tmp_path_factory.mktemp("agui"), "--sim-time-scale", "0.4")
    yield started
    stop_console(started)


def ask(page: Page, prompt: str, replies: int) -> None:
    page.fill("[data-testid=chat-input]", prompt)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{REPLY} >> nth={replies - 1}", timeout=20_000)


def test_an_agui_session_streams_fills_its_cards_and_scrubs_its_state(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/session/agui")
    ask(page, "buy milk", 1)
    card = page.locator("[data-testid=tool-card]").first
    card.wait_for()
    page.wait_for_selector(f"{REPLY}[data-status=done]", timeout=20_000)
    assert card.get_attribute("data-status") == "done"
    # The arguments streamed in, then were parsed: one JSON row, the stream gone; the result below.
    assert page.locator("[data-testid=tool-args-stream]").count() == 0
    assert '"title":"buy milk"' in card.inner_text()
    assert '"ok":true' in card.inner_text()
    reply = page.locator(REPLY).first
    assert "Added “buy milk” to your list" in reply.inner_text()
    assert page.locator("[data-testid=reasoning]").count() == 1  # collapsed reasoning
    assert page.locator("[data-testid=reasoning] .q-expansion-item__content:visible").count() == 0

    ask(page, "call mom", 2)
    page.wait_for_selector(f"{REPLY} >> nth=1 >> [data-status=done]", state="attached", timeout=20_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=message][data-role=assistant]')]"
        ".every(m => m.dataset.status === 'done')"
    )

    page.click("[data-testid=context-tab]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 3 of 3')")
    page.wait_for_selector(f'{NODE}[data-path="$.runs"][data-change="changed"]')
    page.click("[data-testid=history-prev]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 2 of 3')")
    page.wait_for_selector(f'{NODE}[data-path="$.runs"][data-change="changed"]')
    assert "1" in page.inner_text(f'{NODE}[data-path="$.runs"]')
    page.click("[data-testid=history-prev]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 1 of 3')")

    # A run that needs approval asks on its card; the answer resumes the same reply.
    ask(page, "delete everything", 3)
    page.click("[data-testid=approve-button]", timeout=20_000)
    page.wait_for_function(
        "() => { const m = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].at(-1);"
        " return m.dataset.status === 'done' && m.innerText.includes('Deleted them all.'); }",
        timeout=20_000,
    )
    assert page.locator("[data-testid=tool-approval]").count() == 0
