"""The versions of a context that left memory, for the inspector's scrubber: counted, and read back.

A session keeps the newest versions of each context in memory (console/window.py); with a store, the
older ones are in the session's journal. The scrubber spans every version: positions count from the
context's first version (since the conversation's last reset), `older` of them before the first one
in memory. Scrubbing to one of those reads it back (`console.readback`, in a worker thread) with its
neighbour before it, and the step between them is diffed as any other (a large one in the worker
process: `inspector_steps`).

How many went is learnt once per context from the store (the (time, seq) of every stored version,
matched against the first version memory holds); from then on each new version of the context counts
one more in all, and `older` is all of them less what memory holds. Versions read back are kept a
few at a time (`KEPT_BYTES`): scrubbing back and forth does not read the store at each step.

Without a store, versions that left memory are gone; the scrubber says so.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from console import readback
from console.session import ContextEntry, Conversation
from console.step_view import StepView
from console.store.history import StoredVersions
from console.ui.inspector_steps import StepCache

KEPT_BYTES: Final = 16 * 1024 * 1024  # versions read back kept for scrubbing, all contexts together
READ_AROUND: Final = 8  # versions read with the one asked for, before it (scrubbing goes backwards)
LET_GO: Final = "context versions"  # what the conversation counts versions let go from memory under


class OlderVersions:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self._total: dict[str, int] = {}  # context id -> versions since the last reset, once learnt
        self._read: OrderedDict[tuple[str, int], ContextEntry] = OrderedDict()
        self._bytes = 0
        self.damage = ""
        # Steps of versions read back, diffed as those in memory are (large ones in the worker process).
        self._steps = StepCache()

    @property
    def stored(self) -> bool:
        return readback.stored_history(self.conversation) is not None

    @property
    def let_go(self) -> bool:
        """Whether versions of any context of this conversation left memory."""
        return self.conversation.folded.counts.get(LET_GO, 0) > 0

    def older(self, context_id: str) -> int:
        """Versions of the context before the first one memory holds (0 until learnt)."""
        total = self._total.get(context_id)
        history = self.conversation.contexts.get(context_id, [])
        return 0 if total is None else max(0, total - len(history))

    def note(self, context_id: str) -> str:
        """What the scrubber says of the versions that left memory, if any did."""
        older = self.older(context_id)
        if older:
            return f"{older:,} older versions left memory: they are read back from the store"
        if self.let_go and not self.stored:
            return "Older versions left memory and were dropped (no store keeps them)"
        return ""

    def total(self, context_id: str) -> int:
        return self.older(context_id) + len(self.conversation.contexts.get(context_id, []))

    def added(self, context_id: str) -> None:
        """A new version of the context (the inspector is told of every one)."""
        if context_id in self._total:
            self._total[context_id] += 1

    def reset(self) -> None:
        self._total.clear()
        self._read.clear()
        self._bytes = 0
        self._steps.clear()

    def needs_learning(self, context_id: str) -> bool:
        return self.let_go and self.stored and context_id not in self._total

    async def learn(self, context_id: str) -> bool:
        """Count the context's versions in the store (True when some are older than memory's)."""
        stored = readback.stored_history(self.conversation)
        history = self.conversation.contexts.get(context_id, [])
        if stored is None or not history:
            return False
        first = history[0]
        found = await stored.context_versions(context_id, frozenset())
        self.damage = found.damage
        keys = found.keys
        # The first version memory holds, among the stored ones (the newest match: seq repeats).
        at = next(
            (i for i in range(len(keys) - 1, -1, -1) if (keys[i].at, keys[i].seq) == (first.at, first.seq)), 0
        )
        # Versions that came while the store was read are counted by `added` from here on.
        self._total[context_id] = at + len(self.conversation.contexts.get(context_id, []))
        return at > 0

    def entry(self, context_id: str, position: int) -> ContextEntry | None:
        """The version at `position`: in memory, or read back already (None: not read yet)."""
        older = self.older(context_id)
        if position >= older:
            history = self.conversation.contexts.get(context_id, [])
            index = position - older
            return history[index] if index < len(history) else None
        return self._read.get((context_id, position))

    async def step(self, context_id: str, position: int) -> StepView:
        """The version at `position` (one that left memory, or memory's first) against the one before."""
        wanted = [p for p in (position - 1, position) if p >= 0 and self.entry(context_id, p) is None]
        if wanted:
            await self._read_back(context_id, position)
        entry = self.entry(context_id, position)
        if entry is None:
            raise LookupError(f"version {position + 1} of {context_id} is no longer in the store")
        previous = self.entry(context_id, position - 1) if position > 0 else None
        pair = [entry] if previous is None else [previous, entry]
        # Keyed by position: the cache checks the entries it was computed from.
        return await self._steps.get(f"{context_id}\n{position}", len(pair) - 1, pair)

    async def _read_back(self, context_id: str, position: int) -> None:
        stored = readback.stored_history(self.conversation)
        if stored is None:
            return
        older = self.older(context_id)
        span = range(max(0, position - READ_AROUND), min(position + 1, older))
        found: StoredVersions = await stored.context_versions(context_id, frozenset(span))
        self.damage = found.damage
        for position_read, entry in found.entries.items():
            self._keep((context_id, position_read), entry)

    def _keep(self, key: tuple[str, int], entry: ContextEntry) -> None:
        if key in self._read:
            return
        self._read[key] = entry
        self._bytes += len(entry.encoded)
        while self._bytes > KEPT_BYTES and len(self._read) > 2:
            _, gone = self._read.popitem(last=False)
            self._bytes -= len(gone.encoded)
