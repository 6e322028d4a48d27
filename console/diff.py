"""Structural JSON diff: what changed between two context snapshots, as changes with paths.

Theory of operation
-------------------
`diff(old, new)` walks both values together and reports the smallest-looking set of `Change`s at the
places where they differ; `apply(old, changes)` (`console.diff_apply`) replays them. `apply(old, diff(old, new))` equals `new`
for every JSON value, with strict equality: 1, 1.0 and True are three different values (Python's ==
says otherwise), and so are 0.0 and -0.0.

Objects: a key only in `old` is a `remove`, only in `new` an `add`; a key in both is descended into.
Values of different JSON types (object -> array, number -> null, 1 -> True) are one `replace`.

Arrays are aligned, so that an item inserted in the middle is one `add` rather than a `replace` of
every later index:

1. The common prefix and suffix are trimmed (cheap: usually all there is).
2. If every remaining item on both sides is an object carrying the same identity member (the first of
   `ID_KEYS` that all of them carry, with string or integer values unique on each side), items are
   matched by identity: the matched items are the longest run kept in the same order, and each is
   diffed against its counterpart. An item whose id appears on one side only, or that moved relative
   to the others, is a `remove` plus an `add`.
3. Otherwise items are matched by content with Myers' O(ND) algorithm on their fingerprints (sorted-key
   serializations). Between two matched items, the unmatched ones are paired off and diffed (an item
   edited in place); the rest are removes and adds. When the alignment would take more than
   `max_align_work` steps, the items are compared index by index instead: always correct, merely less
   pretty (a heavily rewritten array is mostly replaces then).

Path semantics
--------------
A path is the list of object keys and array indices from the root. Indices address the *new* document,
except the last index of a `remove`, which addresses the *old* array. Within one array:

* `remove` at ``(..., i)``: the item at index i of the old array is gone;
* `add` at ``(..., j)``: the item at index j of the new array is new;
* `replace` at ``(..., j)`` and any change below ``(..., j, ...)``: the item kept at new index j changed.

`apply` processes an array in that order: removes (old indices), then adds in ascending new index,
then replacements and changes below. Kept items never change their relative order, which is what makes
both index spaces well defined, and lets a tree view lay out an array as one merged sequence: walking
old and new together, removed items take their old place (struck through) and added items their new
place (`list_rows`).

Speed: identical subtrees are skipped by `is` and then by `==`, which runs in C and stops at the first
difference; only when `==` says equal are the two sides serialized (also in C) to tell 1 from True.
So the cost is about the size of the documents plus the size of what changed times its depth.
Nesting is bounded by Python's recursion limit (about a thousand levels), as for any recursive walk.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

import orjson

from console.jsonvalue import JsonValue

Path: TypeAlias = tuple[str | int, ...]
Op: TypeAlias = Literal["add", "remove", "replace"]

# Members that name an item in an array of objects, most telling first.
ID_KEYS: tuple[str, ...] = ("id", "_id", "uuid", "key", "name")

# Steps of Myers' algorithm (diagonals visited plus items compared) one array may take before the diff
# falls back to index-wise comparison: around 20 ms of pure Python, paid only by heavily rewritten arrays.
MAX_ALIGN_WORK = 60_000

# Unmatched runs up to this long are paired by trying every offset of the shorter run in the longer one.
_PAIRING_WINDOW = 16


@dataclass(frozen=True, slots=True)
class Change:
    """One difference at `path`; list indices as described under "Path semantics" above."""

    op: Op
    path: Path
    old: JsonValue = None  # for remove/replace
    new: JsonValue = None  # for add/replace


@dataclass(frozen=True, slots=True)
class ListRow:
    """One row of an array shown as the merge of its old and new versions."""

    status: Literal["same", "changed", "added", "removed"]
    old_index: int | None
    new_index: int | None


# --- diff ------------------------------------------------------------------------------------------


def diff(old: JsonValue, new: JsonValue, *, max_align_work: int = MAX_ALIGN_WORK) -> list[Change]:
    """The changes that turn `old` into `new`; [] when they are strictly equal."""
    differ = _Differ(max_align_work)
    if not _same(old, new):
        differ.changed(old, new, ())
    return differ.out


def _same(a: JsonValue, b: JsonValue) -> bool:
    """Strict equality (1, 1.0 and True differ; so do 0.0 and -0.0).

    May answer False for equal objects whose keys come in another order: callers then descend and find
    nothing, which costs time but never correctness.
    """
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        # == runs in C and stops at the first difference, but conflates 1, 1.0 and True: the serialized
        # forms tell them apart, and are only computed for subtrees that are (almost surely) equal.
        if a != b:
            return False
        try:
            return orjson.dumps(a) == orjson.dumps(b)
        except orjson.JSONEncodeError:  # integers beyond 64 bits, nesting beyond orjson's limit
            return False
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def _fingerprint(value: JsonValue) -> str:
    """A hashable key equal for strictly equal values only, whatever their key order: the JSON text."""
    try:
        # decode() copies into a compact str: keeping thousands of orjson's own bytes objects alive is
        # several times slower than the serialization itself (each holds a large buffer).
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        # Rare (huge integers, very deep nesting); equal values fail alike, so they stay comparable.
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Differ:
    __slots__ = ("budget", "out")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.out: list[Change] = []

    def changed(self, a: JsonValue, b: JsonValue, path: Path) -> None:
        """Report how `a` became `b`, known not to be strictly equal."""
        if isinstance(a, dict) and isinstance(b, dict):
            self.objects(a, b, path)
        elif isinstance(a, list) and isinstance(b, list):
            self.arrays(a, b, path)
        else:
            self.out.append(Change("replace", path, a, b))

    def objects(self, a: dict[str, JsonValue], b: dict[str, JsonValue], path: Path) -> None:
        out = self.out
        common = 0
        for key, av in a.items():
            if key not in b:
                out.append(Change("remove", (*path, key), old=av))
                continue
            common += 1
            bv = b[key]
            if not _same(av, bv):
                self.changed(av, bv, (*path, key))
        if len(b) > common:  # only then does `b` have keys of its own
            for key, bv in b.items():
                if key not in a:
                    out.append(Change("add", (*path, key), new=bv))

    def arrays(self, a: list[JsonValue], b: list[JsonValue], path: Path) -> None:
        n, m = len(a), len(b)
        lo, shorter = 0, min(n, m)
        while lo < shorter and _same(a[lo], b[lo]):
            lo += 1
        end_a, end_b = n, m
        while end_a > lo and end_b > lo and _same(a[end_a - 1], b[end_b - 1]):
            end_a -= 1
            end_b -= 1
        runs = _align(a[lo:end_a], b[lo:end_b], self.budget)
        out = self.out
        i = j = 0
        # The sentinel closes the last gap; runs come in increasing order on both sides.
        for ri, rj, length, identical in [*runs, (end_a - lo, end_b - lo, 0, True)]:
            for r in range(lo + i, lo + ri):
                out.append(Change("remove", (*path, r), old=a[r]))
            for r in range(lo + j, lo + rj):
                out.append(Change("add", (*path, r), new=b[r]))
            if not identical:
                for t in range(length):
                    av, bv = a[lo + ri + t], b[lo + rj + t]
                    if not _same(av, bv):
                        self.changed(av, bv, (*path, lo + rj + t))
            i, j = ri + length, rj + length


# A run (i, j, length, identical) keeps a[i : i + length] as b[j : j + length], item by item; identical
# runs need no further look.
Run: TypeAlias = tuple[int, int, int, bool]


def _align(a: list[JsonValue], b: list[JsonValue], budget: int) -> list[Run]:
    """The runs of items kept from `a` to `b`, increasing on both sides."""
    if not a or not b:
        return []
    ids = _shared_ids(a, b)
    if ids is not None:
        return [(i, j, 1, False) for i, j in _increasing_matches(*ids)]
    if len(a) == 1 and len(b) == 1:
        return [(0, 0, 1, False)]
    interned: dict[str, int] = {}
    ka = [interned.setdefault(_fingerprint(item), len(interned)) for item in a]
    kb = [interned.setdefault(_fingerprint(item), len(interned)) for item in b]
    anchors = _lcs(ka, kb, budget) if _lcs_may_fit(ka, kb, budget) else None
    return _pair_gaps(a, b, [] if anchors is None else anchors)


def _lcs_may_fit(a: list[int], b: list[int], budget: int) -> bool:
    """Whether Myers' algorithm may finish within `budget`: it takes about D²/2 steps for D edits, and
    D is at least the number of items without a counterpart on the other side."""
    counts: dict[int, int] = {}
    for key in a:
        counts[key] = counts.get(key, 0) + 1
    common = 0
    for key in b:
        left = counts.get(key, 0)
        if left:
            counts[key] = left - 1
            common += 1
    edits = len(a) + len(b) - 2 * common
    return common > 0 and edits * edits // 2 <= budget


def _shared_ids(a: list[JsonValue], b: list[JsonValue]) -> tuple[list[str | int], list[str | int]] | None:
    """The identity values of both sides, if every item is an object named by the same `ID_KEYS` member."""
    first = a[0]
    if not isinstance(first, dict):
        return None
    for key in ID_KEYS:
        if key in first:
            ida = _ids(a, key)
            if ida is not None:
                idb = _ids(b, key)
                if idb is not None:
                    return ida, idb
    return None


def _ids(items: list[JsonValue], key: str) -> list[str | int] | None:
    ids: list[str | int] = []
    for item in items:
        if not isinstance(item, dict):
            return None
        value = item.get(key)
        # Booleans and floats name nothing; str and int never collide (1 != "1").
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            ids.append(value)
        else:
            return None
    return ids if len(set(ids)) == len(ids) else None


def _increasing_matches(ida: list[str | int], idb: list[str | int]) -> list[tuple[int, int]]:
    """The most items matched by id whose order is kept: a longest increasing subsequence, O(n log n).

    With unique ids on each side this *is* the longest common subsequence, without Myers' quadratic
    worst case.
    """
    where = {value: i for i, value in enumerate(ida)}
    candidates = [(where[value], j) for j, value in enumerate(idb) if value in where]
    tails: list[int] = []  # tails[n]: smallest old index ending an increasing run of length n + 1
    tail_at: list[int] = []  # ... and the candidate it belongs to
    previous: list[int] = []
    for c, (i, _) in enumerate(candidates):
        n = bisect_left(tails, i)
        if n == len(tails):
            tails.append(i)
            tail_at.append(c)
        else:
            tails[n] = i
            tail_at[n] = c
        previous.append(tail_at[n - 1] if n else -1)
    chain: list[tuple[int, int]] = []
    c = tail_at[-1] if tail_at else -1
    while c >= 0:
        chain.append(candidates[c])
        c = previous[c]
    chain.reverse()
    return chain


def _lcs(a: list[int], b: list[int], budget: int) -> list[tuple[int, int, int]] | None:
    """Runs (i, j, length) of a longest common subsequence (Myers 1986, greedy forward pass with a trace), or
    None once the work passes `budget`."""
    n, m = len(a), len(b)
    top = n + m
    offset = top + 1
    v = [0] * (2 * top + 3)  # v[offset + k]: furthest x reached on diagonal k = x - y
    trace: list[list[int]] = []
    work = 0
    for d in range(top + 1):
        # The state before step d, over diagonals -d-1 .. d+1: all the backtrack needs.
        trace.append(v[offset - d - 1 : offset + d + 2])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            work += 1 + x - start
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
        work += d
        if work > budget:
            return None
    raise AssertionError("unreachable: d = n + m always reaches the end")


def _backtrack(trace: list[list[int]], x: int, y: int) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        v, base = trace[d], d + 1
        k = x - y
        # Step d came down from diagonal k + 1 (an insertion) or right from k - 1 (a deletion).
        came_down = k == -d or (k != d and v[base + k - 1] < v[base + k + 1])
        prev_k = k + 1 if came_down else k - 1
        prev_x = v[base + prev_k]
        prev_y = prev_x - prev_k
        # The diagonal slide ("snake") that followed step d.
        length = min(x - prev_x, y - prev_y)
        if length > 0:
            runs.append((x - length, y - length, length))
        x, y = prev_x, prev_y
    runs.reverse()
    return runs


def _pair_gaps(a: list[JsonValue], b: list[JsonValue], anchors: list[tuple[int, int, int]]) -> list[Run]:
    """Identical anchor runs plus, between them, unmatched items paired off as edited in place."""
    runs: list[Run] = []
    i = j = 0
    for x, y, length in [*anchors, (len(a), len(b), 0)]:
        p, q = x - i, y - j
        if p and q:
            shift_a, shift_b = _best_offset(a, b, i, p, j, q)
            runs.append((i + shift_a, j + shift_b, min(p, q), False))
        if length:
            runs.append((x, y, length, True))
        i, j = x + length, y + length
    return runs


def _best_offset(a: list[JsonValue], b: list[JsonValue], i: int, p: int, j: int, q: int) -> tuple[int, int]:
    """Where the shorter unmatched run lines up best with the longer one (an insertion next to an edit
    pairs the edited items, not the inserted one)."""
    if p == q or max(p, q) > _PAIRING_WINDOW:
        return 0, 0
    short = min(p, q)
    best, best_score = 0, -1
    for shift in range(abs(p - q) + 1):
        if p > q:
            score = sum(_likeness(a[i + shift + t], b[j + t]) for t in range(short))
        else:
            score = sum(_likeness(a[i + t], b[j + shift + t]) for t in range(short))
        if score > best_score:
            best, best_score = shift, score
    return (best, 0) if p > q else (0, best)


def _likeness(a: JsonValue, b: JsonValue) -> int:
    if isinstance(a, dict) and isinstance(b, dict):
        return 1 + sum(1 for key, value in a.items() if key in b and b[key] == value)
    return 1 if type(a) is type(b) else 0


# --- for tree views --------------------------------------------------------------------------------


def changed_paths(changes: Iterable[Change]) -> frozenset[Path]:
    """The containers to auto-expand in a tree of the new document: every proper ancestor of a change
    (the root `()` included as soon as anything changed). Ancestors' indices are new indices."""
    out: set[Path] = set()
    for change in changes:
        path = change.path
        for n in range(len(path) - 1, -1, -1):
            prefix = path[:n]
            if prefix in out:
                break  # its ancestors are in already
            out.add(prefix)
    return frozenset(out)


def list_rows(changes: Iterable[Change], path: Path, old_len: int, new_len: int) -> list[ListRow]:
    """The array at `path` as one merged sequence: kept items in order, each removed item at its old
    place and each added item at its new place (removals first where both fall in one gap)."""
    depth = len(path)
    removed: set[int] = set()
    added: set[int] = set()
    edited: set[int] = set()
    for change in changes:
        p = change.path
        if len(p) <= depth or p[:depth] != path:
            continue
        index = p[depth]
        if not isinstance(index, int):
            continue
        if len(p) == depth + 1 and change.op == "remove":
            removed.add(index)
        elif len(p) == depth + 1 and change.op == "add":
            added.add(index)
        else:
            edited.add(index)
    rows: list[ListRow] = []
    i = j = 0
    while i < old_len or j < new_len:
        if i < old_len and i in removed:
            rows.append(ListRow("removed", i, None))
            i += 1
        elif j < new_len and j in added:
            rows.append(ListRow("added", None, j))
            j += 1
        elif i < old_len and j < new_len:
            rows.append(ListRow("changed" if j in edited else "same", i, j))
            i += 1
            j += 1
        else:
            raise ValueError(
                f"{show_path(path)}: the changes do not fit arrays of {old_len} and {new_len} items"
            )
    return rows


def show_path(path: Path) -> str:
    return "/" + "/".join(str(step) for step in path)
