"""End-to-end harness: the real console as a subprocess, driven by the system Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Console:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def simulators(self) -> dict[str, dict[str, str]]:
        data: dict[str, dict[str, str]] = httpx.get(f"{self.url}/api/simulators", timeout=5).json()
        return data


def start_console(tmp_path: Path, *args: str) -> Console:
    port = free_port()
    log = tmp_path / f"console-{port}.log"
    # An app started from pytest must not inherit pytest's variables (NiceGUI would think it is a test).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["AGENT_CONSOLE_DATA"] = str(tmp_path / f"data-{port}")  # a journal of its own, not the user's
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--no-show", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"console exited early:\n{log.read_text()}")
        try:
            # 401: up, behind the login (a console started with --token)
            if httpx.get(f"{url}/api/simulators", timeout=1).status_code in (200, 401):
                return Console(url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"console did not start:\n{log.read_text()}")


def stop_console(console: Console) -> None:
    console.process.terminate()
    try:
        console.process.wait(10)
    except subprocess.TimeoutExpired:
        console.process.kill()


# Per module: the sync API keeps its own event loop running while it is open, which must not outlive
# the browser tests into the asyncio tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (scripts/test-deps.sh installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
