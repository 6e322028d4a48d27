"""The trace timeline in a real Chromium, against the console's own simulator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Console, start_console, stop_console

ROWS = """() => [...document.querySelectorAll('[data-testid=timeline-row]')]
    .sort((a, b) => +a.dataset.rowId - +b.dataset.rowId)
    .map(r => ({kind: r.dataset.kind, id: +r.dataset.rowId, call: r.dataset.callId || null,
                stream: r.dataset.streamId || null,
                label: r.querySelector('[data-testid=timeline-row-label]').textContent}))"""
REPLY = "[data-testid=message][data-role=assistant]"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(tmp_path_factory.mktemp("timeline"), "--seed", "7", "--sim-time-scale", "0.3")
    yield console
    stop_console(console)


def rows(page: Page) -> list[dict[str, str | int | None]]:
    found: list[dict[str, str | int | None]] = page.evaluate(ROWS)
    return found


def open_session(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/session/agent")
    page.wait_for_selector("[data-testid=timeline] [data-testid=timeline-row]")


def send(page: Page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.keyboard.press("Enter")


def wait_done(page: Page, replies: int) -> None:
    page.wait_for_function(
        f"""() => {{ const m = document.querySelectorAll('{REPLY}');
            return m.length >= {replies} && [...m].every(e => e.dataset.status === 'done'); }}""",
        timeout=60_000,
    )


def tokens_of(label: str) -> int:
    found = re.match(r"Streamed (\d+) tokens?", label)
    assert found, label
    return int(found.group(1))


def test_rows_appear_while_the_reply_streams_and_the_token_row_keeps_counting(
    page: Page, console: Console
) -> None:
    open_session(page, console)
    send(page, "analyze and compare the regions")
    page.wait_for_selector("[data-testid=timeline-row][data-kind=USER_MESSAGE]")
    page.wait_for_selector("[data-testid=timeline-row][data-kind=TOKEN]")
    # Rows are coloured by the category of their kind (console/trace_kinds.py), not by a list of kinds.
    token_row = page.locator("[data-testid=timeline-row][data-kind=TOKEN]").first
    assert token_row.get_attribute("data-category") == "text"
    badge = token_row.locator(".ac-tl-kind")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(219, 234, 254)"
    seen: list[tuple[int, int, str]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row_id, label, status = page.evaluate(
            f"""() => {{
            const t = [...document.querySelectorAll('[data-testid=timeline-row][data-kind=TOKEN]')]
                .sort((a, b) => +a.dataset.rowId - +b.dataset.rowId).pop();
            return [+t.dataset.rowId, t.querySelector('[data-testid=timeline-row-label]').textContent,
                    document.querySelector('{REPLY}:last-of-type').dataset.status]; }}"""
        )
        seen.append((row_id, tokens_of(label), status))
        if status == "done":
            break
        time.sleep(0.1)
    streaming = [(row_id, count) for row_id, count, status in seen if status == "streaming"]
    # The count grew in several steps while the reply was still streaming, not once at the end.
    assert len(set(streaming)) >= 3, seen
    assert streaming == sorted(streaming)


def test_a_token_row_expands_to_exactly_its_text_run_and_a_tool_call_row_flashes_its_card(
    page: Page, console: Console
) -> None:
    open_session(page, console)
    before = len(page.locator(REPLY).all())
    send(page, "summarize the q3 report")
    wait_done(page, before + 1)
    reply = page.locator(REPLY).last
    runs = reply.locator("[data-testid=message-text]").all_text_contents()
    stream = reply.get_attribute("data-stream-id")
    assert len(runs) == 2  # text, tool card, text
    ids = [r["id"] for r in rows(page) if r["kind"] == "TOKEN" and r["stream"] == stream]
    assert len(ids) == 2
    expanded: list[str] = []
    for n, row_id in enumerate(ids):
        line = page.locator(f"[data-testid=timeline-row][data-row-id='{row_id}'] .ac-tl-line")
        line.click()
        # The row's whole text comes from the server when it opens (only its preview was sent).
        whole = page.locator("[data-testid=timeline-detail-text][data-complete=true]")
        expanded.append(whole.text_content() or "")
        # The row's text run flashes in the chat.
        run = reply.locator("[data-testid=message-text]").nth(n)
        assert "ac-flash" in (run.get_attribute("class") or "")
        line.click()  # collapse
    assert expanded == runs

    call = page.locator("[data-testid=timeline-row][data-kind=TOOL_CALL]").last
    call_id = call.get_attribute("data-call-id")
    call.click()
    card = page.locator(f"[data-testid=tool-card][data-call-id='{call_id}']")
    assert "ac-flash" in (card.get_attribute("class") or "")
    # The call, its ACK and its result are linked: same call id, the result says how long it took.
    linked = [r for r in rows(page) if r["call"] == call_id]
    assert [r["kind"] for r in linked] == ["TOOL_CALL", "TOOL_ACK", "TOOL_RESULT"]
    detail = page.locator("[data-testid=timeline-detail]")
    assert "result in" in (detail.text_content() or "")
    page.locator("[data-testid=timeline-raw-button]").click()
    raw = page.locator("[data-testid=timeline-raw]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=timeline-raw]')?.textContent.startsWith('{')"
    )
    frame = json.loads(raw.text_content() or "")
    assert frame["type"] == "TOOL_CALL" and frame["call_id"] == call_id


def test_clicking_a_tool_card_scrolls_the_timeline_to_its_call(page: Page, console: Console) -> None:
    page.set_viewport_size({"width": 1280, "height": 620})
    open_session(page, console)
    before = len(page.locator(REPLY).all())
    send(page, "summarize the q3 report")
    wait_done(page, before + 1)
    send(page, "show the database schema")
    wait_done(page, before + 2)
    card = page.locator(REPLY).nth(before).locator("[data-testid=tool-card]").first
    call_id = card.get_attribute("data-call-id")
    scroller = page.locator("[data-testid=timeline-scroll]")
    scroller.evaluate("el => el.scrollTop = el.scrollHeight")
    # Narrow the list so the row is not even rendered: the card brings it back.
    page.fill("[data-testid=timeline-search]", "no such event anywhere")
    page.wait_for_function("() => !document.querySelector('[data-testid=timeline-row]')")
    card.locator(".ac-tool-head").click()
    row = page.locator(f"[data-testid=timeline-row][data-kind=TOOL_CALL][data-call-id='{call_id}']")
    row.wait_for()
    page.wait_for_function(
        f"""() => {{ const r = document.querySelector(
                "[data-testid=timeline-row][data-kind=TOOL_CALL][data-call-id='{call_id}']");
            const box = document.querySelector('[data-testid=timeline-scroll]').getBoundingClientRect();
            const at = r && r.getBoundingClientRect();
            return at && at.top >= box.top && at.bottom <= box.bottom && r.classList.contains('ac-tl-flash'); }}"""
    )
    assert page.locator("[data-testid=timeline-search]").input_value() == ""
    assert scroller.evaluate("el => el.scrollHeight > el.clientHeight")  # it did have to scroll


def test_the_filter_bar_narrows_rows_by_type_and_by_text(page: Page, console: Console) -> None:
    open_session(page, console)
    before = len(page.locator(REPLY).all())
    send(page, "summarize the q3 report")
    wait_done(page, before + 1)
    all_rows = rows(page)
    assert {"TOKEN", "TOOL_CALL", "TOOL_RESULT", "CONTEXT_SNAPSHOT", "USER_MESSAGE"} <= {
        str(r["kind"]) for r in all_rows
    }

    page.click("[data-testid=timeline-filter-none]")
    page.wait_for_function("() => !document.querySelector('[data-testid=timeline-row]')")
    page.click("[data-testid=timeline-filter][data-kind=TOOL_CALL]")
    page.click("[data-testid=timeline-filter][data-kind=TOOL_RESULT]")
    page.wait_for_selector("[data-testid=timeline-row][data-kind=TOOL_RESULT]")
    shown = rows(page)
    assert {r["kind"] for r in shown} == {"TOOL_CALL", "TOOL_RESULT"}
    chip = page.locator("[data-testid=timeline-filter][data-kind=TOOL_CALL] b").text_content()
    assert sum(1 for r in shown if r["kind"] == "TOOL_CALL") == int(chip or "0")
    assert page.locator("[data-testid=timeline-filter][data-kind=TOKEN]").get_attribute("aria-pressed") == (
        "false"
    )

    page.click("[data-testid=timeline-filter-all]")
    call_id = page.locator(REPLY).last.locator("[data-testid=tool-card]").first.get_attribute("data-call-id")
    page.fill("[data-testid=timeline-search]", str(call_id))
    page.wait_for_function("() => document.querySelectorAll('[data-testid=timeline-row]').length === 3")
    assert [(r["kind"], r["call"]) for r in rows(page)] == [
        ("TOOL_CALL", call_id),
        ("TOOL_ACK", call_id),
        ("TOOL_RESULT", call_id),
    ]

    # Free text reaches into the streamed text of token rows, not only into what a row shows.
    runs = page.locator(REPLY).last.locator("[data-testid=message-text]").all_text_contents()
    reply_text = " ".join(runs)
    words = re.findall(r"[A-Za-z]{8,}", reply_text[len(reply_text) // 2 :]) or re.findall(
        r"[A-Za-z]{8,}", reply_text
    )
    word = max(words, key=len)
    page.fill("[data-testid=timeline-search]", word.upper())
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=timeline-row]')].every(r => r.dataset.kind === 'TOKEN')"
        " && document.querySelectorAll('[data-testid=timeline-row]').length > 0"
    )
    page.fill("[data-testid=timeline-search]", "")
    page.wait_for_function(
        "() => new Set([...document.querySelectorAll('[data-testid=timeline-row]')].map(r => r.dataset.kind)).size > 3"
    )


def test_the_trace_downloads_as_json_lines(page: Page, console: Console, tmp_path: Path) -> None:
    open_session(page, console)
    with page.expect_download() as download:
        page.click("[data-testid=timeline-export]")
    path = tmp_path / "trace.jsonl"
    download.value.save_as(path)
    header, *entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert header["format"] == "agent-console-trace"
    assert entries[0]["kind"] == "CONNECTED"
    assert any(e["dir"] == "in" and e["kind"] == "TOKEN" and "raw" in e for e in entries)


KEPT_ROWS = """() => getElement(+document.querySelector('.ac-tl').id.slice(1)).rows
    .map(r => [r.i, r.k])"""


def test_an_opened_trace_reaches_the_timeline_whole_in_order(
    page: Page, browser: Browser, console: Console, tmp_path: Path
) -> None:
    # 1,500 PINGs: with the PONGs the engine answers them with, 3,000 rows, sent newest first and the
    # older ones after them in several messages.
    lines = [json.dumps({"format": "agent-console-trace", "version": 1, "started_at": 1767225600.0})]
    for n in range(1500):
        frame = json.dumps({"type": "PING", "seq": n + 1, "challenge": f"c{n}"})
        lines.append(json.dumps({"t": n * 10.0, "dir": "in", "kind": "PING", "seq": n + 1, "raw": frame}))
    trace = tmp_path / "pings.jsonl"
    trace.write_text("\n".join(lines) + "\n")
    open_session(page, console)
    home = page.url
    page.evaluate("window.loadedOnce = true")
    page.set_input_files("[data-testid=timeline-upload] input[type=file]", str(trace))
    # The trace takes the live session's place in the same page, at an address of its own.
    page.wait_for_url(re.compile(r"/session/trace-pings-jsonl$"), timeout=60_000)
    assert page.evaluate("window.loadedOnce === true")
    # A replay, not a closed session: no input, and it says what it is.
    page.wait_for_selector("[data-testid=replay-bar]")
    assert page.get_by_test_id("connection-status").text_content() == "Replay"
    assert page.locator("[data-testid=chat-input]").count() == 0
    # Another browser neither sees it on the overview nor at its address.
    other = browser.new_context()
    try:
        stranger = other.new_page()
        stranger.goto(f"{console.url}/overview")
        stranger.wait_for_selector("[data-testid=session-card]")
        assert stranger.locator("[data-session-id^=trace-]").count() == 0
        stranger.goto(page.url)
        stranger.wait_for_selector("[data-testid=not-found]")
    finally:
        other.close()
    page.wait_for_function(
        f"() => ({KEPT_ROWS})().filter(([, kind]) => kind === 'PING').length === 1500", timeout=30_000
    )
    kept: list[list[int | str]] = page.evaluate(KEPT_ROWS)
    ids = [row[0] for row in kept]
    assert ids == sorted(set(ids))  # each row once, in order
    assert sum(1 for _, kind in kept if kind == "PONG") == 1500
    # Heartbeats are hidden until asked for: one click shows them.
    assert page.locator("[data-testid=timeline-row][data-kind=PING]").count() == 0
    page.click("[data-testid=timeline-heartbeats]")
    page.fill("[data-testid=timeline-search]", "'c7'")  # the oldest rows are searchable too
    page.wait_for_function("() => document.querySelectorAll('[data-testid=timeline-row]').length === 2")

    # Back goes to the live session again.
    with page.expect_event("load"):  # the page of the address Back goes to is loaded again
        page.go_back()
    page.wait_for_url(home)
    page.wait_for_function(
        f"() => {{ const kept = ({KEPT_ROWS})(); return kept.length > 0"
        " && kept.filter(([, kind]) => kind === 'PING').length < 1500; }"
    )


SCROLL_STATE = """() => { const box = document.querySelector('[data-testid=timeline-scroll]');
    const pill = document.querySelector('[data-testid=timeline-follow]');
    const rows = [...document.querySelectorAll('[data-testid=timeline-row]')];
    const last = rows.sort((a, b) => +a.dataset.rowId - +b.dataset.rowId).pop();
    const b = box.getBoundingClientRect(), p = pill.getBoundingClientRect();
    const l = last ? last.getBoundingClientRect() : null;
    return {gap: box.scrollHeight - box.scrollTop - box.clientHeight, overflow: box.scrollHeight > box.clientHeight,
            pill: pill.offsetParent !== null, pillTop: p.top, boxBottom: b.bottom,
            lastShown: !!l && l.top >= b.top - 1 && l.bottom <= b.bottom + 1}; }"""


def test_the_timeline_follows_live_events_and_offers_new_ones_only_when_scrolled_up(
    browser: Browser, console: Console
) -> None:
    # A short panel: the list overflows within the first reply, and new kinds keep appearing.
    context = browser.new_context(viewport={"width": 1100, "height": 560})
    page = context.new_page()
    try:
        open_session(page, console)
        send(page, "analyze and compare the regions")
        samples = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            samples.append(page.evaluate(SCROLL_STATE))
            done = page.evaluate(f"() => document.querySelector('{REPLY}:last-of-type')?.dataset.status")
            if done == "done" and samples[-1]["overflow"]:
                break
            time.sleep(0.15)
        page.wait_for_timeout(400)
        settled = page.evaluate(SCROLL_STATE)
        assert settled["overflow"], "the reply made more rows than the panel shows"
        # Followed all along: at the bottom after each tick, the newest row in view, no pill.
        assert settled["gap"] <= 2 and settled["lastShown"] and not settled["pill"], settled
        assert not any(s["pill"] for s in samples), [s for s in samples if s["pill"]][:3]

        # Scrolled up, new rows wait behind the pill, which sits below the list, not over it.
        page.hover("[data-testid=timeline-scroll]")
        page.mouse.wheel(0, -300)
        page.wait_for_function("() => document.querySelector('[data-testid=timeline-scroll]').scrollTop > 0")
        send(page, "what can you do")
        page.wait_for_selector("[data-testid=timeline-follow]", state="visible")
        state = page.evaluate(SCROLL_STATE)
        assert state["gap"] > 2 and state["pillTop"] >= state["boxBottom"] - 1, state
        page.click("[data-testid=timeline-follow]")
        page.wait_for_selector("[data-testid=timeline-follow]", state="hidden")
        wait_done(page, 2)
        page.wait_for_timeout(400)
        state = page.evaluate(SCROLL_STATE)
        assert state["gap"] <= 2 and state["lastShown"] and not state["pill"], state
    finally:
        context.close()
