"""History that left memory, read back from the store in a real Chromium, after the console restarted.

A console journals a session against an agent simulator of its own (not an embedded one: those are
not reopened), with a small memory window (`--window`), is stopped, and started again on the same
store. The restored session holds only its newest messages, trace rows and context versions in
memory; the user reaches the rest: earlier messages in the chat, older rows in the timeline, older
context versions on the scrubber.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page

from console.jsonvalue import JsonObject
from tests.e2e.conftest import Console, start_console, stop_console
from tests.store.processes import start_agent_sim, wait_for

PROMPTS = ("hello there", "what is in the report?", "thanks a lot", "and the quarter after?", "ok, bye")
WINDOW = ("--window", "messages=4", "--window", "trace_rows=40", "--window", "context_versions=2")


def _get(console: Console, path: str) -> JsonObject:
    value = httpx.get(f"{console.url}{path}", timeout=5).json()
    assert isinstance(value, dict)
    return value


def _only_session(console: Console) -> str | None:
    sessions = httpx.get(f"{console.url}/api/sessions", timeout=5).json()
    if isinstance(sessions, list) and len(sessions) == 1 and isinstance(sessions[0], dict):
        found = sessions[0].get("id")
        return found if isinstance(found, str) else None
    return None


def _done_replies(console: Console, session_id: str) -> int:
    """Replies that finished, counted through the whole history (memory keeps only the newest)."""
    page = _get(console, f"/api/sessions/{session_id}/history?kind=messages&limit=100")
    found = page["messages"]
    assert isinstance(found, list)
    return sum(1 for m in found if isinstance(m, dict) and m["role"] == "assistant" and m["status"] == "done")


def _replied(console: Console, session_id: str, count: int) -> Callable[[], bool | None]:
    return lambda: True if _done_replies(console, session_id) >= count else None


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, str]]:
    """A console restarted on the store of a five-prompt session, and the session's id."""
    tmp = tmp_path_factory.mktemp("readback")
    sim = start_agent_sim(tmp, "--time-scale", "0.05")
    upstream = f"agent=ws://127.0.0.1:{sim.url.rsplit(':', 1)[1]}/ws"
    args = ("--upstream", upstream, "--store", str(tmp / "journal.sqlite3"), *WINDOW)
    first = start_console(tmp, *args)
    try:
        session_id = wait_for("the session", lambda: _only_session(first))
        for n, prompt in enumerate(PROMPTS, start=1):
            url = f"{first.url}/api/sessions/{session_id}/messages"
            httpx.post(url, json={"text": prompt}, timeout=5).raise_for_status()
            wait_for(f"reply {n}", _replied(first, session_id, n), 60)
    finally:
        stop_console(first)
    again = start_console(tmp, *args)
    try:
        yield again, session_id
    finally:
        stop_console(again)
        sim.stop()


def test_after_a_restart_the_user_reads_earlier_messages_back_from_the_store(
    page: Page, restarted: tuple[Console, str]
) -> None:
    console, session_id = restarted
    page.goto(f"{console.url}/session/{session_id}")
    shown = "[data-testid=chat] [data-testid=message]"
    page.wait_for_selector(f"{shown}[data-role=user]:has-text('ok, bye')")
    assert page.locator(f"{shown}:has-text('hello there')").count() == 0  # it left memory
    earlier = page.locator("[data-testid=chat-earlier]")
    assert "Show earlier messages" in earlier.inner_text()
    # The user scrolls up to the button; the oldest message in memory is just under it.
    page.locator("[data-testid=chat-scroll]").evaluate("el => { el.scrollTop = 0; }")
    oldest = page.locator(f"{shown}[data-message-id]").first
    held = oldest.get_attribute("data-message-id")
    before = oldest.bounding_box()
    earlier.click()
    page.wait_for_selector(f"{shown}[data-role=user]:has-text('hello there')")
    assert page.locator(shown).count() == 2 * len(PROMPTS)  # each prompt with its reply, in order
    users = page.locator(f"{shown}[data-role=user]").all_inner_texts()
    assert [next(p for p in PROMPTS if p in text) for text in users] == list(PROMPTS)
    assert page.locator(f"{shown}[data-role=assistant][data-status=done]").count() == len(PROMPTS)
    assert "Show earlier messages" not in (earlier.inner_text() if earlier.is_visible() else "")
    # What the user was looking at stayed where it was on screen, the earlier messages above it.
    after = page.locator(f"{shown}[data-message-id='{held}']").bounding_box()
    assert before is not None and after is not None and abs(after["y"] - before["y"]) < 40


def test_after_a_restart_the_timeline_loads_older_rows_from_the_store(
    page: Page, restarted: tuple[Console, str]
) -> None:
    console, session_id = restarted
    page.set_viewport_size({"width": 1280, "height": 480})  # more rows than the timeline shows at once
    page.goto(f"{console.url}/session/{session_id}")
    page.click("[data-testid=timeline-tab]")
    rows = "[data-testid=timeline-row]"
    page.wait_for_selector(rows)
    load = page.locator("[data-testid=timeline-load-older]")
    load.wait_for()

    def oldest() -> int:
        ids: list[int] = page.eval_on_selector_all(rows, "els => els.map(e => Number(e.dataset.rowId))")
        return min(ids)

    start = oldest()
    scroll = page.locator("[data-testid=timeline-scroll]")
    said = "[data-testid=timeline-older-text]"
    # Scrolled to the top, the timeline reads the page before its first row by itself.
    page.click("[data-testid=timeline-heartbeats]")  # every row shown: more than fit
    page.wait_for_function("el => el.scrollHeight > el.clientHeight + 26", arg=scroll.element_handle())
    scroll.hover()
    page.mouse.wheel(0, -5000)
    page.wait_for_selector(f"{said}:has-text('older rows read back')")
    for _ in range(20):  # a page at a time, until the first row of the session
        if not load.is_visible():
            break
        was = page.inner_text(said)
        load.click()
        page.wait_for_function(
            "([sel, was]) => document.querySelector(sel).innerText !== was", arg=[said, was]
        )
    scroll.evaluate("el => { el.scrollTop = 0; }")  # the rows read back are above those shown
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].some(e => e.dataset.rowId === '0')", arg=rows
    )
    assert oldest() == 0 < start
    assert "older rows read back" in page.inner_text("[data-testid=timeline-older]")
    # The session's first prompt, from before the restart, is among them.
    page.wait_for_selector(f"{rows}[data-kind=USER_MESSAGE]")


def test_after_a_restart_the_scrubber_reaches_context_versions_that_left_memory(
    page: Page, restarted: tuple[Console, str]
) -> None:
    console, session_id = restarted
    page.goto(f"{console.url}/session/{session_id}")
    page.click("[data-testid=context-tab]")
    note = page.locator("[data-testid=history-older]")
    note.wait_for()
    assert "older versions left memory" in note.inner_text()
    page.locator("[data-testid=history-prev]").click()
    step = page.locator("[data-testid=history-step]")
    for _ in range(10):
        if "read back from the store" in step.inner_text():
            break
        page.locator("[data-testid=history-prev]").click()
        page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid=history-step]:has-text('read back from the store')")
    page.wait_for_selector("[data-testid=context-tree] [data-testid=tree-node]")


def test_after_a_restart_the_api_pages_through_history_that_left_memory(
    restarted: tuple[Console, str],
) -> None:
    console, session_id = restarted
    page = _get(console, f"/api/sessions/{session_id}/history?kind=trace&before=10&limit=5")
    rows = page["rows"]
    assert isinstance(rows, list) and [row[0] for row in rows if isinstance(row, list)] == [5, 6, 7, 8, 9]
    assert page["more"] is True
    first = _get(console, f"/api/sessions/{session_id}/history?kind=messages&before=2&limit=2")
    found = first["messages"]
    assert isinstance(found, list) and len(found) == 2 and first["first"] == 0 and first["more"] is False
    assert "hello there" in str(found[0])
    wrong = httpx.get(f"{console.url}/api/sessions/{session_id}/history?kind=frames", timeout=5)
    assert wrong.status_code == 422 and "trace or messages" in wrong.text
