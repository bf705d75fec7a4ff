"""Looking after a cache folder: what it holds, clearing it, pruning what has not been used."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.cache import CACHE_FILENAME, CORRUPT_STAMP, SummaryCache
from digest.engines.conversions import conversions_folder, remove_leftovers
from digest.sizes import parse_age

log = logging.getLogger(__name__)


def parse_max_age(value: str) -> float | None:
    """cache_max_age: an age, or 'never' (also 'off', '0') to keep everything."""
    if value.strip().lower() in ("never", "off", "0"):
        return None
    return parse_age(value, "cache_max_age")


@dataclass(frozen=True)
class Conversion:
    """One converted model in the cache folder."""

    name: str
    path: Path
    bytes: int
    last_used: float


@dataclass(frozen=True)
class CorruptCopy:
    """A damaged cache file that was moved aside (`summaries.sqlite3.corrupt-TIME`)."""

    name: str
    path: Path
    bytes: int
    moved_aside: float


@dataclass(frozen=True)
class CacheInfo:
    """What `digest cache info` shows."""

    folder: Path
    database: Path
    exists: bool
    entries: int
    database_bytes: int
    oldest_use: float | None
    newest_use: float | None
    last_pruned: float | None
    conversions: tuple[Conversion, ...]
    corrupt: tuple[CorruptCopy, ...] = ()
    #: The schema of a database written by a newer version of digest (not read), else None.
    newer: int | None = None

    @property
    def total_bytes(self) -> int:
        return _bytes(self.database_bytes, self.conversions, self.corrupt)


@dataclass(frozen=True)
class Removed:
    """What clear or prune removed; -1 summaries when the database could not be changed."""

    summaries: int
    conversions: tuple[Conversion, ...] = ()
    corrupt: tuple[CorruptCopy, ...] = ()
    #: How much smaller the summary database is on disk afterwards (with its journal files):
    #: deleted rows free nothing until the file is compacted, so this is measured, not summed.
    database_bytes: int = 0

    @property
    def bytes(self) -> int:
        """All the disk space given back."""
        return _bytes(self.database_bytes, self.conversions, self.corrupt)


def _bytes(database: int, conversions: Sequence[Conversion], corrupt: Sequence[CorruptCopy]) -> int:
    """The database's bytes plus every converted model's and damaged copy's: what a cache
    holds (CacheInfo) or what clearing or pruning it gave back (Removed)."""
    return database + sum(c.bytes for c in conversions) + sum(c.bytes for c in corrupt)


def database_path(folder: Path) -> Path:
    return folder / CACHE_FILENAME


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass  # removed meanwhile
    return total


def _database_bytes(database: Path) -> int:
    """The database's size on disk, its write-ahead log and shared memory included."""
    total = 0
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            total += os.stat(f"{database}{suffix}").st_size
        except OSError:
            pass  # not there
    return total


def conversions(folder: Path) -> list[Conversion]:
    """The converted models beside the summaries in `folder`, oldest use first (leftovers are
    not listed)."""
    root = conversions_folder(folder)
    found = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            used = entry.stat().st_mtime
        except OSError:
            continue
        found.append(Conversion(entry.name, entry, _size(entry), used))
    return sorted(found, key=lambda c: c.last_used)


def corrupt_copies(database: Path) -> list[CorruptCopy]:
    """The damaged copies of `database` moved aside beside it, oldest first. Each is dated by
    the time in its name (when it was moved: a rename keeps the old modification time)."""
    found = []
    prefix = f"{database.name}.corrupt-"
    try:
        names = [name for name in os.listdir(database.parent) if name.startswith(prefix)]
    except OSError:
        return []  # no folder, no copies
    for path in (database.parent / name for name in names):
        try:
            info = path.lstat()
        except OSError:
            continue  # removed meanwhile
        stamp = path.name[len(prefix) :]
        try:
            moved = _dt.datetime.strptime(stamp, CORRUPT_STAMP).timestamp()
        except ValueError:
            moved = info.st_mtime
        found.append(CorruptCopy(path.name, path, info.st_size, moved))
    return sorted(found, key=lambda c: (c.moved_aside, c.name))


def _remove_copies(copies: list[CorruptCopy]) -> tuple[CorruptCopy, ...]:
    removed = []
    for copy in copies:
        try:
            copy.path.unlink()
        except FileNotFoundError:
            continue  # another process pruned it
        except OSError as exc:
            log.warning("could not remove %s (%s)", copy.path, exc)
            continue
        removed.append(copy)
    return tuple(removed)


def prune_corrupt_copies(
    database: Path, older_than: float, *, now: float | None = None
) -> tuple[CorruptCopy, ...]:
    """Delete the damaged copies of `database` moved aside more than `older_than` ago."""
    now = time.time() if now is None else now
    return _remove_copies([c for c in corrupt_copies(database) if c.moved_aside < now - older_than])


def cache_info(folder: Path) -> CacheInfo:
    """The cache folder's contents; a folder with no cache yet is reported, not created."""
    database = database_path(folder)
    exists = database.is_file()
    entries, oldest, newest, pruned, newer = 0, None, None, None, None
    if exists:
        with SummaryCache(database) as cache:
            entries, oldest, newest = cache.usage()
            pruned = cache.last_pruned()
            newer = cache.newer
    size = sum(
        Path(f"{database}{suffix}").stat().st_size
        for suffix in ("", "-wal", "-shm")
        if Path(f"{database}{suffix}").is_file()
    )
    return CacheInfo(
        folder,
        database,
        exists,
        entries,
        size,
        oldest,
        newest,
        pruned,
        tuple(conversions(folder)),
        tuple(corrupt_copies(database)),
        newer,
    )


def _remove(path: Path) -> bool:
    """Move `path` aside in one rename, then delete it: a run never sees half a folder."""
    try:
        aside = Path(tempfile.mkdtemp(prefix=f".trash-{path.name}.", dir=path.parent))
        os.replace(path, aside / path.name)
    except OSError as exc:
        log.warning("could not remove %s (%s)", path, exc)
        return False
    shutil.rmtree(aside, ignore_errors=True)
    return True


def clear_cache(folder: Path, *, include_conversions: bool = False) -> Removed:
    """Delete every summary and every damaged copy of the cache (and, with
    `include_conversions`, every converted model)."""
    deleted = 0
    database = database_path(folder)
    before = _database_bytes(database)
    if database.is_file():
        with SummaryCache(database) as cache:
            deleted = cache.clear()
            cache.compact()
    removed: tuple[Conversion, ...] = ()
    if include_conversions:
        removed = tuple(c for c in conversions(folder) if _remove(c.path))
        remove_leftovers(conversions_folder(folder))
    copies = _remove_copies(corrupt_copies(database))
    return Removed(deleted, removed, copies, max(0, before - _database_bytes(database)))


def prune_cache(folder: Path, older_than: float, *, now: float | None = None) -> Removed:
    """Delete summaries and converted models unused for `older_than` seconds, and damaged
    copies of the cache moved aside longer ago than that."""
    now = time.time() if now is None else now
    deleted = 0
    database = database_path(folder)
    before = _database_bytes(database)
    if database.is_file():
        with SummaryCache(database) as cache:
            deleted = cache.prune(older_than, now=now)
            if deleted > 0:
                cache.compact()
    freed = max(0, before - _database_bytes(database))
    return Removed(
        deleted,
        prune_conversions(folder, older_than, now=now),
        prune_corrupt_copies(database, older_than, now=now),
        freed,
    )


def prune_conversions(
    folder: Path, older_than: float, *, now: float | None = None
) -> tuple[Conversion, ...]:
    """Remove the converted models unused for `older_than` seconds, and the leftovers of
    killed conversions and removals (conversions.remove_leftovers())."""
    now = time.time() if now is None else now
    old = [c for c in conversions(folder) if c.last_used < now - older_than]
    removed = tuple(c for c in old if _remove(c.path))
    remove_leftovers(conversions_folder(folder), now=now)
    return removed


def prune_if_due(cache: SummaryCache, max_age: float, *, now: float | None = None) -> None:
    """A run's automatic pruning: at most once a day, summaries and conversions beside
    `cache` unused for `max_age` seconds. A not-due check is one indexed read."""
    now = time.time() if now is None else now
    deleted = cache.prune_if_due(max_age, now=now)
    if deleted is None:
        return
    removed = prune_conversions(cache.path.parent, max_age, now=now)
    copies = prune_corrupt_copies(cache.path, max_age, now=now)
    if deleted > 0 or removed or copies:
        log.info(
            "cache pruned: %d summaries and %d converted models unused for %s%s",
            max(deleted, 0),
            len(removed),
            describe_age(max_age),
            f", {len(copies)} damaged cache copies older than that" if copies else "",
        )


def describe_age(seconds: float) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
