"""The garbage collector, kept from stalling the event loop every session shares.

CPython runs a full collection whenever the objects that survived the younger generations have grown
by a quarter since the last one, and a full collection walks every tracked object: messages, blocks,
tool arguments, connections. At 1,000 streaming sessions that heap grows by some 1,500 objects a
second and a full collection stalled the loop for 130 ms after a minute, 220 ms after two, more
after that. Almost none of it is garbage (conversations hold no reference cycles).

So what survives a collection of the middle generation is frozen (`gc.freeze`): it would only have
been promoted to the oldest generation, for every full collection to walk it again. Full collections
then find almost nothing to walk, and the middle generation's stay near 25 ms at 1,000 sessions
however long the console runs (freezing only after full collections left those at 95-120 ms, every
few seconds). A frozen object is never examined again, so a reference cycle that includes one (a
dropped connection's objects, say) cannot be freed until it is thawed: every `thaw_every` seconds the
frozen heap returns to the oldest generation, and nothing is frozen again until the next full
collection has walked all of it once, freeing what has become garbage.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Final

THAW_EVERY: Final = 600.0  # seconds


def freeze_startup() -> None:
    """Hide what startup allocated (framework, pages) from every later collection: called before any
    session or simulator starts, while a full collection stalls nothing.

    Import-time objects live forever; scanning them was most of a full collection's 80-160 ms at
    startup.
    """
    gc.collect()
    gc.freeze()


class FreezeSurvivors:
    """After every collection of the older generations, freeze its survivors; thaw them all every
    `thaw_every` seconds."""

    def __init__(self, thaw_every: float = THAW_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.thaw_every = thaw_every
        self.clock = clock
        self.freezes = 0
        self.thaws = 0
        self._thawed_at = clock()
        self._thawed = False  # a full collection is yet to walk what was thawed
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Follow the collector (needs the running loop the freezes are made on; idempotent)."""
        self._loop = asyncio.get_running_loop()
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def stop(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        # Called inside the collector, on whichever thread allocated: the generations are changed
        # afterwards, from the loop.
        loop = self._loop
        generation = info["generation"]
        if phase == "stop" and generation >= 1 and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._after_collection, generation == 2)

    def _after_collection(self, full: bool) -> None:
        if self._thawed and not full:
            return
        self._thawed = False
        now = self.clock()
        if now - self._thawed_at >= self.thaw_every:
            # Frozen objects that have become cyclic garbage are freed by the next full collection.
            gc.unfreeze()
            self._thawed_at = now
            self._thawed = True
            self.thaws += 1
            return
        gc.freeze()
        self.freezes += 1


FREEZE_SURVIVORS: Final = FreezeSurvivors()
