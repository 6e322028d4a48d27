"""What wakes an idle console: the loop-lag probe rests while the process idles and samples in full
under load, and uvicorn's own loop (ticking once a second) still keeps the Date header current and
stops the console promptly on a signal."""

from __future__ import annotations

import asyncio
import email.utils
import signal
import subprocess
import time
from pathlib import Path

import httpx

from console import metrics
from tests.e2e.conftest import start_console, stop_console


async def test_the_lag_probe_rests_while_idle_and_samples_a_busy_loop_in_full() -> None:
    lag = metrics.LoopLag(interval=0.02, rest=0.25)
    lag.start()
    try:
        await asyncio.sleep(0.2)  # the first samples see the test's own start-up
        idle_from = lag.count
        await asyncio.sleep(1.0)
        assert lag.count - idle_from <= 6, "idle: a few samples a second, not fifty"

        busy_from = lag.count
        until = time.monotonic() + 0.5
        while time.monotonic() < until:  # a loop with work: slices of CPU, each a few ms
            sum(range(20_000))
            await asyncio.sleep(0.002)
        stall_until = time.monotonic() + 0.06
        while time.monotonic() < stall_until:  # one stall: the loop held for 60 ms
            pass
        await asyncio.sleep(0.05)
        assert lag.count - busy_from >= 12, "busy: sampled at the full rate"
        assert lag.max >= 0.04, "the stall is in the figures"
    finally:
        await lag.stop()


def test_the_console_keeps_its_date_header_current_and_stops_promptly_on_a_signal(tmp_path: Path) -> None:
    console = start_console(tmp_path)
    try:
        for _ in range(3):
            response = httpx.get(f"{console.url}/api/simulators", timeout=5)
            shown = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
            assert time.time() - 2.5 < shown <= time.time(), "the Date header is at most a second or two old"
            time.sleep(1.5)

        asked = time.monotonic()
        console.process.send_signal(signal.SIGTERM)
        try:
            console.process.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError("the console did not stop on SIGTERM") from None
        stopped = time.monotonic() - asked
        assert stopped < 5, stopped
    finally:
        stop_console(console)
