"""The embedded journal: one SQLite file in WAL mode.

WAL with `synchronous=NORMAL`: a committed batch survives the console being killed (the WAL is in
the operating system's hands once the commit returns); only a power cut can take the last batches
with it. Chunks are one row each, found by (session, n) through an index, so a session's journal reads back
in order from one range of it, and the chunks of a kind (the trace, the snapshots) from the same range.

A commit writes every page it touched whole, and with many sessions streaming most of those are
index pages, one per session written: so the journal keeps one index (a second, by (session, kind,
n), wrote a page or two more per session and round, for compaction's rare walk over one session's
chunks), and a session's `updated` time is written once a minute, not each round (it only decides
when a session unused for `max_age` is let go).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

from console.store.backend import (
    KIND_SNAPSHOT,
    KIND_TRACE,
    Batch,
    Page,
    SessionInfo,
    StoredRecord,
    StoreError,
    oldest_to_drop,
)
from console.store.records import FORMAT_VERSION

_UNBOUNDED: Final = 1 << 62  # a chunk number past any real one
WAL_HEADER: Final = 32  # bytes (sqlite.org/fileformat.html, "The WAL File Format")
WAL_FRAME_HEADER: Final = 24
UPDATED_EVERY: Final = 60.0  # seconds: how stale a session's `updated` time may be
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, dialect TEXT NOT NULL, url TEXT NOT NULL,
    embedded INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY, session TEXT NOT NULL, n INTEGER NOT NULL, kind INTEGER NOT NULL,
    crc INTEGER NOT NULL, data BLOB NOT NULL, count INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS journal_order ON journal (session, n);
DROP INDEX IF EXISTS journal_kinds;
"""


class JournalDamaged(StoreError):
    """The file is not a database any more (cut short, overwritten): what is left may be salvaged."""


class SQLiteReader:
    """Reads a journal file and nothing else: what a damaged file is salvaged with."""

    def __init__(self, path: Path, db: sqlite3.Connection | None = None) -> None:
        self.path = path
        self._db = db or sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)

    def sessions(self) -> list[SessionInfo]:
        rows = self._db.execute(
            "SELECT id, name, dialect, url, embedded, created FROM sessions ORDER BY created, rowid"
        ).fetchall()
        return [SessionInfo(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]:
        cursor = self._db.execute(
            "SELECT n, kind, crc, data, count FROM journal WHERE session = ? AND n > ? ORDER BY n",
            (session_id, after),
        )
        # Row by row: in a file cut short, every row before the first missing page still comes out.
        for n, kind, crc, data, count in cursor:
            yield StoredRecord(n, kind, crc, data, count)

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page:
        """Chunks of `kinds` older than chunk `before`, newest first: one range of the (session, n) index."""
        marks = ",".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT n, kind, crc, data, count FROM journal WHERE session = ? AND n < ? AND kind IN ({marks})"
            " ORDER BY n DESC LIMIT ?",
            (session_id, _UNBOUNDED if before is None else int(before), *sorted(kinds), limit),
        ).fetchall()
        records = tuple(StoredRecord(n, kind, crc, data, count, str(n)) for n, kind, crc, data, count in rows)
        return Page(records, str(records[-1].n) if len(records) == limit else None)

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page:
        """Chunks of `kinds` after chunk `after`, oldest first: one range of the (session, n) index."""
        marks = ",".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT n, kind, crc, data, count FROM journal WHERE session = ? AND n > ? AND kind IN ({marks})"
            " ORDER BY n LIMIT ?",
            (session_id, -1 if after is None else int(after), *sorted(kinds), limit),
        ).fetchall()
        records = tuple(StoredRecord(n, kind, crc, data, count, str(n)) for n, kind, crc, data, count in rows)
        return Page(records, str(records[-1].n) if len(records) == limit else None)

    def close(self) -> None:
        self._db.close()


class SQLiteBackend(SQLiteReader):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _own(path)
        self.torn = torn_wal(path)  # checked before SQLite opens it (and drops the torn end)
        # The writer thread uses it after the restore did: one user at a time, never two at once.
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        super().__init__(path, db)
        self._updated: dict[str, float] = {}  # the `updated` time last written, per session
        try:
            # 4 KB pages (SQLite's own): a commit writes each page it touched whole, and with many
            # sessions most of those are index pages, one or two per session written. 64 KB pages cost
            # less CPU per frame for one session (0.7 µs against 1.1), but at 300 streaming sessions
            # they wrote ~94 MB/s to store ~0.75. A file keeps the pages it was made with: the pragma
            # only applies to a new database.
            self._db.execute("PRAGMA page_size=4096")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints each 16 MB of log (4,096 pages; SQLite's default is 1,000): an index page
            # rewritten by many commits goes to the database once per checkpoint.
            self._db.execute("PRAGMA wal_autocheckpoint=4096")
            self._db.executescript(SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise JournalDamaged(f"{path} is not a readable journal: {exc}") from None
        except StoreError:
            self.close()
            raise

    @property
    def where(self) -> str:
        return str(self.path)

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
            return
        version = int(row[0])
        if version > FORMAT_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer console (journal format {version}; this one reads "
                f"up to {FORMAT_VERSION}): upgrade, or start with another --store"
            )
        if version < FORMAT_VERSION:  # read as it is; what is appended from now on is of this version
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(FORMAT_VERSION),))

    def write(self, batch: Batch) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (s.id, s.name, s.dialect, s.url, int(s.embedded), s.created, batch.at)
                    for s in batch.sessions
                ],
            )
            db.executemany(
                "INSERT OR REPLACE INTO journal (session, n, kind, crc, data, count) VALUES (?, ?, ?, ?, ?, ?)",
                batch.records,
            )
            db.executemany("UPDATE sessions SET updated = ? WHERE id = ?", self._stale(batch))
            for session_id, kind, keep in batch.compact:
                self._compact(session_id, kind, keep)
            for session_id in batch.removed:
                db.execute("DELETE FROM journal WHERE session = ?", (session_id,))
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _stale(self, batch: Batch) -> list[tuple[float, str]]:
        """(time, session) for each session written whose `updated` is older than `UPDATED_EVERY`."""
        updated = self._updated
        for info in batch.sessions:
            updated[info.id] = batch.at
        stale = {r[0] for r in batch.records if batch.at - updated.get(r[0], 0.0) >= UPDATED_EVERY}
        for session_id in stale:
            updated[session_id] = batch.at
        for session_id in batch.removed:
            updated.pop(session_id, None)
        return [(batch.at, session_id) for session_id in stale]

    def renew(self) -> None:
        """The file lock lasts as long as the process: nothing to renew."""

    def _compact(self, session_id: str, kind: int, keep: int) -> None:
        """Let go of the chunks of `kind` older than the newest `keep` rows or bytes (the rest stay)."""
        chunks = self._db.execute(_CHUNK_SIZES[kind], (session_id, kind)).fetchall()
        if (cut := oldest_to_drop(chunks, keep)) is not None:
            self._db.execute(
                "DELETE FROM journal WHERE session = ? AND kind = ? AND n <= ?", (session_id, kind, cut)
            )

    def expire(self, before: float) -> list[str]:
        gone = [r[0] for r in self._db.execute("SELECT id FROM sessions WHERE updated < ?", (before,))]
        if gone:
            self.write(Batch(removed=gone, at=time.time()))
        return gone

    def close(self) -> None:
        super().close()
        self._lock.close()  # the lock goes with the descriptor


# A kind's chunks, newest first, each with what it counts against the kind's retention.
_CHUNK_SIZES: Final = {
    KIND_TRACE: "SELECT n, count FROM journal WHERE session = ? AND kind = ? ORDER BY n DESC",
    KIND_SNAPSHOT: "SELECT n, length(data) FROM journal WHERE session = ? AND kind = ? ORDER BY n DESC",
}


def torn_wal(path: Path) -> str:
    """Why the write-ahead log ends in the middle of a frame (a write cut short), or "".

    SQLite itself keeps the transactions committed before the torn frame and drops the rest, which is
    the good prefix; this only puts the loss into words, since SQLite recovers silently.
    """
    wal = path.with_name(path.name + "-wal")
    try:
        size = wal.stat().st_size
        with path.open("rb") as f:
            f.seek(16)
            raw = int.from_bytes(f.read(2), "big")
    except OSError:
        return ""
    page = 65536 if raw == 1 else raw
    if size <= WAL_HEADER or page < 512:
        return ""
    extra = (size - WAL_HEADER) % (WAL_FRAME_HEADER + page)
    if not extra:
        return ""
    return f"its last write was cut short ({extra:,} bytes of an unfinished write were dropped)"


def _own(path: Path) -> IO[str]:
    """One console writes a journal: a second one would interleave its own history with it."""
    lock = path.with_name(path.name + ".lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        owner = lock.read().strip() or "unknown"
        lock.close()
        raise StoreError(f"{path} is in use by another console (pid {owner})") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock
