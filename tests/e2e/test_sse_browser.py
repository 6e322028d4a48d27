"""SSE conversations with rich components, in a real Chromium: progressive, downloadable, inert."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import ROOT, Console, start_console, stop_console
from tests.helpers import free_port

HOSTILE_SERVER = """
import asyncio, sys
from console.sim import sse
from console.sim.sse_corpus import SampleComponent, SampleMessage
script = "<script>window.__pwned = 1</script>"
conversation = (
    SampleMessage("m0", "user", script + " can you book it?"),
    SampleMessage("m1", "assistant", "<img src=x onerror='window.__pwned = 1'> done", components=(
        SampleComponent("contact_badge", {
            "name": "<b>Eve</b>" + script, "email": "javascript:window.__pwned=1",
            "company": "A" * 5000, "profilePicture": "javascript:window.__pwned = 1"}),
        SampleComponent("calendar_event", {
            "title": script + "Sync", "date": "2025-10-22", "time": "14:00", "status": "confirmed"}),
    )),
)
async def main() -> None:
    simulator = sse.SSESimulator(sse.SimConfig(speed=4.0), port=int(sys.argv[1]))
    simulator.state.events = sse.conversation_events(conversation, 4)
    await simulator.serve_forever()
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    # Slowed down, so that a component can be seen while it builds.
    running = start_console(tmp_path_factory.mktemp("sse"), "--sim-time-scale", "3")
    yield running
    stop_console(running)


def test_components_build_up_field_by_field_and_the_event_downloads(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/session/sse")
    # The stream began with the console; replay it so that it builds up in front of us.
    page.click("[data-testid=replay-button]")
    event = page.locator("[data-testid=component][data-type=calendar_event]")
    event.wait_for(timeout=60_000)
    # A field shows while the component has not ended yet.
    page.wait_for_function(
        """() => { const c = document.querySelector('[data-testid=component][data-type=calendar_event]');
            return c && c.dataset.complete !== 'true'
                && c.querySelector('[data-field][data-state=shown]') !== null; }""",
        timeout=30_000,
    )
    page.wait_for_function(
        "() => document.querySelector('[data-testid=component][data-type=calendar_event]')"
        "?.dataset.complete === 'true'",
        timeout=60_000,
    )
    with page.expect_download() as info:
        event.get_by_text("Add to calendar (.ics)").click()
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    ics = Path(download.path()).read_text()
    assert "BEGIN:VCALENDAR" in ics and "SUMMARY:Meeting with John" in ics
    badge = page.locator("[data-testid=component][data-type=contact_badge]")
    badge.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=component][data-type=contact_badge]')"
        "?.dataset.complete === 'true'",
        timeout=60_000,
    )
    shows_face = badge.locator("img").count() > 0 and badge.locator("img").first.is_visible()
    shows_initials = badge.get_by_text("JC").count() > 0
    assert shows_face or shows_initials


def test_hostile_field_values_render_as_inert_text(page: Page, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", HOSTILE_SERVER, str(port)], cwd=ROOT)
    try:
        time.sleep(1.5)
        console = start_console(tmp_path, "--upstream", f"sse=http://127.0.0.1:{port}/conversation")
        try:
            page.goto(f"{console.url}/session/sse")
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=component]')]"
                ".filter(c => c.dataset.complete === 'true').length === 2",
                timeout=60_000,
            )
            page.wait_for_timeout(500)
            assert page.evaluate("() => window.__pwned") is None  # no script ran
            body = page.inner_text("body")
            assert "<script>window.__pwned = 1</script>" in body  # shown as text, not markup
            assert "<img src=x onerror='window.__pwned = 1'>" in body
            sources = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.getAttribute('src') || '')")
            assert not [s for s in sources if s.lower().startswith("javascript:")]
            assert page.locator("a[href^='javascript:']").count() == 0
            assert page.locator("b", has_text="Eve").count() == 0  # no markup built from the name
        finally:
            stop_console(console)
    finally:
        server.terminate()
        server.wait(10)
