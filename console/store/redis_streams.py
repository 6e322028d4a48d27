"""The journal on Redis Streams: one stream per session, a small index, and an owner's lease.

Keys (under `agent-console:` in the database the URL names):

    format            the journal format version
    sessions          hash: session id -> its `SessionInfo` as JSON        (the index)
    index             stream of index changes {op: add|remove, id}: followers learn of sessions here
    s:<id>            stream: the session's records, fields {n, k (kind), c (crc), d (bytes)}
    owner             the writing console's lease (SET NX PX), renewed while it runs

One console owns the journal and writes it (the writer thread, with the blocking client); any number
of followers read it (`console.store.follow`, with the asyncio client). A batch is one MULTI/EXEC
transaction: a follower never sees half of it. The lease expires `LEASE_MS` after its owner stops
renewing it (killed, or its machine gone): a console that finds the lease held waits that long, then
takes the journal over, which is the failover of one owner by the next.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Final

import redis

from console import jsonvalue
from console.store.backend import (
    KIND_TRACE,
    Batch,
    Page,
    SessionInfo,
    StoredRecord,
    StoreError,
    oldest_to_drop,
)
from console.store.records import FORMAT_VERSION

PREFIX: Final = "agent-console:"
LEASE_MS: Final = 10_000
RENEW_EVERY: Final = 2.0  # seconds between lease renewals (five before it would lapse)
READ_CHUNK: Final = 2000


def stream_key(session_id: str) -> str:
    return f"{PREFIX}s:{session_id}"


def info_json(info: SessionInfo) -> str:
    return jsonvalue.dumps(
        {
            "id": info.id,
            "name": info.name,
            "dialect": info.dialect,
            "url": info.url,
            "embedded": info.embedded,
            "created": info.created,
        }
    )


def info_from(data: bytes) -> SessionInfo:
    value = jsonvalue.loads(data)
    if not isinstance(value, dict):
        raise StoreError("a session in the Redis index is not an object")
    id_, name, dialect, url = value.get("id"), value.get("name"), value.get("dialect"), value.get("url")
    created = value.get("created")
    if not (
        isinstance(id_, str) and isinstance(name, str) and isinstance(dialect, str) and isinstance(url, str)
    ):
        raise StoreError("a session in the Redis index lacks its id, name or target")
    when = float(created) if isinstance(created, int | float) else 0.0
    return SessionInfo(id_, name, dialect, url, value.get("embedded") is True, when)


def record_from(fields: dict[bytes, bytes]) -> StoredRecord:
    return StoredRecord(
        int(fields[b"n"]), int(fields[b"k"]), int(fields[b"c"]), fields[b"d"], int(fields[b"m"])
    )


def connect(url: str) -> redis.Redis:
    try:
        client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise StoreError(f"cannot reach Redis at {url}: {exc}") from None
    return client


def _died_here(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RedisReader:
    """Reads a journal in Redis and writes nothing (a follower's reads of history it no longer holds)."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page:
        return page_of(self._redis, session_id, kinds, before, limit)

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page:
        return page_after(self._redis, session_id, kinds, after, limit)

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]:
        start = "-"
        while True:
            chunk = self._redis.xrange(stream_key(session_id), start, "+", count=READ_CHUNK)
            if not isinstance(chunk, list) or not chunk:
                return
            for _, fields in chunk:
                record = record_from(fields)
                if record.n > after:
                    yield record
            start = "(" + chunk[-1][0].decode()
            if len(chunk) < READ_CHUNK:
                return

    def close(self) -> None:
        self._redis.close()


class RedisBackend:
    def __init__(self, url: str, *, lease_ms: int = LEASE_MS) -> None:
        self.url = url
        self._redis = connect(url)
        self._lease_ms = lease_ms
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewed = 0.0
        self._check_version()
        self._take_lease()

    @property
    def where(self) -> str:
        return self.url

    def _check_version(self) -> None:
        stored = self._redis.get(f"{PREFIX}format")
        if stored is None:
            self._redis.set(f"{PREFIX}format", str(FORMAT_VERSION), nx=True)
            return
        version = int(stored) if isinstance(stored, bytes) else 0
        if version > FORMAT_VERSION:
            raise StoreError(
                f"{self.url} holds a journal of a newer console (format {version}; this one reads up to "
                f"{FORMAT_VERSION})"
            )
        if version < FORMAT_VERSION:  # read as it is; what is appended from now on is of this version
            self._redis.set(f"{PREFIX}format", str(FORMAT_VERSION))

    def _take_lease(self) -> None:
        """Own the journal; a lease held by another console is waited out (it lapses if that one died)."""
        deadline = time.monotonic() + self._lease_ms / 1000 + 1
        key = f"{PREFIX}owner"
        while not self._redis.set(key, self._owner, nx=True, px=self._lease_ms):
            holder = self._redis.get(key)
            if isinstance(holder, bytes) and _died_here(holder.decode()):
                # Its owner was a process of this machine that is gone (killed): no need to wait.
                self._redis.delete(key)
                continue
            if time.monotonic() > deadline:
                who = holder.decode() if isinstance(holder, bytes) else "another console"
                raise StoreError(f"{self.url} is in use by another console ({who})")
            time.sleep(0.2)
        self._renewed = time.monotonic()

    def _renew(self, pipe: redis.client.Pipeline) -> None:
        if time.monotonic() - self._renewed >= RENEW_EVERY:
            pipe.set(f"{PREFIX}owner", self._owner, px=self._lease_ms)
            self._renewed = time.monotonic()

    def write(self, batch: Batch) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for info in batch.sessions:
            pipe.hset(f"{PREFIX}sessions", info.id, info_json(info))
            pipe.xadd(f"{PREFIX}index", {"op": "add", "id": info.id})
        for session_id, n, kind, crc, data, count in batch.records:
            pipe.xadd(stream_key(session_id), {"n": n, "k": kind, "c": crc, "d": data, "m": count})
        for session_id in batch.removed:
            pipe.delete(stream_key(session_id))
            pipe.hdel(f"{PREFIX}sessions", session_id)
            pipe.xadd(f"{PREFIX}index", {"op": "remove", "id": session_id})
        self._renew(pipe)
        pipe.execute()
        for session_id, kind, keep in batch.compact:
            self._compact(session_id, kind, keep)

    def renew(self) -> None:
        """Keep the lease while nothing is written."""
        pipe = self._redis.pipeline(transaction=False)
        self._renew(pipe)
        pipe.execute()

    def _compact(self, session_id: str, kind: int, keep: int) -> None:
        """Let go of the chunks of `kind` older than the newest `keep` rows or bytes (the rest stay)."""
        chunks = [
            (entry_id, int(fields[b"n"]), int(fields[b"m"]) if kind == KIND_TRACE else len(fields[b"d"]))
            for entry_id, fields in self._entries(session_id)
            if int(fields[b"k"]) == kind
        ]
        cut = oldest_to_drop([(n, amount) for _, n, amount in reversed(chunks)], keep)
        if cut is None:
            return
        old = [entry_id for entry_id, n, _ in chunks if n <= cut]
        for start in range(0, len(old), 1000):
            self._redis.xdel(stream_key(session_id), *old[start : start + 1000])

    def _entries(self, session_id: str) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
        start = "-"
        while True:
            chunk = self._redis.xrange(stream_key(session_id), start, "+", count=READ_CHUNK)
            if not isinstance(chunk, list) or not chunk:
                return
            yield from chunk
            start = "(" + chunk[-1][0].decode()
            if len(chunk) < READ_CHUNK:
                return

    def sessions(self) -> list[SessionInfo]:
        index = self._redis.hgetall(f"{PREFIX}sessions")
        if not isinstance(index, dict):
            return []
        return sorted((info_from(v) for v in index.values()), key=lambda s: s.created)

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]:
        for _, fields in self._entries(session_id):
            record = record_from(fields)
            if record.n > after:
                yield record

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page:
        """Chunks of `kinds` before the stream entry `before`, newest first (XREVRANGE). Entries of other
        kinds are read and passed over: a stream has no index by kind; the bookmark is the last entry
        read, so the next page does not read them again."""
        return page_of(self._redis, session_id, kinds, before, limit)

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page:
        """Chunks of `kinds` after the stream entry `after`, oldest first (XRANGE)."""
        return page_after(self._redis, session_id, kinds, after, limit)

    def expire(self, before: float) -> list[str]:
        gone: list[str] = []
        for info in self.sessions():
            last = self._redis.xrevrange(stream_key(info.id), "+", "-", count=1)
            # A stream id begins with the ms of its entry: when the session was last written.
            written = (
                int(last[0][0].split(b"-")[0]) / 1000 if isinstance(last, list) and last else info.created
            )
            if written < before:
                gone.append(info.id)
        if gone:
            self.write(Batch(removed=gone, at=time.time()))
        return gone

    def close(self) -> None:
        try:
            # Hand the journal on at once: the next owner need not wait for the lease to lapse.
            if self._redis.get(f"{PREFIX}owner") == self._owner.encode():
                self._redis.delete(f"{PREFIX}owner")
        except redis.RedisError:
            pass
        self._redis.close()


def page_of(
    client: redis.Redis, session_id: str, kinds: frozenset[int], before: str | None, limit: int
) -> Page:
    """A page of a session's stream (`RedisBackend.page`), with any client: a follower reads this way too."""
    return _walk(client, session_id, kinds, before, limit, newest_first=True)


def page_after(
    client: redis.Redis, session_id: str, kinds: frozenset[int], after: str | None, limit: int
) -> Page:
    """Chunks of `kinds` after the entry `after`, oldest first (`Backend.page_after`), with any client."""
    return _walk(client, session_id, kinds, after, limit, newest_first=False)


def _walk(
    client: redis.Redis,
    session_id: str,
    kinds: frozenset[int],
    past: str | None,
    limit: int,
    *,
    newest_first: bool,
) -> Page:
    """Up to `limit` entries of `kinds` beyond the entry `past` (None: from the end the walk starts
    at); the page's bookmark is the last entry read, to go on from."""
    out: list[StoredRecord] = []
    bound = ("+" if newest_first else "-") if past is None else f"({past}"
    count = min(READ_CHUNK, max(limit, 16))
    while len(out) < limit:
        if newest_first:
            chunk = client.xrevrange(stream_key(session_id), bound, "-", count=count)
        else:
            chunk = client.xrange(stream_key(session_id), bound, "+", count=count)
        if not isinstance(chunk, list) or not chunk:
            return Page(tuple(out), None)
        for entry_id, fields in chunk:
            bound = f"({entry_id.decode()}"
            if int(fields[b"k"]) in kinds:
                out.append(replace(record_from(fields), bookmark=entry_id.decode()))
                if len(out) == limit:
                    return Page(tuple(out), bound[1:])
        if len(chunk) < count:
            return Page(tuple(out), None)
    return Page(tuple(out), bound[1:])
