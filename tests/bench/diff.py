"""Benchmark of console.diff against deepdiff on realistic context snapshot pairs.

Run: python tests/bench/diff.py

A snapshot is an agent context: a database schema (tables with columns and indexes), a document index
(documents with chunks), a conversation without ids, and settings. The "new" snapshot is parsed from its
own JSON text, as it would come off the wire (no object shared with the old one), and then edited: values
changed, columns inserted in the middle of tables, tables removed and inserted, messages appended and one
inserted in the middle, a document moved, the settings object replaced, a value changing type.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deepdiff import DeepDiff

from console.diff import diff
from console.diff_apply import apply
from console.jsonvalue import JsonObject, JsonValue, dumps, dumps_bytes, loads

VOCABULARY = (
    "agent context tool call result schema table column index document chunk vector query plan user "
    "order invoice customer product price stock region ship note event stream token model reply"
)
WORDS = VOCABULARY.split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def column(rng: random.Random, name: str) -> JsonObject:
    return {
        "name": name,
        "type": rng.choice(["integer", "text", "timestamp", "numeric(12,2)", "boolean", "jsonb"]),
        "nullable": rng.random() < 0.3,
        "default": rng.choice([None, "now()", "0", "''"]),
        "comment": sentence(rng, rng.randint(3, 12)),
        "stats": {"distinct": rng.randint(1, 100_000), "null_frac": round(rng.random(), 3)},
    }


def table(rng: random.Random, name: str) -> JsonObject:
    columns: list[JsonValue] = [column(rng, f"{name}_c{i}") for i in range(rng.randint(4, 14))]
    return {
        "name": name,
        "schema": "public",
        "row_count": rng.randint(0, 10_000_000),
        "description": sentence(rng, rng.randint(8, 30)),
        "columns": columns,
        "indexes": [
            {"name": f"{name}_idx{i}", "columns": [f"{name}_c{i}"], "unique": i == 0} for i in range(2)
        ],
    }


def document(rng: random.Random, n: int) -> JsonObject:
    return {
        "id": f"doc-{n}",
        "title": sentence(rng, 5),
        "tags": [rng.choice(WORDS) for _ in range(3)],
        "chunks": [
            {"offset": i * 512, "text": sentence(rng, 40), "score": round(rng.random(), 4)}
            for i in range(rng.randint(2, 6))
        ],
    }


def snapshot(rng: random.Random, scale: int) -> JsonObject:
    tables: list[JsonValue] = [table(rng, f"t{n}") for n in range(60 * scale)]
    documents: list[JsonValue] = [document(rng, n) for n in range(60 * scale)]
    messages: list[JsonValue] = [
        {"role": rng.choice(["user", "assistant", "tool"]), "content": sentence(rng, rng.randint(5, 60))}
        for _ in range(80 * scale)
    ]
    return {
        "agent": {"name": "analyst", "model": "m-large", "temperature": 0.2, "turn": 41},
        "settings": {"retrieval": {"k": 8, "rerank": True}, "limits": {"tokens": 128_000}},
        "schema": {"database": "shop", "tables": tables},
        "documents": documents,
        "messages": messages,
    }


def edited(rng: random.Random, old: JsonObject, scale: int) -> JsonObject:
    new = loads(dumps_bytes(old))
    assert isinstance(new, dict)
    agent, schema, documents, messages = new["agent"], new["schema"], new["documents"], new["messages"]
    assert isinstance(agent, dict) and isinstance(schema, dict)
    assert isinstance(documents, list) and isinstance(messages, list)
    tables = schema["tables"]
    assert isinstance(tables, list)
    agent["turn"] = 42
    agent["temperature"] = 1  # float -> int
    new["settings"] = {"retrieval": {"strategy": "hybrid", "k": [4, 8]}, "budget": None}
    for _ in range(10 * scale):
        t = rng.choice(tables)
        assert isinstance(t, dict) and isinstance(t["columns"], list)
        t["row_count"] = rng.randint(0, 10_000_000)
        t["columns"].insert(len(t["columns"]) // 2, column(rng, f"added_{rng.randrange(10**9)}"))
    for _ in range(2 * scale):
        del tables[rng.randrange(len(tables))]
        tables.insert(rng.randrange(len(tables)), table(rng, f"new{rng.randrange(10**9)}"))
    for _ in range(5 * scale):
        d = rng.choice(documents)
        assert isinstance(d, dict) and isinstance(d["chunks"], list)
        chunk = rng.choice(d["chunks"])
        assert isinstance(chunk, dict)
        chunk["text"] = sentence(rng, 40)
    documents.insert(3, documents.pop(len(documents) - 5))
    messages.insert(len(messages) // 2, {"role": "user", "content": "and the refunds?"})
    messages.extend({"role": "assistant", "content": sentence(rng, 50)} for _ in range(3))
    return new


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def deepdiff_count(report: DeepDiff) -> int:
    return sum(len(entries) for entries in report.values())


def bench(label: str, scale: int, deepdiff_runs: int) -> None:
    rng = random.Random(scale)
    old = snapshot(rng, scale)
    new = edited(rng, old, scale)
    changes = diff(old, new)
    assert dumps(apply(old, changes), sort_keys=True) == dumps(new, sort_keys=True)
    ours = best_of(7, lambda: diff(old, new))
    apply_time = best_of(7, lambda: apply(old, changes))
    same = loads(dumps_bytes(old))
    identical = best_of(7, lambda: diff(old, same))
    start = time.perf_counter()
    report = DeepDiff(old, new)
    theirs = time.perf_counter() - start
    if deepdiff_runs > 1:
        theirs = min(theirs, best_of(deepdiff_runs - 1, lambda: DeepDiff(old, new)))
    print(
        f"{label}: old {len(dumps_bytes(old)) / 1e3:.0f} KB, new {len(dumps_bytes(new)) / 1e3:.0f} KB\n"
        f"  diff          {ours * 1e3:8.1f} ms  ({len(changes)} changes, best of 7)\n"
        f"  apply         {apply_time * 1e3:8.1f} ms  (best of 7)\n"
        f"  diff (equal)  {identical * 1e3:8.1f} ms  (identical content, separate objects, best of 7)\n"
        f"  DeepDiff      {theirs * 1e3:8.1f} ms  ({deepdiff_count(report)} entries, "
        f"{'best of ' + str(deepdiff_runs) if deepdiff_runs > 1 else '1 run'})\n"
        f"  ratio         {theirs / ours:8.0f}x"
    )


def hard_arrays() -> None:
    """Arrays of 5000 objects: the cases where alignment does real work or gives up."""
    rng = random.Random(0)
    plain: list[JsonValue] = [{"role": "user", "content": sentence(rng, 8)} for _ in range(5000)]
    scattered = list(plain)
    for n in range(50):
        scattered.insert(rng.randrange(len(scattered)), {"role": "tool", "content": str(n)})
        del scattered[rng.randrange(len(scattered))]
    shuffled = list(plain)
    rng.shuffle(shuffled)
    rewritten: list[JsonValue] = [{"role": "user", "content": sentence(rng, 8)} for _ in range(5000)]
    keyed: list[JsonValue] = [{"id": f"m{n}", "content": sentence(rng, 8)} for n in range(5000)]
    keyed_shuffled = list(keyed)
    rng.shuffle(keyed_shuffled)
    print("5000-item arrays (diff only, best of 5):")
    for label, old, new in [
        ("50 scattered inserts + 50 removes, no ids", plain, scattered),
        ("shuffled, no ids (alignment gives up)", plain, shuffled),
        ("every item rewritten, no ids", plain, rewritten),
        ("shuffled, with ids", keyed, keyed_shuffled),
    ]:
        changes = diff(old, new)
        assert apply(old, changes) == new
        elapsed = best_of(5, partial(diff, old, new))
        print(f"  {label:45} {elapsed * 1e3:7.1f} ms  ({len(changes)} changes)")


if __name__ == "__main__":
    bench("600 KB pair", 3, deepdiff_runs=3)
    bench("5 MB pair", 24, deepdiff_runs=1)
    hard_arrays()
