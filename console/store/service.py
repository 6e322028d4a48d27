"""The console's store: open it, restore the sessions it holds, and journal every session from then on.

Restore, per journaled session, in the order they were opened: read its records off the event loop,
keep the good prefix (a record whose checksum fails, or a file that ends early, stops the read), replay
it through the conversation's own reducer, then reconnect as the dialect allows:

* agent: the first connection sends RESUME with the last seq applied before the stop, so the server
  replays what the console had not journaled, and the reply in flight goes on;
* SSE: the stream is fetched from its start again (its conversation is reset first: no duplicates);
* chat: a reply in flight is marked interrupted, with Retry.

Sessions whose upstream was a simulator of the console's own process are not restored: that upstream
died with the process, and the console opens fresh ones. A damaged journal is set aside (renamed with
`.damaged-<time>`), the good prefixes are written to a fresh one, and each session says what was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from console import readback
from console.clients import SessionClient, Target, TargetError, make_client, parse_target
from console.dialects.agent.client import AgentClient
from console.dialects.sse.client import SSEClient
from console.limits import Limits
from console.session import Change, Conversation, MessageAdded
from console.sessions import SessionEntry, SessionEvent, SessionRemoved
from console.store.backend import Backend, Batch, SessionInfo, StoredRecord
from console.store.history import Reader
from console.store.journal import Journal, RetentionPolicy
from console.store.packing import checksum
from console.store.restore import Resumption, replay
from console.store.sqlite import JournalDamaged, SQLiteBackend, SQLiteReader
from console.supervisor import Supervisor
from console.window import EVERYTHING

log = logging.getLogger(__name__)

IsEmbedded = Callable[[Target], bool]


@dataclass(slots=True)
class _Read:
    info: SessionInfo
    records: list[StoredRecord]
    damage: str


def open_backend(spec: str) -> Backend:
    """A path (SQLite) or `redis://HOST:PORT/N`."""
    if spec.startswith(("redis://", "rediss://")):
        from console.store.redis_streams import RedisBackend

        return RedisBackend(spec)
    return SQLiteBackend(Path(spec).expanduser())


def _read_all(backend: Backend | SQLiteReader) -> list[_Read]:
    """Every session's good prefix (runs in a thread: it is all I/O and checksums)."""
    out: list[_Read] = []
    for info in backend.sessions():
        records: list[StoredRecord] = []
        damage = ""
        try:
            for record in backend.records(info.id):
                if checksum(record.data) != record.crc:
                    damage = f"record {record.n} is damaged (checksum mismatch)"
                    break
                records.append(record)
        except Exception as exc:
            damage = f"the journal ends early after {len(records)} records: {exc}"
        out.append(_Read(info, records, damage))
    return out


def _salvage(path: Path) -> list[_Read]:
    """What still reads of a journal file cut short, each session up to its first missing page."""
    copy = path.with_name(path.name + ".salvage")
    shutil.copyfile(path, copy)
    with copy.open("r+b") as f:
        # The header's page count is trusted only while bytes 92-95 equal its change counter (24-27);
        # made to differ, SQLite sizes the database by the file, and reads up to where it was cut.
        f.seek(24)
        counter = f.read(4)
        f.seek(92)
        f.write(bytes(b ^ 0xFF for b in counter))
    reader = SQLiteReader(copy)
    try:
        return _read_all(reader)
    except Exception as exc:  # not even the list of sessions reads
        log.error("nothing could be salvaged from %s: %s", path, exc)
        return []
    finally:
        reader.close()
        copy.unlink()


def _set_aside(path: Path) -> None:
    """Keep a damaged journal beside the new one (`.damaged-<time>`), for whoever wants to look."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        old = path.with_name(path.name + suffix)
        if old.exists():
            old.rename(path.with_name(f"{path.name}.damaged-{stamp}{suffix}"))


class Store:
    def __init__(
        self, backend: Backend, *, flush_interval: float = 0.05, retention: RetentionPolicy | None = None
    ) -> None:
        self.backend = backend
        self.journal = Journal(backend, flush_interval=flush_interval, retention=retention)
        self.restored: list[str] = []
        self.problems: list[str] = []  # damage found on the way in, in words
        self._info: dict[str, SessionInfo] = {}
        self._next_n: dict[str, int] = {}  # where a restored session's journal goes on
        self._is_embedded: IsEmbedded = lambda _target: False
        self._salvaged: list[_Read] | None = None  # read from a damaged file when it was opened
        self._file_problem = ""  # what was wrong with the whole journal, told in every session

    @classmethod
    def open(cls, spec: str, retention: RetentionPolicy | None = None) -> Store:
        try:
            store = cls(open_backend(spec), retention=retention)
            if isinstance(store.backend, SQLiteBackend) and store.backend.torn:
                store.problems.append(f"the journal {store.backend.where}: {store.backend.torn}")
                log.error("%s", store.problems[-1])
            return store
        except JournalDamaged as exc:
            # Not a database any more (cut short): salvage what reads, keep the file aside, start anew.
            path = Path(spec).expanduser()
            reads = _salvage(path)
            _set_aside(path)
            store = cls(SQLiteBackend(path), retention=retention)
            store._salvaged = reads
            store._keep(f"{exc}; the good part of each session was kept", reads)
            return store

    # -- start ------------------------------------------------------------------------------------

    async def restore(self, supervisor: Supervisor, is_embedded: IsEmbedded) -> list[str]:
        """Reopen every journaled session in the supervisor; returns their ids. Then journals them all."""
        self._is_embedded = is_embedded
        retention = self.journal.retention
        await asyncio.to_thread(self.backend.expire, time.time() - retention.max_age)
        reads = self._salvaged
        if reads is None:
            reads = await asyncio.to_thread(_read_all, self.backend)
            if any(r.damage for r in reads) and isinstance(self.backend, SQLiteBackend):
                path = self.backend.path
                self.backend.close()
                _set_aside(path)
                self.backend = self.journal.backend = SQLiteBackend(path)
                self._keep("the journal was damaged; the good part of each session was kept", reads)
        self._file_problem = self.problems[0] if self.problems else ""
        dropped = [r.info.id for r in reads if r.info.embedded]
        if dropped:
            # Their upstream was this process's simulator, gone with it.
            self.backend.write(Batch(removed=dropped, at=time.time()))
        supervisor.subscribe(self._on_session)
        self.journal.start()
        for read in reads:
            if not read.info.embedded:
                self._reopen(supervisor, read)
                await asyncio.sleep(0)  # one session at a time: the loop serves pages in between
        for session_id in supervisor.ids:
            if session_id not in self._info:
                self._attach_entry(supervisor, session_id)
        return self.restored

    def _reopen(self, supervisor: Supervisor, read: _Read) -> None:
        info = read.info
        try:
            target = parse_target(f"{info.dialect}={info.url}")
            client = make_client(target)
        except TargetError as exc:
            self.problems.append(f"session {info.id} cannot be reopened: {exc}")
            return
        found = replay(client.conversation, read.records)
        damage = read.damage or found.damage
        self._info[info.id] = info
        self._next_n[info.id] = found.last_n + 1
        # Added (and journaled from here on) before its client runs: what the restart does is on record.
        supervisor.add(target, name=info.name, client=client, session_id=info.id)
        self._resume(client, found)
        if damage:
            client.conversation.notice("error", f"the journal of this session was damaged: {damage}")
            self.problems.append(f"{info.id}: {damage}")
        if self._file_problem:
            client.conversation.notice("warning", f"restored from a damaged journal: {self._file_problem}")
        self.restored.append(info.id)

    def _resume(self, client: SessionClient, found: Resumption) -> None:
        now = time.monotonic()
        conversation = client.conversation
        summary = f"console restarted: {found.records} journal records replayed"
        if isinstance(client, AgentClient):
            reply_open = conversation.replying  # a prompt went out; queued ones go after the restart
            client.engine.restored(found.last_seq, found.new_epoch, reply_open, now)
            resume_at = 0 if found.new_epoch else found.last_seq
            conversation.record(now, "client", "RESTORED", f"{summary}; resuming after seq {resume_at}")
        elif isinstance(client, SSEClient):
            conversation.record(now, "client", "RESTORED", f"{summary}; the stream is fetched again")
            client.engine.replay(now)
        else:
            conversation.record(now, "client", "RESTORED", summary)
            if conversation.awaiting_reply:
                conversation.mark_interrupted("the console restarted during this reply", now)

    def _keep(self, problem: str, reads: list[_Read]) -> None:
        """Write the good parts into the (new) journal; the problem is told in the log and sessions."""
        self.problems.append(problem)
        log.error("%s (%s)", problem, self.backend.where)
        good = Batch(sessions=[r.info for r in reads], at=time.time())
        good.records = [
            (r.info.id, rec.n, rec.kind, rec.crc, rec.data, rec.count) for r in reads for rec in r.records
        ]
        self.backend.write(good)

    # -- while running ----------------------------------------------------------------------------

    async def history(self, session_id: str) -> Conversation | None:
        """The whole of a session as its journal holds it (what the memory window let go included),
        rebuilt off the event loop; None for a session the journal does not have."""
        if session_id not in self._info:
            return None
        return await asyncio.to_thread(self._read_back, session_id)

    def _read_back(self, session_id: str) -> Conversation:
        conversation = Conversation(limits=Limits(window=EVERYTHING))
        with self.reading() as reader:
            replay(conversation, reader.records(session_id))
        return conversation

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reader]:
        """A reader of the journal for a worker thread: a SQLite file gets a connection of its own (the
        writer thread keeps using the other one meanwhile); a Redis client is shared by threads."""
        backend = self.backend
        if not isinstance(backend, SQLiteBackend):
            yield backend
            return
        reader = SQLiteReader(backend.path)
        try:
            yield reader
        finally:
            reader.close()

    def _attach(self, entry: SessionEntry) -> None:
        info = self._info.get(entry.id)
        new = info is None
        if info is None:
            target = entry.target
            info = SessionInfo(
                entry.id, entry.name, target.dialect, target.url, self._is_embedded(target), time.time()
            )
            self._info[entry.id] = info
        conversation = entry.client.conversation
        self.journal.attach(info, conversation, self._next_n.pop(entry.id, 0), new=new)
        readback.attach(conversation, readback.StoredHistory(self.reading, entry.id))
        conversation.subscribe(self._on_change, deltas=False)

    def _on_change(self, change: Change) -> None:
        if isinstance(change, MessageAdded) and change.message.role == "user":
            self.journal.prompt_sent()  # what the user sent is committed now, not at the next round

    def _on_session(self, event: SessionEvent) -> None:
        """Follow sessions: journal every client a session gets (opened, or restarted), forget removed ones."""
        if isinstance(event, SessionRemoved):
            self._removed(event.session_id)
        else:
            self._attach(event.entry)

    def _removed(self, session_id: str) -> None:
        self._info.pop(session_id, None)
        self.journal.remove(session_id)

    def _attach_entry(self, supervisor: Supervisor, session_id: str) -> None:
        entry = supervisor.get(session_id)
        if entry is not None:
            self._attach(entry)

    def close(self) -> None:
        self.journal.close()
