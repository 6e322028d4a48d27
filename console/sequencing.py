"""Reorder buffer with dedup, by seq. Pure: no clock, no I/O.

Theory of operation
-------------------
Items are applied strictly in seq order, each exactly once. `push(seq, fingerprint, item)` returns
the items that became applicable, in order:

* seq == next: applied, followed by every buffered successor.
* seq >  next: held in `pending` until the gap before it fills.
* seq <  next with the fingerprint of what was applied at that seq: a duplicate, dropped and counted.
* seq <  next with a *different* fingerprint: either the server restarted its numbering (real servers
  begin every response at seq 1) or a stray frame. A restart is believed only on evidence: a new
  response was asked for (`expect_new_epoch`) and its first frame has not been applied yet. Then such
  frames collect in `restart`; when seq 1 of the new numbering arrives the epoch turns over: the new
  numbering's frames become `pending` and application continues from 1. Whatever the old epoch still
  held (a gap that never filled) is discarded and counted. Without that evidence the frame is a
  *stray*: refused and counted, so one frame can never make text be applied twice.
* seq too far ahead of next (`max_ahead`) or below 1: *absurd*, refused. Holding it would open a gap
  no replay can fill.

After a turnover the previous epoch's fingerprints are kept one epoch longer: a late copy of an old
frame (same seq, same bytes) is *stale*, dropped, and never lands in the new numbering.
`verdict` tells what the last `push` did with its frame.

A duplicate while held (same seq, same fingerprint) is dropped too; a different frame claiming a held
seq is kept out and counted as a conflict (first one wins).

The data structure is a dict keyed by seq plus the next expected seq: insertion, duplicate check and
drain are O(1) per item, and the buffer only ever holds the out-of-order window, not the history.
The history is kept as one int fingerprint per applied seq of the current epoch, which is what the
dedup of already-applied frames and the restart detection need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, TypeVar

T = TypeVar("T")

MAX_AHEAD: Final = 100_000  # no reply holds that many frames: a seq further ahead is not a gap to wait for


class Verdict(StrEnum):
    APPLIED = "applied"  # applied now (with whatever it released)
    HELD = "held"  # waits for a gap before it
    DUPLICATE = "duplicate"  # the same frame was applied or is held at that seq
    STALE = "stale"  # a copy of a frame of the previous numbering
    MAYBE_FIRST = "maybe_first"  # same as the last numbering's seq 1: held until the next frames tell
    STRAY = "stray"  # a different frame at an applied seq, with no new numbering expected
    ABSURD = "absurd"  # a seq no numbering can reach
    CONFLICT = "conflict"  # a different frame claims a held seq (the first one is kept)


# An enum member read from its class goes through the metaclass (~80 ns on Python 3.11): the in-order
# paths, taken for nearly every frame, read it from here.
_APPLIED: Final = Verdict.APPLIED


@dataclass(slots=True)
class SequencerStats:
    applied: int = 0
    duplicates: int = 0
    out_of_order: int = 0  # items that had to wait for a gap
    conflicts: int = 0
    restarts: int = 0
    discarded: int = 0  # held items of an abandoned epoch
    strays: int = 0
    absurd: int = 0


class Sequencer(Generic[T]):
    def __init__(self, max_ahead: int = MAX_AHEAD) -> None:
        # What an item in order reads first (`in_order`), so that it shares the first cache lines of
        # the instance's attributes (kept in the order they were first set).
        self.next_seq = 1
        self.pending: dict[int, tuple[int, T]] = {}
        self._applied: dict[int, int] = {}
        self.stats = SequencerStats()
        self.verdict = Verdict.APPLIED
        self.max_ahead = max_ahead
        self.epoch = 0
        self.restart: dict[int, tuple[int, T]] = {}
        self._previous: dict[int, int] = {}  # the previous epoch's fingerprints, for late copies
        self._awaiting_epoch = False
        # A seq-1 frame identical to the one applied at seq 1 (a response that begins with the same
        # context snapshot as the last one): a duplicate, unless a new numbering turns out to begin.
        self._maybe_first: tuple[int, T] | None = None

    @property
    def last_applied(self) -> int:
        """The highest seq applied in the current epoch (0 before the first)."""
        return self.next_seq - 1

    @property
    def resume_seq(self) -> int:
        """What RESUME must carry: 0 while a new numbering has begun but nothing of it is applied."""
        if self.restart or self._awaiting_epoch:
            return 0
        return self.last_applied

    @property
    def held(self) -> int:
        return len(self.pending) + len(self.restart)

    @property
    def has_gap(self) -> bool:
        """Items wait for a seq that has not arrived."""
        return bool(self.pending or self.restart)

    @property
    def awaiting_epoch(self) -> bool:
        """A new response was asked for and nothing shows yet that it began."""
        return self._awaiting_epoch

    def seen(self, seq: int, fingerprint: int) -> bool:
        """This very frame was pushed before (applied, held, or applied in the previous numbering)."""
        if self._applied.get(seq) == fingerprint or self._previous.get(seq) == fingerprint:
            return True
        for held in (self.pending.get(seq), self.restart.get(seq), self._maybe_first if seq == 1 else None):
            if held is not None and held[0] == fingerprint:
                return True
        return False

    def expect_new_epoch(self) -> None:
        """A new response was requested: until it begins, RESUME asks for it from the start, and a
        frame at an old seq may be the first of a new numbering.

        Servers that keep one numbering across responses just replay duplicates (dropped); servers
        that restart at 1 would otherwise replay nothing of the new response.
        """
        self._awaiting_epoch = True
        self._maybe_first = None

    def epoch_began(self) -> None:
        """The new response began in the current numbering (a server that keeps one numbering)."""
        self._awaiting_epoch = False
        self._maybe_first = None

    def in_order(self, seq: int, fingerprint: int) -> bool:
        """`push` of the next item with nothing held, which is applied at once (the common case), without
        the item or the list: True if it was that, else False and nothing changed (push it)."""
        if seq != self.next_seq or self.pending:
            return False
        self._applied[seq] = fingerprint
        self.next_seq = seq + 1
        self.stats.applied += 1
        self.verdict = _APPLIED
        return True

    def push(self, seq: int, fingerprint: int, item: T) -> list[T]:
        if seq == self.next_seq and not self.pending:
            # The common case, in order with nothing held: what `_drain` does, without the calls.
            self._applied[seq] = fingerprint
            self.next_seq = seq + 1
            self.stats.applied += 1
            self.verdict = _APPLIED
            return [item]
        if seq < 1 or seq - self.next_seq > self.max_ahead:
            return self._refuse(Verdict.ABSURD)
        if seq >= self.next_seq:
            if self._previous.get(seq) == fingerprint:
                return self._refuse(Verdict.STALE)
            return self._push_current(seq, fingerprint, item)
        if self._applied.get(seq) == fingerprint:
            if seq == 1 and self._awaiting_epoch and not self.restart:
                self._maybe_first = (fingerprint, item)
                self.verdict = Verdict.MAYBE_FIRST
                return []
            self.stats.duplicates += 1
            self.verdict = Verdict.DUPLICATE
            return []
        if not self._awaiting_epoch:
            return self._refuse(Verdict.STALE if self._previous.get(seq) == fingerprint else Verdict.STRAY)
        # A new reply was asked for: a frame equal to one of the numbering before last is as likely the
        # new reply's own (a repeated prompt is answered alike) as a late copy, and only the new
        # numbering can fill the buffer.
        return self._push_restart(seq, fingerprint, item)

    def _refuse(self, verdict: Verdict) -> list[T]:
        self.verdict = verdict
        if verdict is Verdict.STRAY:
            self.stats.strays += 1
        elif verdict is Verdict.ABSURD:
            self.stats.absurd += 1
        else:
            self.stats.duplicates += 1
        return []

    def _push_current(self, seq: int, fingerprint: int, item: T) -> list[T]:
        if seq in self.pending:
            if self.pending[seq][0] == fingerprint:
                self.stats.duplicates += 1
                self.verdict = Verdict.DUPLICATE
            else:
                self.stats.conflicts += 1
                self.verdict = Verdict.CONFLICT
            return []
        if seq != self.next_seq:
            self.pending[seq] = (fingerprint, item)
            self.stats.out_of_order += 1
            self.verdict = Verdict.HELD
            return []
        self.verdict = Verdict.APPLIED
        return self._drain([item], fingerprint)

    def _push_restart(self, seq: int, fingerprint: int, item: T) -> list[T]:
        if seq in self.restart:
            if self.restart[seq][0] == fingerprint:
                self.stats.duplicates += 1
                self.verdict = Verdict.DUPLICATE
            else:
                self.stats.conflicts += 1
                self.verdict = Verdict.CONFLICT
            return []
        self.restart[seq] = (fingerprint, item)
        if 1 not in self.restart and self._maybe_first is not None:
            # Frames of a new numbering are here, so the identical seq 1 was its first frame after all.
            self.restart[1] = self._maybe_first
        if 1 not in self.restart:
            self.stats.out_of_order += 1
            self.verdict = Verdict.HELD
            return []
        # The new numbering's first frame is here: turn the epoch over.
        self.stats.restarts += 1
        self.stats.discarded += len(self.pending)
        self._turn_over()
        self.pending, self.restart = self.restart, {}
        first_fp, first = self.pending.pop(1)
        self.verdict = Verdict.APPLIED
        return self._drain([first], first_fp)

    def _turn_over(self) -> None:
        self.epoch += 1
        self.next_seq = 1
        self._previous, self._applied = self._applied, {}
        self._awaiting_epoch = False
        self._maybe_first = None

    def _drain(self, out: list[T], fingerprint: int) -> list[T]:
        self._applied[self.next_seq] = fingerprint
        self.next_seq += 1
        while self.next_seq in self.pending:
            fp, nxt = self.pending.pop(self.next_seq)
            out.append(nxt)
            self._applied[self.next_seq] = fp
            self.next_seq += 1
        self.stats.applied += len(out)
        return out

    def skip_gap(self) -> tuple[range, list[T]]:
        """Give up on a gap that replays did not fill: jump to the first held seq.

        Returns the seqs that were never received and the items that became applicable.
        """
        if not self.pending and self.restart:
            first = min(self.restart)
            missing = range(1, first)
            self.stats.restarts += 1
            self.stats.discarded += len(self.pending)
            self._turn_over()
            self.pending, self.restart = self.restart, {}
        elif self.pending:
            first = min(self.pending)
            missing = range(self.next_seq, first)
        else:
            return range(0), []
        self.next_seq = first
        fp, item = self.pending.pop(first)
        return missing, self._drain([item], fp)
