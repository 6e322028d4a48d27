"""Work on large frames in a worker process, so the event loop never waits for it.

A worker thread does not help with CPU work in Python: the thread holds the interpreter lock while it
parses (orjson releases it at no point), and the loop waits as long as it would have worked itself
(a 5 MB snapshot: 60-80 ms either way). A process has its own interpreter. What crosses the pipe is
bytes (copied, not walked), so the loop's share is a copy and a few function calls.

A 5 MB context snapshot is decoded here, checked (size, nesting) and its data encoded again as the
JSON bytes the model keeps (`ContextEntry.encoded`), all in the worker: the session gets the bytes
back as an already-encoded value (`jsonvalue.encoded`) and never holds the parsed copy. Any other
large frame (a megabyte of tool arguments) is the caller's to decode: its parsed value would cost as
much to unpickle on the loop as to parse there.

A large context *step* (two snapshots and their diff) lives in the worker too (`console.offload_steps`):
the view asks it for rows, a level at a time, and the loop never holds the parsed documents.

One worker, started on first use and kept; if it cannot start or dies, callers fall back to a thread.
The worker ends with the console: a killed console cannot shut its pool down, and a pool's worker
waits on its queue forever, so the worker watches its parent and exits when it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from console import events as ev
from console import jsonvalue
from console.dialects.agent import protocol as proto

log = logging.getLogger(__name__)

R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None
ENABLED = True  # False: every large frame is decoded in a thread, as before the worker (benchmarks compare)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # Spawned, not forked: the console's process has threads (a fork would copy their locks held).
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
    return _pool


class Unavailable(RuntimeError):
    """No worker process can run the call: turned off, it could not start, or it died."""


async def run(fn: Callable[..., R], *args: object) -> R:
    """`fn(*args)` in the worker process (a module-level function; arguments and result pickled).
    Raises `Unavailable` when no worker can run it, and whatever `fn` raised in the worker."""
    global _pool
    if not ENABLED:
        raise Unavailable("the worker process is turned off")
    try:
        future = _executor().submit(fn, *args)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:  # broken, shut down, or no process
        _pool = None
        raise Unavailable(str(exc)) from exc
    try:
        return await asyncio.wrap_future(future)
    except BrokenProcessPool as exc:  # the worker died on this call or another
        _pool = None
        raise Unavailable(str(exc)) from exc


def submit_quietly(fn: Callable[..., object], *args: object) -> None:
    """`fn(*args)` in the worker if one runs, without waiting for it: a chore such as letting go of
    a step nobody shows (safe from a finalizer: it never starts a worker, never raises)."""
    pool = _pool
    if pool is None or not ENABLED:
        return
    with contextlib.suppress(BrokenProcessPool, OSError, RuntimeError):  # broken or shut down: nothing held
        pool.submit(fn, *args)


def _watch_parent(parent: int) -> None:
    """In the worker: exit once the console that started it is gone (re-parented: SIGKILL, a crash)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _decode_snapshot(raw: str | bytes, max_size: int) -> tuple[str, int, str, bytes, int, int] | None:
    """In the worker: (kind, seq, context_id, data as JSON bytes, size, fingerprint) of a snapshot
    frame, else None. The fingerprint (duplicates: same bytes) is a digest of the text, the same in
    any process, so a copy of the frame matches it whichever worker decodes it."""
    frame = proto.decode(raw, max_size=max_size)
    event = frame.event
    if type(event) is not ev.ContextSnapshot or frame.seq is None:
        return None
    text = raw.encode() if isinstance(raw, str) else raw
    fingerprint = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)
    data = jsonvalue.dumps_bytes(event.data)
    return frame.kind, frame.seq, event.context_id, data, event.size, fingerprint


async def decode_snapshot(raw: str | bytes, max_size: int) -> proto.Frame | None:
    """The frame decoded in the worker if it is a valid CONTEXT_SNAPSHOT (its data kept encoded);
    None for any other frame, or when no worker can run."""
    if not ENABLED:
        return None
    try:
        decoded = await run(_decode_snapshot, raw, max_size)
    except (OSError, RuntimeError) as exc:  # Unavailable, or trouble in the worker: the thread will say
        log.warning("the worker process for large frames failed (%s): decoding in a thread", exc)
        return None
    if decoded is None:
        return None
    kind, seq, context_id, data, size, fingerprint = decoded
    return proto.Frame(
        kind, seq, ev.ContextSnapshot(context_id, jsonvalue.encoded(data), size), fingerprint, size
    )
