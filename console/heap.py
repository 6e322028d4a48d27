"""The garbage collector, kept from stalling the event loop every session shares.

CPython runs a full collection whenever the objects that survived the younger generations have grown
by a quarter since the last one, and a full collection walks every tracked object: messages, blocks,
tool arguments, connections. At 1,000 streaming sessions that heap grows by some 1,500 objects a
second and a full collection stalled the loop for 130 ms after a minute, 220 ms after two, more
after that. Almost none of it is garbage (conversations hold no reference cycles).

So what survives any collection is frozen (`gc.freeze`) as soon as the collection ends: it would only
have been promoted to an older generation, for the collections of that generation to walk it again.
Full collections then find almost nothing to walk (freezing only after full collections left those
at 95-120 ms, every few seconds, at 1,000 sessions). Freezing also zeroes the generations' counts, so
until a thaw only young collections run: at 300 sessions, freezing after the middle generation's
collections alone left one of those every ten young ones, ~1.8 ms each walking what the young ones
had promoted (the collector took 4.2% of the console's CPU then, 2.7% now).

A frozen object is never examined again, so a reference cycle that includes one (a dropped
connection's objects, say) cannot be freed until it is thawed: every `thaw_every` seconds the frozen
heap returns to the oldest generation, and nothing is frozen again until the next full collection
has walked all of it once, freeing what has become garbage. Objects that are not in a cycle are
freed when their last reference goes, frozen or not.
"""

from __future__ import annotations

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
    """After every collection, freeze its survivors; thaw them all every `thaw_every` seconds."""

    def __init__(self, thaw_every: float = THAW_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.thaw_every = thaw_every
        self.clock = clock
        self.freezes = 0
        self.thaws = 0
        self._thawed_at = clock()
        self._thawed = False  # a full collection is yet to walk what was thawed

    def start(self) -> None:
        """Follow the collector (idempotent)."""
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def stop(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        # Called by the collector once its work is done (whichever thread allocated: the generations
        # are the process's, and the collector holds the GIL), so the generations can change at once.
        # Not deferred to the loop: a young collection comes every ~0.1 s at 300 sessions, and asking
        # for the loop's next turn (`call_soon_threadsafe`) is a system call each time.
        if phase != "stop":
            return
        full = info["generation"] == 2
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
