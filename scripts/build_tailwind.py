"""Regenerate console/ui/tailwind.css: the Tailwind utilities the console's pages use, built ahead of time.

    python scripts/build_tailwind.py

NiceGUI normally compiles Tailwind in the browser: on every DOM change the runtime scans every
element's classes, and when it meets a class it has not seen it rewrites its stylesheet, which makes
the browser restyle and lay out the whole page again. A console that streams into a large page pays
that on every tick. The console runs with that runtime off and serves this file instead.

The file is built by the very compiler NiceGUI ships (its `tailwindcss.min.js`, in real Chromium), fed
every word of the console's UI sources as a candidate class, the way Tailwind's own scanner reads
source files; words that are not utilities produce nothing. A test builds it again and fails when the
file lacks a utility the sources use.
"""

from __future__ import annotations

import re
from pathlib import Path

import nicegui
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "console" / "ui" / "tailwind.css"
SOURCES = [*sorted((ROOT / "console" / "ui").glob("*.py")), *sorted((ROOT / "console" / "ui").glob("*.js"))]
SOURCES += sorted((ROOT / "components").glob("*.py"))
COMPILER = Path(nicegui.__file__).parent / "static" / "tailwindcss.min.js"
# NiceGUI's own Tailwind configuration (its index.html): dark mode follows Quasar's body class.
CONFIG = "@custom-variant dark (&:where(body.body--dark, body.body--dark *));"
CHROMIUM = "/usr/bin/chromium"

PAGE = """<!doctype html><html><head>
<style type="text/tailwindcss">{config}</style>
</head><body><div id="probe"></div></body></html>"""

BUILT = """() => [...document.querySelectorAll('style:not([type])')]
    .map(s => s.textContent).find(t => t.includes('tailwindcss v')) || ''"""


def candidates() -> list[str]:
    words: set[str] = set()
    for path in SOURCES:
        words.update(w for w in re.split(r"[\s\"'`]+", path.read_text()) if w)
    return sorted(words)


def build_css() -> str:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content(PAGE.format(config=CONFIG))
        page.evaluate("words => document.getElementById('probe').classList.add(...words)", candidates())
        page.add_script_tag(content=COMPILER.read_text())
        # The compiler works asynchronously: done when its stylesheet holds the utilities layer.
        page.wait_for_function(f"() => ({BUILT})().includes('@layer utilities {{')", timeout=30_000)
        css: str = page.evaluate(BUILT)
        browser.close()
    return css.rstrip() + "\n"


def main() -> None:
    css = build_css()
    OUT.write_text(css)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(css):,} bytes)")


if __name__ == "__main__":
    main()
