"""Regenerate the README screenshots: real Chromium on the console's own simulators.

    python scripts/screenshots.py [--out docs/screenshots]

(a) a streamed reply with a tool call, (b) the trace timeline, (c) the context inspector showing a
diff, (d) the operations view of many sessions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_console, stop_console  # noqa: E402

REPLY_DONE = """(n) => [...document.querySelectorAll('[data-testid=message][data-role=assistant]')]
    .filter(m => m.dataset.status === 'done').length >= n"""


def ask(page: Page, prompt: str, replies: int) -> None:
    page.fill("[data-testid=chat-input]", prompt)
    page.keyboard.press("Enter")
    page.wait_for_function(REPLY_DONE, arg=replies, timeout=60_000)
    page.wait_for_timeout(600)


def session_shots(out: Path, tmp: Path) -> None:
    console = start_console(tmp, "--seed", "3")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{console.url}/session/agent")
            page.wait_for_selector("[data-testid=connection-status][data-state=open]")
            ask(page, "summarize the q3 report", 1)
            page.screenshot(path=out / "chat-tool-call.png")
            ask(page, "analyze and compare the regions", 2)
            page.click("[data-testid=timeline-tab]")
            page.wait_for_timeout(500)
            page.screenshot(path=out / "timeline.png")
            page.click("[data-testid=context-tab]")
            page.wait_for_timeout(1000)
            page.screenshot(path=out / "context-diff.png")
            browser.close()
    finally:
        stop_console(console)


def overview_shot(out: Path, tmp: Path) -> None:
    console = start_console(tmp, "--streams", "24", "--seed", "5")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(console.url)
            page.wait_for_selector("[data-testid=session-card]")
            page.wait_for_timeout(8000)  # let the autopilots get going
            page.screenshot(path=out / "operations.png")
            browser.close()
    finally:
        stop_console(console)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        session_shots(args.out, Path(tmp))
        overview_shot(args.out, Path(tmp))
    for shot in sorted(args.out.glob("*.png")):
        print(shot)


if __name__ == "__main__":
    main()
