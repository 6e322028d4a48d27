"""A run of the engines' ticker ticks the clients that are due, in the order they came, and no other."""

from __future__ import annotations

import asyncio

from console.runtime.ticker import REST_INTERVAL, Ticker

INTERVAL = 0.05  # under the grid's step: the ticker's own timer, not the grid's


class Client:
    def __init__(self, name: str, wait: float | None, ticks: list[str]) -> None:
        self.name, self.wait, self.ticks = name, wait, ticks

    def tick(self) -> float | None:
        self.ticks.append(self.name)
        return self.wait


def run(ticker: Ticker) -> bool:
    """One run now; its own timer's runs are cancelled, so that the test makes every run. Returns
    whether the run would rest (the next one a rest interval away)."""
    stop_timer(ticker)
    ticker._run()
    stop_timer(ticker)
    return ticker.resting


def stop_timer(ticker: Ticker) -> None:
    if ticker._handle is not None:
        ticker._handle.cancel()
        ticker._handle = None


async def test_a_run_ticks_only_the_clients_that_are_due_in_the_order_they_came() -> None:
    ticker = Ticker(INTERVAL)
    ticks: list[str] = []
    often, later, resting, gone = (
        Client("often", INTERVAL, ticks),
        Client("later", 0.4, ticks),
        Client("resting", None, ticks),
        Client("gone", INTERVAL, ticks),
    )
    for client in (often, later, resting, gone):
        ticker.add(client.tick)
    run(ticker)
    assert ticks == ["often", "later", "resting", "gone"]  # all due at first, in the order they came

    ticks.clear()
    ticker.remove(gone.tick)
    run(ticker)
    assert ticks == [], "none is due again yet"

    await asyncio.sleep(INTERVAL * 1.5)
    run(ticker)
    assert ticks == ["often"]

    ticks.clear()
    ticker.hurry(resting.tick)  # something gave it work: due at the next run
    ticker.hurry(resting.tick)
    assert not run(ticker)  # "often" needs a tick every interval: no rest
    assert ticks == ["resting"]  # once, however often it was hurried


async def test_the_ticker_rests_while_every_client_is_due_later_than_a_rest() -> None:
    ticker = Ticker(INTERVAL)
    ticks: list[str] = []
    streaming = Client("streaming", REST_INTERVAL * 20, ticks)  # a reply whose stall is far off
    ticker.add(streaming.tick)
    await asyncio.sleep(INTERVAL * 3)
    assert ticks == ["streaming"]
    assert ticker.resting, "nothing due within a second: the next run is a rest away"
    ticker.hurry()
    await asyncio.sleep(INTERVAL * 3)
    assert ticks == ["streaming"], "a run that finds nobody due ticks nobody"
    ticker.remove(streaming.tick)


async def test_a_client_due_within_a_deadline_is_ticked_then_and_not_sooner() -> None:
    ticker = Ticker(INTERVAL)
    ticks: list[str] = []
    stalling = Client("stalling", REST_INTERVAL * 20, ticks)
    ticker.add(stalling.tick)
    run(ticker)
    assert ticks == ["stalling"]
    ticker.due_within(stalling.tick, REST_INTERVAL * 30)  # later than it is due: nothing changes
    ticker.due_within(stalling.tick, INTERVAL * 2)  # sooner: its next tick comes then
    run(ticker)
    assert ticks == ["stalling"], "not at once: it is not due yet"
    await asyncio.sleep(INTERVAL * 2.5)
    run(ticker)
    assert ticks == ["stalling", "stalling"]
