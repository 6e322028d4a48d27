"""A read-only console on another console's Redis journal: the same sessions, live (`--follow`).

The follower connects to no agent. It reads the index, replays each session's stream through the
reducer (as a restart would), then tails every stream with one blocking XREAD and feeds each new
record to its conversation: what the owner's conversation took in, this one takes in, in the same
order, a batch at a time (the owner commits every 50 ms). Sessions the owner opens or removes come and
go through the index stream. Nothing here writes to Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Final

import redis.asyncio as aioredis
from redis import RedisError

from console import readback
from console.clients import Target, TargetError, parse_target
from console.connection import ConnectionState, LinkStatus
from console.readonly_client import ReadOnlyClient
from console.session import Conversation
from console.store.history import Reader
from console.store.records import Damaged, FormatError, decode
from console.store.redis_streams import PREFIX, RedisReader, info_from, record_from, stream_key
from console.store.restore import Resumption, feed_all
from console.supervisor import Supervisor

log = logging.getLogger(__name__)

BLOCK_MS: Final = 1000
RETRY_AFTER: Final = 1.0  # seconds before reading again after Redis failed


class FollowError(RuntimeError):
    pass


class FollowedClient(ReadOnlyClient):
    """A session of another console, shown as it goes: nothing can be sent from here."""

    def __init__(self, session_id: str, url: str) -> None:
        refusal = "this console follows another one read-only: send from the console that owns it"
        super().__init__(url, f"follow {session_id}", Conversation(), refusal)
        self.session_id = session_id
        self.last_id = b"0-0"  # the stream entry fed last
        self.found = Resumption()  # what the replay holds between reads (rows waiting for a token's frame)
        self.conversation.history_kept = True  # what its memory window lets go is in Redis


class Follower:
    def __init__(self, url: str, supervisor: Supervisor) -> None:
        self.url = url
        self.supervisor = supervisor
        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=5)
        self._clients: dict[str, FollowedClient] = {}
        self._index_id = b"0-0"
        self._task: asyncio.Task[None] | None = None
        self._reader = RedisReader(url)  # older history, read back in worker threads (console.readback)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Reader]:
        yield self._reader

    async def start(self) -> None:
        try:
            last = await self._redis.xrevrange(f"{PREFIX}index", "+", "-", count=1)
            self._index_id = last[0][0] if last else b"0-0"
            index = await self._redis.hgetall(f"{PREFIX}sessions")
        except (RedisError, OSError) as exc:
            raise FollowError(f"cannot follow {self.url}: {exc}") from None
        for info in sorted((info_from(v) for v in index.values()), key=lambda s: s.created):
            await self._open(info.id, info.name, f"{info.dialect}={info.url}")
        self._task = asyncio.get_running_loop().create_task(self._tail(), name="follow redis")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
        self._reader.close()

    async def _open(self, session_id: str, name: str, upstream: str) -> None:
        if session_id in self._clients:
            return
        client = FollowedClient(session_id, upstream)
        client.conversation.set_link(LinkStatus(ConnectionState.OPEN, detail=f"following {self.url}"))
        self._clients[session_id] = client
        readback.attach(client.conversation, readback.StoredHistory(self._reading, session_id))
        await self._catch_up(client)
        try:
            target = parse_target(upstream)
        except TargetError:
            target = Target("agent", upstream)  # shown only: a follower never connects to it
        self.supervisor.add(target, name=name, client=client, session_id=session_id)

    async def _catch_up(self, client: FollowedClient) -> None:
        """Everything the stream holds so far, a chunk at a time."""
        while True:
            chunk = await self._redis.xrange(
                stream_key(client.session_id), f"({client.last_id.decode()}", "+", count=2000
            )
            if not chunk:
                return
            self._feed(client, chunk)
            await asyncio.sleep(0)

    def _feed(self, client: FollowedClient, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        found = client.found
        for entry_id, fields in entries:
            client.last_id = entry_id
            try:
                record = record_from(fields)
                feed_all(client.conversation, decode(record.data, record.crc), found)
            except (Damaged, FormatError, KeyError, ValueError) as exc:
                client.conversation.notice("error", f"a journal record could not be read: {exc}")

    async def _tail(self) -> None:
        while True:
            streams: dict[str, bytes] = {f"{PREFIX}index": self._index_id}
            streams.update({stream_key(sid): c.last_id for sid, c in self._clients.items()})
            try:
                found = await self._redis.xread(streams, count=2000, block=BLOCK_MS)
            except (RedisError, OSError) as exc:
                log.warning("reading %s failed (%s); again in %.0f s", self.url, exc, RETRY_AFTER)
                await asyncio.sleep(RETRY_AFTER)
                continue
            for key, entries in found or []:
                await self._take(key.decode(), entries)

    async def _take(self, key: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        if key != f"{PREFIX}index":
            client = self._clients.get(key.removeprefix(f"{PREFIX}s:"))
            if client is not None:
                self._feed(client, entries)
            return
        for entry_id, fields in entries:
            self._index_id = entry_id
            session_id = fields[b"id"].decode()
            if fields[b"op"] == b"remove":
                if self._clients.pop(session_id, None) is not None:
                    await self.supervisor.remove(session_id)
                continue
            raw = await self._redis.hget(f"{PREFIX}sessions", session_id)
            if raw is not None:
                info = info_from(raw)
                await self._open(info.id, info.name, f"{info.dialect}={info.url}")
