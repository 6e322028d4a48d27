"""A large context step lives in the worker process: it answers every request of the inspector as
the same step held on the loop would, and survives the worker letting go of it or dying."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from console import events as ev
from console import jsonvalue, offload
from console.json_rows import Address
from console.jsonvalue import JsonObject, JsonValue
from console.offload_steps import RemoteStep, _forget
from console.session import ContextEntry, Conversation
from console.step_view import LocalStep, StepView
from console.ui import inspector_steps
from console.ui.inspector_steps import StepCache


def document(n: int, title: str) -> JsonObject:
    return {"id": f"doc-{n}", "title": title, "tags": ["a", "b"], "body": "text " * 20}


OLD: JsonObject = {"corpus": "docs", "documents": [document(n, f"doc {n}") for n in range(400)]}
# Every other title changed (200+ changes: past the outline's list), two removed, one inserted.
NEW_DOCS: list[JsonValue] = [document(n, f"doc {n}" if n % 2 else f"new {n}") for n in range(400)]
del NEW_DOCS[7], NEW_DOCS[300]
NEW_DOCS.insert(3, document(999, "inserted"))
NEW: JsonObject = {"corpus": "docs", "documents": NEW_DOCS, "added": {"k": [1, 2, 3]}}


def history() -> list[ContextEntry]:
    conversation = Conversation()
    for seq, data in enumerate((OLD, NEW), start=1):
        event = ev.ContextSnapshot("ctx", data, len(jsonvalue.dumps_bytes(data)))
        conversation.apply(event, time.monotonic(), seq)
    return conversation.contexts["ctx"]


async def answers(step: StepView) -> list[object]:
    """Everything the inspector may ask of a step."""
    docs = Address(("documents",))
    return [
        step.outline,
        await step.initial_levels([Address(("added",))]),
        await step.level(docs, 150, 60),
        await step.level(Address(("documents",), (7,)), 0, 10),  # inside a removed item
        await step.level(Address(("nowhere",)), 0, 10),
        await step.reveal(Address(("documents", 250, "title"))),
        await step.text_of(Address(("documents", 3))),
        await step.summary(0),
        await step.summary(250),  # beyond the outline's list: asked of the step
        await step.summary(10_000),
        await step.search("new 39"),
    ]


async def test_a_step_in_the_worker_answers_as_the_step_on_the_loop_would() -> None:
    previous, entry = history()
    local = LocalStep(inspector_steps._step(previous, entry))
    remote = await RemoteStep.open(previous, entry)
    expected = await answers(local)
    assert remote.outline.changes > 200 and remote.outline.removed == 2
    assert await answers(remote) == expected
    first = await RemoteStep.open(None, previous)
    assert (
        not first.outline.has_previous
        and await first.initial_levels()
        == await LocalStep(inspector_steps._step(None, previous)).initial_levels()
    )


async def test_a_step_the_worker_let_go_or_lost_with_a_crash_is_opened_again() -> None:
    previous, entry = history()
    remote = await RemoteStep.open(previous, entry)
    expected = await remote.level(Address(("documents",)), 0, 20)
    await offload.run(_forget, remote.key)
    assert await remote.level(Address(("documents",)), 0, 20) == expected
    pool = offload._pool
    assert pool is not None
    (pid,) = pool._processes
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid in pool._processes and not pool._broken and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # until the pool has seen its worker die
    assert await remote.level(Address(("documents",)), 0, 20) == expected
    assert offload._pool is not None and pid not in offload._pool._processes


async def test_large_steps_go_to_the_worker_and_to_a_thread_when_it_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inspector_steps, "LARGE", 1000)
    entries = history()
    remote = await StepCache().get("ctx", 1, entries)
    assert isinstance(remote, RemoteStep)
    monkeypatch.setattr(offload, "ENABLED", False)
    threaded = await StepCache().get("ctx", 1, entries)
    assert isinstance(threaded, LocalStep) and threaded.large
    expected = await answers(threaded)
    monkeypatch.setattr(offload, "ENABLED", True)
    assert await answers(remote) == expected
    monkeypatch.setattr(inspector_steps, "LARGE", 1 << 40)
    small = await StepCache().get("ctx", 1, entries)
    assert isinstance(small, LocalStep) and not small.large
