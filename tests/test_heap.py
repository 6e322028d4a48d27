"""The collector policy: survivors of every collection are frozen, and thawed again on schedule."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator

import pytest

from console.heap import FreezeSurvivors


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def policy(thawed: None, clock: Clock) -> AsyncIterator[FreezeSurvivors]:
    """The policy, following the collector for the test (thawing every 600 s of `clock`)."""
    survivors = FreezeSurvivors(thaw_every=600.0, clock=clock)
    survivors.start()
    yield survivors
    survivors.stop()


def walked() -> set[int]:
    """The ids of what later collections look at (everything not frozen)."""
    return {id(o) for o in gc.get_objects()}


async def full_collection() -> None:
    await collection(2)


async def collection(generation: int) -> None:
    gc.collect(generation)
    await asyncio.sleep(0)  # a turn of the loop, as between collections in the console


async def test_what_a_full_collection_leaves_is_frozen_and_later_ones_walk_only_what_is_new(
    policy: FreezeSurvivors,
) -> None:
    history = [{"step": i, "data": [i]} for i in range(5_000)]  # long-lived, like a conversation
    await full_collection()
    assert gc.get_freeze_count() > len(history)
    assert not any(id(step) in walked() for step in history)
    assert policy.freezes >= 1  # and any the allocations above set off


async def test_what_a_collection_of_the_middle_generation_leaves_is_frozen_too(
    policy: FreezeSurvivors,
) -> None:
    await full_collection()  # what existed before is frozen: not what this collection promotes
    freezes = policy.freezes
    history = [{"step": i, "data": [i]} for i in range(5_000)]
    await collection(1)
    assert not any(id(step) in walked() for step in history)
    assert policy.freezes > freezes


async def test_what_a_young_collection_leaves_is_frozen_so_that_the_middle_generation_stays_empty(
    policy: FreezeSurvivors,
) -> None:
    await full_collection()
    freezes = policy.freezes
    history = [{"step": i, "data": [i]} for i in range(5_000)]
    await collection(0)
    assert not any(id(step) in walked() for step in history)
    assert policy.freezes > freezes
    assert not gc.get_objects(generation=1), "the middle generation holds nothing to walk again"


async def test_a_thawed_heap_is_walked_by_a_full_collection_before_anything_is_frozen_again(
    policy: FreezeSurvivors, clock: Clock
) -> None:
    history = [{"step": i, "data": [i]} for i in range(5_000)]
    await full_collection()
    clock.now = 601.0
    await collection(1)
    assert policy.thaws == 1 and gc.get_freeze_count() == 0

    freezes = policy.freezes
    await collection(1)  # not a full collection: what was thawed stays where one will walk it
    assert gc.get_freeze_count() == 0 and policy.freezes == freezes
    assert id(history[0]) in walked()

    await full_collection()
    assert gc.get_freeze_count() > len(history) and policy.freezes == freezes + 1


async def test_the_frozen_heap_is_thawed_on_schedule_so_that_cycles_in_it_can_be_freed(
    policy: FreezeSurvivors, clock: Clock
) -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    await full_collection()
    assert gc.get_freeze_count() > 0
    del cycle  # garbage now, but frozen: no collection can see it

    clock.now = 599.0
    await full_collection()
    assert gc.get_freeze_count() > 0 and policy.thaws == 0

    clock.now = 601.0
    await full_collection()
    assert policy.thaws == 1 and gc.get_freeze_count() == 0
    assert gc.collect() > 0  # the cycle frozen before is found and freed


async def test_a_stopped_policy_leaves_the_collector_alone(thawed: None) -> None:
    policy = FreezeSurvivors()
    policy.start()
    policy.start()  # idempotent
    policy.stop()
    await full_collection()
    assert gc.get_freeze_count() == 0 and policy.freezes == 0
