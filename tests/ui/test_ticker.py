"""The flush ticker of a page: a tick woken for what can wait comes later, and sooner when more comes."""

from __future__ import annotations

import asyncio
import time

from nicegui import ui
from nicegui.testing import User

from console.ui.ticker import Ticker


async def test_a_tick_woken_to_wait_comes_then_and_a_later_wake_brings_it_forward(user: User) -> None:
    runs: list[float] = []
    tickers: list[Ticker] = []

    @ui.page("/ticks")
    def ticks() -> None:
        tickers.append(Ticker(0.05, lambda: runs.append(time.monotonic())))

    await user.open("/ticks")
    ticker = tickers[0]
    start = time.monotonic()
    ticker.wake_by(0.6)
    ticker.wake_by(0.1)  # already due: a second "by" does not bring it forward
    await asyncio.sleep(0.3)
    assert runs == []
    await asyncio.sleep(0.5)
    assert len(runs) == 1 and runs[0] - start >= 0.55  # within what it was told, not at the interval

    ticker.wake_by(0.6)
    woken = time.monotonic()
    ticker.wake()  # something that cannot wait: the next interval
    await asyncio.sleep(0.3)
    assert len(runs) == 2 and runs[1] - woken < 0.3
    await asyncio.sleep(0.5)
    assert len(runs) == 2  # the tick that was to wait was replaced, not run as well
