"""The context inspector in a real Chromium, on the simulator's half-megabyte schema snapshots."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Console, start_console, stop_console

NODE = "[data-testid=context-tree] [data-testid=tree-node]"


@pytest.fixture(scope="module")
def schema_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(tmp_path_factory.mktemp("inspector"), "--seed", "3", "--sim-time-scale", "0.3")
    yield console
    stop_console(console)


ASKED: set[str] = set()  # consoles that were asked for the schema


def open_schema(page: Page, console: Console) -> None:
    """The session page with the schema snapshot pair received (asked for once per console)."""
    page.goto(f"{console.url}/session/agent")
    if console.url not in ASKED:
        ASKED.add(console.url)
        page.fill("[data-testid=chat-input]", "show the database schema")
        page.keyboard.press("Enter")
    # The panel is opened only now: what arrived while it was hidden must be there.
    page.wait_for_selector("[data-testid=message][data-role=assistant][data-status=done]", timeout=60_000)
    page.click("[data-testid=context-tab]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 2 of 2')")
    page.wait_for_selector(f"{NODE}[data-change]")


def in_view(page: Page, selector: str) -> bool:
    visible: bool = page.evaluate(
        """(sel) => { const el = document.querySelector(sel)?.querySelector('.ac-line');
        const box = document.querySelector('[data-testid=context-tree]').getBoundingClientRect();
        if (!el) return false; const r = el.getBoundingClientRect();
        return r.height > 0 && r.top >= box.top && r.bottom <= box.bottom; }""",
        selector,
    )
    return visible


def test_the_changes_of_a_large_snapshot_are_highlighted_and_jumpable(
    page: Page, schema_console: Console
) -> None:
    open_schema(page, schema_console)
    assert page.inner_text("[data-testid=diff-counts]").startswith("+")
    # Lazy: a ~570 KB document with thousands of nodes, of which only the way to the changes is drawn.
    assert page.locator(NODE).count() < 400
    assert page.get_attribute(f'{NODE}[data-path="$.total_tables"]', "data-change") == "changed"
    assert "64" in page.inner_text(f'{NODE}[data-path="$.total_tables"] .ac-old')

    items = page.locator("[data-testid=changed-path]")
    paths = [items.nth(i).get_attribute("data-path") for i in range(items.count())]
    changes = [items.nth(i).get_attribute("data-change") for i in range(items.count())]
    assert len(paths) > 5 and "$.backup" in paths
    # Deep changes first, the last one in the document last: every jump scrolls its row into view.
    for index in [*range(len(paths) - 1, len(paths) - 4, -1), 0]:
        items.nth(index).click()
        target = f'{NODE}[data-path="{paths[index]}"][data-change="{changes[index]}"]'
        page.wait_for_selector(f"{target}[data-focus]")
        page.wait_for_function(
            "(sel) => { const el = document.querySelector(sel + ' > .ac-line');"
            " const box = document.querySelector('[data-testid=context-tree]').getBoundingClientRect();"
            " const r = el.getBoundingClientRect(); return r.top >= box.top && r.bottom <= box.bottom; }",
            arg=target,
        )
    # A removed member is drawn struck through at its old place.
    removed = page.locator(f'{NODE}[data-path="$.backup"][data-change="removed"] > .ac-line .ac-key')
    assert removed.evaluate("el => getComputedStyle(el).textDecorationLine") == "line-through"


def test_the_scrubber_shows_each_step_and_nodes_open_lazily(page: Page, schema_console: Console) -> None:
    open_schema(page, schema_console)
    page.click("[data-testid=history-prev]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 1 of 2')")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=tree-node][data-change]').length === 0"
        " && document.querySelectorAll('[data-testid=tree-node]').length > 0"
    )
    assert "First snapshot" in page.inner_text("[data-testid=diff-counts]")

    tables = page.locator(f'{NODE}[data-path="$.tables"]')
    if tables.get_attribute("aria-expanded") != "true":
        tables.locator("> .ac-line").click()
    first_table = page.locator(f'{NODE}[data-path="$.tables[0]"]')
    first_table.wait_for()
    before = page.locator(NODE).count()
    first_table.locator("> .ac-line").click()  # one level more, asked of the server
    page.wait_for_selector(f'{NODE}[data-path="$.tables[0].columns"]')
    assert page.locator(NODE).count() - before == 17  # that table's members, nothing below them

    page.click("[data-testid=history-next]")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 2 of 2')")
    page.wait_for_selector(f"{NODE}[data-change]")
    # What the user opened stays open across the step.
    page.wait_for_selector(f'{NODE}[data-path="$.tables[0].columns"]')

    # The slider scrubs too: drag its thumb to the start.
    slider = page.locator("[data-testid=history-slider]")
    box = slider.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 1 of 2')")
    page.wait_for_selector(f"{NODE}[data-change]", state="detached")


def test_search_jumps_to_a_hit_and_a_path_can_be_copied(page: Page, schema_console: Console) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=schema_console.url)
    open_schema(page, schema_console)
    page.locator("[data-testid=context-search]").press_sequentially("legacy_logs", delay=30)  # no Enter
    hit = page.locator("[data-testid=search-hit]").first
    hit.wait_for()
    path = hit.get_attribute("data-path")
    assert path is not None and path.startswith("$.tables[")
    hit.click()
    target = page.locator(f'{NODE}[data-path="{path}"][data-focus]')
    target.wait_for()
    assert "legacy_logs" in target.locator("> .ac-line .ac-v").inner_text()

    line = target.locator("> .ac-line")
    line.hover()
    line.locator("[data-act=copy-path]").click()
    deadline = time.monotonic() + 5
    while page.evaluate("navigator.clipboard.readText()") != path and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.evaluate("navigator.clipboard.readText()") == path
    line.locator("[data-act=copy-value]").click()
    deadline = time.monotonic() + 5
    while page.evaluate("navigator.clipboard.readText()") != "legacy_logs" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.evaluate("navigator.clipboard.readText()") == "legacy_logs"


def test_show_in_context_on_a_snapshot_row_opens_that_snapshot(page: Page, schema_console: Console) -> None:
    open_schema(page, schema_console)  # the inspector follows the newest: snapshot 2 of 2
    page.click("[data-testid=timeline-tab]")
    snapshots = "[data-testid=timeline-row][data-kind=CONTEXT_SNAPSHOT]"
    page.wait_for_function(f"() => document.querySelectorAll('{snapshots}').length === 2")
    first = page.locator(snapshots).first
    first.click()
    first.locator("[data-testid=timeline-open-context]").click()
    page.wait_for_selector("[data-testid=context-panel]", state="visible")
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 1 of 2')")
    # And the newer row opens the newer one.
    page.click("[data-testid=timeline-tab]")
    last = page.locator(snapshots).last
    last.click()
    last.locator("[data-testid=timeline-open-context]").click()
    page.wait_for_selector("[data-testid=history-step]:has-text('Snapshot 2 of 2')")
