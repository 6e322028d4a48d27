"""The pacer: simulated sessions' waits end when due, but only a batch of them per loop iteration."""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop

from console.sim.agent_steps import Token
from console.sim.agent_tokens import TokenRun
from console.sim.pacing import Pacer, Timeline


async def test_waits_end_when_due_earliest_first() -> None:
    pacer = Pacer()
    loop = asyncio.get_running_loop()
    start = loop.time()
    ended: list[tuple[str, float]] = []

    async def wait(name: str, seconds: float) -> None:
        await pacer.sleep(seconds)
        ended.append((name, loop.time() - start))

    await asyncio.gather(wait("late", 0.06), wait("early", 0.02), wait("middle", 0.04))
    assert [name for name, _ in ended] == ["early", "middle", "late"]
    for (_, at), asked in zip(ended, (0.02, 0.04, 0.06), strict=True):
        assert asked <= at < asked + 0.05


async def test_an_overdue_crowd_ends_a_batch_per_iteration_and_other_work_runs_between() -> None:
    pacer = Pacer(batch=4)
    iteration = 0
    ended_in: list[int] = []

    async def count_iterations() -> None:
        nonlocal iteration
        while True:
            iteration += 1
            await asyncio.sleep(0)

    async def wait() -> None:
        await pacer.sleep(0.01)
        ended_in.append(iteration)

    counter = asyncio.create_task(count_iterations())
    try:
        waits = [asyncio.create_task(wait()) for _ in range(20)]
        await asyncio.sleep(0.05)  # all twenty are overdue together, as on a loop that fell behind
        await asyncio.gather(*waits)
    finally:
        counter.cancel()
    assert len(ended_in) == 20
    per_iteration = [ended_in.count(i) for i in sorted(set(ended_in))]
    assert max(per_iteration) <= 4
    assert len(per_iteration) >= 5  # the loop went round (other callbacks ran) between the batches


async def test_a_cancelled_wait_is_skipped_and_the_others_still_end() -> None:
    pacer = Pacer(batch=1)
    cancelled = asyncio.create_task(pacer.sleep(0.01))
    kept = asyncio.create_task(pacer.sleep(0.02))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.wait_for(kept, 1.0)
    assert cancelled.cancelled()


async def test_close_cancels_what_still_waits() -> None:
    pacer = Pacer()
    waiting = asyncio.create_task(pacer.sleep(10.0))
    await asyncio.sleep(0)
    pacer.close()
    await asyncio.sleep(0)
    assert waiting.cancelled()


def test_on_uvloop_a_wait_costs_a_timer_or_two_not_a_spin_until_the_clock_ticks() -> None:
    # uvloop's timers count whole milliseconds and may fire before a deadline between two of them.
    releases = 0

    class Counting(Pacer):
        def _release(self, loop: asyncio.AbstractEventLoop) -> None:
            nonlocal releases
            releases += 1
            super()._release(loop)

    async def waits() -> None:
        pacer = Counting()
        for i in range(20):
            await pacer.sleep(0.0013 + i * 0.0001)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(waits())
    assert releases <= 40


async def test_a_run_of_tokens_plays_from_the_release_at_its_pace_with_one_timer_per_release() -> None:
    loop = asyncio.get_running_loop()
    arms = releases = 0

    class Counting(Pacer):
        def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
            nonlocal arms
            arms += 1
            super()._arm(loop, when)

        def _release(self, loop: asyncio.AbstractEventLoop) -> None:
            nonlocal releases
            releases += 1
            super()._release(loop)

    pacer = Counting()
    written: list[tuple[str, float]] = []
    runs = []
    start = loop.time()
    for name in "abc":  # three sessions' runs at once, one pacer
        tokens = [Token(f"{name}{i} ", 0.0 if i == 0 else 0.01) for i in range(5)]
        run = TokenRun(
            pacer, Timeline(pacer), tokens, lambda t: written.append((t.text, loop.time() - start))
        )
        runs.append(run.play())
    await asyncio.gather(*runs)
    assert [text for text, _ in written if text.startswith("a")] == [f"a{i} " for i in range(5)]
    assert len(written) == 15 and 0.04 <= written[-1][1] < 0.1
    # A timer per release at most, not one more per token pushed while releasing: at a thousand
    # sessions those timers were a third of the simulator's time.
    assert arms <= releases


async def test_a_token_run_that_fails_fails_its_response_and_the_pacer_goes_on() -> None:
    pacer = Pacer()

    def fail(token: Token) -> None:
        raise ValueError(token.text)

    broken = TokenRun(pacer, Timeline(pacer), [Token("x", 0.01)], fail)
    with pytest.raises(ValueError, match="x"):
        await broken.play()
    await asyncio.wait_for(pacer.sleep(0.01), 1.0)  # still releasing


def busy(seconds: float) -> None:
    """Hold the event loop, as a simulator with more work than its core does."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


async def test_a_wait_that_ends_late_shortens_the_next_so_a_reply_keeps_its_pace() -> None:
    loop = asyncio.get_running_loop()
    timeline = Timeline(Pacer(), scale=0.5)
    start = loop.time()
    await timeline.wait(0.04)  # 20 ms, scaled
    busy(0.05)  # the loop is held (a busy simulator) past the next wait's moment
    await timeline.wait(0.04)  # due at 40 ms: already past, ends at once
    await timeline.wait(0.04)  # due at 60 ms
    # Each wait counted from the end of the previous one would have ended at 110 ms.
    assert 0.06 <= loop.time() - start < 0.09


async def test_a_timeline_far_behind_lets_the_lost_time_go_rather_than_send_a_burst() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer()
    timeline = Timeline(pacer, catch_up=0.05)
    start = loop.time()
    await timeline.wait(0.02)
    busy(0.2)  # far behind: 200 ms late, four times what is made up
    for _ in range(5):
        await timeline.wait(0.02)
    # Made up in full, the five waits (due at 40-120 ms) would all end at once after the stall (220 ms).
    # Only 50 ms are: the first is due at 170 ms, the fifth 80 ms later.
    assert loop.time() - start >= 0.25 - 0.005
    assert 0.12 <= pacer.let_go <= 0.14  # what was given up: the 130 ms it did not make up (/health)
    # The stall is in what was let go, not in the waits' lateness: each ended when it was then due.
    assert pacer.released == 6 and pacer.lateness < 0.03


async def test_a_timeline_restarted_counts_from_now() -> None:
    loop = asyncio.get_running_loop()
    timeline = Timeline(Pacer())
    await asyncio.sleep(0.05)  # waiting for a client, outside the script
    timeline.restart()
    start = loop.time()
    await timeline.wait(0.03)
    assert loop.time() - start >= 0.03 - 0.002


async def test_a_timeline_restarted_after_a_late_step_makes_up_its_lateness() -> None:
    loop = asyncio.get_running_loop()
    timeline = Timeline(Pacer())
    await timeline.wait(0.01)
    busy(0.04)  # the step after the wait (a tool call) goes out 40 ms late
    late = loop.time() - timeline.due
    await asyncio.sleep(0.02)  # the client's ACK
    timeline.restart(late)
    start = loop.time()
    await timeline.wait(0.06)  # the result: 60 ms of script, 40 of them already spent being late
    assert 0.015 <= loop.time() - start < 0.045
