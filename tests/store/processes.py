"""The console and the agent simulator as processes of their own, as a deployment runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from console.jsonvalue import JsonObject, JsonValue
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def _env() -> dict[str, str]:
    # An app started from pytest must not inherit pytest's variables (NiceGUI would think it is a test).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Process:
    url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def get(self, path: str) -> JsonValue:
        value: JsonValue = httpx.get(f"{self.url}{path}", timeout=5).json()
        return value

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _spawn(args: list[str], log: Path, ready: str, port: int) -> Process:
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    process = Process(f"http://127.0.0.1:{port}", popen, log)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{args[0]} exited early:\n{process.output()}")
        try:
            if httpx.get(f"{process.url}{ready}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    popen.kill()
    raise RuntimeError(f"{args[0]} did not start:\n{process.output()}")


def start_agent_sim(tmp_path: Path, *args: str) -> Process:
    port = free_port()
    return _spawn(["sim", "agent", "--port", str(port), *args], tmp_path / f"sim-{port}.log", "/health", port)


def start_console(tmp_path: Path, *args: str) -> Process:
    port = free_port()
    log = tmp_path / f"console-{port}.log"
    return _spawn(["--no-show", "--port", str(port), *args], log, "/api/sessions", port)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll until `probe` returns something (what a user would wait to see)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.HTTPError:
            found = None
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def session(console: Process, session_id: str) -> JsonObject:
    value = console.get(f"/api/sessions/{session_id}")
    assert isinstance(value, dict)
    return value


def messages(console: Process, session_id: str) -> list[JsonObject]:
    transcript = session(console, session_id)["transcript"]
    assert isinstance(transcript, dict) and isinstance(transcript["messages"], list)
    return [m for m in transcript["messages"] if isinstance(m, dict)]


def send(console: Process, session_id: str, text: str) -> None:
    httpx.post(f"{console.url}/api/sessions/{session_id}/messages", json={"text": text}, timeout=5)


def trace_kinds(console: Process, session_id: str) -> list[str]:
    rows = session(console, session_id)["trace"]
    assert isinstance(rows, list)
    return [str(row[0]) for row in rows if isinstance(row, list)]
