"""The persistent summary cache: SQLite rows keyed by text, engine, model, settings and prompts."""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.cache_keys import summary_key
from digest.engines.base import Kind

# Re-exported: the summary cache and the CTranslate2 conversions share this folder.
from digest.locations import default_cache_dir as default_cache_dir

log = logging.getLogger(__name__)

CACHE_FILENAME = "summaries.sqlite3"
#: Bumped when the table layout changes; an older file is migrated (1 → 2 adds `used`).
SCHEMA_VERSION = 2
#: A row's last use is rewritten at most this often: a re-run within the hour writes nothing,
#: and pruning works in days.
TOUCH_EVERY_S = 3600.0
#: Automatic pruning (a run's cache_max_age) happens at most this often.
PRUNE_EVERY_S = 86400.0
#: The local time in a damaged file's name once it is moved aside (NAME.corrupt-TIME), which
#: `digest cache prune` reads to know its age.
CORRUPT_STAMP = "%Y%m%dT%H%M%S"
#: How long a writer waits for another process's transaction before giving up on one write.
BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Cached:
    """One stored summary and the engine that wrote it (shown in the digest's header)."""

    summary: str
    engine: str
    model: str | None
    backend: str | None


class NewerCache(Exception):
    """The cache file was written by a newer digest (a schema this version does not know):
    it is not this version's to change, so it is left exactly as it is."""

    def __init__(self, version: int) -> None:
        super().__init__(f"cache schema {version}; this version reads up to {SCHEMA_VERSION}")
        self.version = version


class SummaryCache:
    """A key → summary store that is safe to share between concurrent runs.

    Every failure is reported as a warning and degrades to "no cache": a run never fails
    because its cache is corrupt, locked or unwritable. A corrupt file is moved aside to
    `NAME.corrupt-TIMESTAMP` and a fresh one started. A file written by a newer version
    (two installations sharing one cache folder) is left alone, and this run goes without.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        #: Rows read whose last-use stamp is more than TOUCH_EVERY_S old: key → time read.
        self._used: dict[str, float] = {}
        #: The schema of a cache written by a newer version (then unused), else None.
        self.newer: int | None = None
        try:
            self._db = self._open()
        except NewerCache as exc:
            self.newer = exc.version
            log.warning(
                "summary cache %s was written by a newer version of digest (%s); "
                "left as it is, and this run goes without it",
                path,
                exc,
            )
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                self._db = self._rebuild(exc)
            else:
                log.warning("summary cache %s unavailable (%s); running without it", path, exc)
        except OSError as exc:
            log.warning("summary cache %s unavailable (%s); running without it", path, exc)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit, so each put_many is one commit.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            # Garbage bytes fail here ("file is not a database"); damaged pages fail the check.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise NewerCache(version)
            if version not in (0, 1, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown cache schema {version}")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            # WAL lets one run read while another commits; harmless if the filesystem refuses.
            db.execute("PRAGMA journal_mode=WAL")
            if version != SCHEMA_VERSION:
                _migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _rebuild(self, exc: BaseException) -> sqlite3.Connection | None:
        """Move an unreadable cache aside (kept for a bug report) and start an empty one."""
        if self._db is not None:
            self._db.close()
            self._db = None
        stamp = _dt.datetime.now().strftime(CORRUPT_STAMP)
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            db = self._open()
        except (OSError, sqlite3.DatabaseError, NewerCache) as again:
            log.warning(
                "summary cache %s is unreadable (%s) and could not be replaced (%s); "
                "running without it",
                self.path,
                exc,
                again,
            )
            return None
        log.warning(
            "summary cache %s was unreadable (%s); moved it to %s and started a new one",
            self.path,
            exc,
            aside.name,
        )
        return db

    def _failed(self, action: str, exc: sqlite3.Error) -> None:
        if isinstance(exc, sqlite3.DatabaseError) and _is_corruption(exc):
            self._db = self._rebuild(exc)
        else:
            # Typically "database is locked" after BUSY_TIMEOUT_S: skip this write, go on.
            log.warning("summary cache %s: could not %s (%s)", self.path, action, exc)

    @contextmanager
    def _transaction(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed when the block ends and rolled back if it raises.

        Summaries are synced to disk on commit; housekeeping (last-use stamps, pruning) is
        not: losing it to a power cut is harmless, and skipping the sync keeps it cheap enough
        for every run (docs/benchmarks.md)."""
        db = self._db
        assert db is not None
        db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def get_many(self, keys: Sequence[str]) -> dict[str, Cached]:
        """The cached rows among `keys`; a key that is absent is simply missing from the dict."""
        if self._db is None or not keys:
            return {}
        found: dict[str, Cached] = {}
        unique = list(dict.fromkeys(keys))
        now = time.time()
        stale: list[str] = []
        try:
            # SQLite limits bound variables per statement (999 in old builds): query in slices.
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                rows = self._db.execute(
                    "SELECT key, summary, engine, model, backend, used FROM summaries"
                    f" WHERE key IN ({','.join('?' * len(part))})",
                    part,
                )
                for key, summary, engine, model, backend, used in rows:
                    found[key] = Cached(summary, engine, model, backend)
                    if used < now - TOUCH_EVERY_S:
                        stale.append(key)
        except sqlite3.Error as exc:
            self._failed("read", exc)
            return {}
        # Recorded later, in one transaction with this run's other writes (or at close).
        self._used.update(dict.fromkeys(stale, now))
        return found

    def _record_use(self) -> None:
        """Inside a write transaction: stamp the rows read since the last one as used."""
        assert self._db is not None
        by_time: dict[float, list[str]] = {}
        for key, when in self._used.items():
            by_time.setdefault(when, []).append(key)
        for when, keys in by_time.items():
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                self._db.execute(
                    f"UPDATE summaries SET used = ? WHERE key IN ({','.join('?' * len(part))})",
                    [when, *part],
                )

    def flush(self) -> None:
        """Write the pending last-use stamps (close() does this too)."""
        if self._db is None or not self._used:
            return
        try:
            with self._transaction(durable=False):
                self._record_use()
        except sqlite3.Error as exc:
            # Not worth a warning: the summaries were read; at worst they are pruned sooner.
            log.debug("summary cache %s: could not record use (%s)", self.path, exc)
        self._used.clear()

    def put_many(self, rows: Iterable[tuple[str, Cached]]) -> None:
        """Store rows in one transaction: committed (durably, in WAL) when this returns."""
        if self._db is None:
            return
        now = time.time()
        values = [(key, c.summary, c.engine, c.model, c.backend, now, now) for key, c in rows]
        if not values:
            return
        try:
            with self._transaction(durable=True) as db:
                self._record_use()
                db.executemany(
                    "INSERT OR REPLACE INTO summaries"
                    " (key, summary, engine, model, backend, created, used)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            self._used.clear()
        except sqlite3.Error as exc:
            self._failed("write", exc)

    def _write(
        self, action: str, statements: Sequence[tuple[str, Sequence[Any]]], *, unless_after: float
    ) -> int | None:
        """Run `statements` in one transaction and return the rows the first one changed.

        None when the cache was pruned after `unless_after` (checked under the write lock, so
        two runs that find a prune due at once prune once), and -1 when the write failed.
        """
        if self._db is None:
            return -1
        try:
            with self._transaction(durable=False) as db:
                pruned = self.last_pruned()
                if pruned is not None and pruned > unless_after:
                    return None  # nothing written: the commit ends an empty transaction
                # This run's reads first, so a prune never takes what the run just used.
                self._record_use()
                counts = [db.execute(sql, args).rowcount for sql, args in statements]
            self._used.clear()
        except sqlite3.Error as exc:
            self._failed(action, exc)
            return -1
        return counts[0]

    def prune(self, older_than: float, *, now: float | None = None) -> int:
        """Delete the summaries unused for `older_than` seconds; how many went (-1: failed)."""
        now = time.time() if now is None else now
        deleted = self._prune(older_than, now, unless_after=math.inf)
        return -1 if deleted is None else deleted

    def prune_if_due(
        self, older_than: float, *, every: float = PRUNE_EVERY_S, now: float | None = None
    ) -> int | None:
        """prune(older_than) unless the cache was pruned in the last `every` seconds (None then).

        The check costs one indexed read, so every run can make it.
        """
        now = time.time() if now is None else now
        pruned = self.last_pruned()
        if self._db is None or (pruned is not None and pruned > now - every):
            return None
        return self._prune(older_than, now, unless_after=now - every)

    def _prune(self, older_than: float, now: float, *, unless_after: float) -> int | None:
        return self._write(
            "prune",
            [
                ("DELETE FROM summaries WHERE used < ?", [now - older_than]),
                ("INSERT OR REPLACE INTO meta (name, value) VALUES ('pruned', ?)", [now]),
            ],
            unless_after=unless_after,
        )

    def clear(self) -> int:
        """Delete every summary; how many went (-1: failed). The file stays: other runs may
        have it open."""
        deleted = self._write("clear", [("DELETE FROM summaries", [])], unless_after=math.inf)
        return -1 if deleted is None else deleted

    def compact(self) -> None:
        """Give the space of deleted rows back to the disk; skipped (quietly) while another
        process is writing, since it needs the database to itself for a moment."""
        if self._db is None:
            return
        try:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.debug("summary cache %s: not compacted (%s)", self.path, exc)

    def last_pruned(self) -> float | None:
        """When the cache was last pruned (a time.time() value), None if never."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'pruned'").fetchone()
        except sqlite3.Error as exc:
            self._failed("read", exc)
            return None
        return None if row is None else float(row[0])

    def usage(self) -> tuple[int, float | None, float | None]:
        """(entries, oldest last use, newest last use), times as time.time() values."""
        if self._db is None:
            return 0, None, None
        try:
            count, oldest, newest = self._db.execute(
                "SELECT count(*), min(used), max(used) FROM summaries"
            ).fetchone()
        except sqlite3.Error as exc:
            self._failed("read", exc)
            return 0, None, None
        return int(count), oldest, newest

    def __len__(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT count(*) FROM summaries").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None

    def __enter__(self) -> SummaryCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _migrate(db: sqlite3.Connection) -> None:
    """Create the tables, or bring an older layout up to date, in one transaction: several
    runs may open a new cache file at the same moment."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # again, under the lock
        if version > SCHEMA_VERSION:
            # A newer digest made or upgraded it meanwhile: never write an older schema over it.
            raise NewerCache(version)
        if version == 0:
            db.execute(
                "CREATE TABLE IF NOT EXISTS summaries ("
                " key TEXT PRIMARY KEY, summary TEXT NOT NULL, engine TEXT NOT NULL,"
                " model TEXT, backend TEXT, created REAL NOT NULL, used REAL NOT NULL)"
            )
        elif version == 1:
            db.execute("ALTER TABLE summaries ADD COLUMN used REAL NOT NULL DEFAULT 0")
            db.execute("UPDATE summaries SET used = created")
        db.execute("CREATE INDEX IF NOT EXISTS summaries_used ON summaries (used)")
        # Housekeeping facts (when the cache was last pruned), name → number.
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    # OperationalError covers "database is locked", "unable to open", "disk I/O error":
    # conditions of the moment, not of the file, so the file is left where it is.
    return not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)


class CacheMiss(Exception):
    """Raised by CacheOnlySummariser: at least one text has no stored summary."""


class CacheOnlySummariser:
    """Answers from the cache alone, raising CacheMiss otherwise: the engine is never built.

    The pipeline first tries a whole run with this, so a re-run over unchanged documents
    neither imports torch nor loads a model.
    """

    def __init__(
        self,
        cache: SummaryCache,
        fingerprint: str,
        name: str,
        *,
        model: str | None = None,
        backend: str | None = None,
    ) -> None:
        self.cache = cache
        self.fingerprint = fingerprint
        # The run's own settings, which the fingerprint was made from, name the digest's
        # engine: not whichever cached row happens to come first.
        self.name, self.model, self.backend = name, model, backend
        self.hits = 0

    def prepare(self) -> None:
        pass

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: Kind,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        keys = [summary_key(self.fingerprint, kind, t) for t in texts]
        found = self.cache.get_many(keys)
        if len(found) < len(set(keys)):
            raise CacheMiss(f"{len(set(keys)) - len(found)} {kind} text(s) not cached")
        self.hits += len(keys)
        if progress:
            progress(len(keys))
        return [found[k].summary for k in keys]
