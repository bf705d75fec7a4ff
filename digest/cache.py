"""The persistent summary cache: SQLite rows keyed by text, engine, model, settings and prompts."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.engines.base import Kind, Summariser

# Re-exported: the summary cache and the CTranslate2 conversions share this folder.
from digest.locations import default_cache_dir as default_cache_dir
from digest.version import __version__

log = logging.getLogger(__name__)

CACHE_FILENAME = "summaries.sqlite3"
#: Bumped when the table layout changes; an older file is then rebuilt, not misread.
SCHEMA_VERSION = 1
#: Texts per engine call when filling misses: each call's results are committed at once, so a
#: killed run loses at most one chunk of work, and length-sorted chunks still batch well.
CHUNK = 32
#: How long a writer waits for another process's transaction before giving up on one write.
BUSY_TIMEOUT_S = 30.0

_PACKAGE = Path(__file__).resolve().parent
#: The files under engines/ whose code decides each engine's summaries.
ENGINE_SOURCES = {
    "extractive": ("extractive.py",),
    "seq2seq": ("seq2seq.py", "loading.py", "planning.py", "transformers_backend.py"),
}


@dataclass(frozen=True)
class Cached:
    """One stored summary and the engine that wrote it (shown in the digest's header)."""

    summary: str
    engine: str
    model: str | None
    backend: str | None


class SummaryCache:
    """A key → summary store that is safe to share between concurrent runs.

    Every failure is reported as a warning and degrades to "no cache": a run never fails
    because its cache is corrupt, locked or unwritable. A corrupt file is moved aside to
    `NAME.corrupt-TIMESTAMP` and a fresh one started.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
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
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown cache schema {version}")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            # WAL lets one run read while another commits; harmless if the filesystem refuses.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS summaries ("
                " key TEXT PRIMARY KEY, summary TEXT NOT NULL, engine TEXT NOT NULL,"
                " model TEXT, backend TEXT, created REAL NOT NULL)"
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _rebuild(self, exc: BaseException) -> sqlite3.Connection | None:
        """Move an unreadable cache aside (kept for a bug report) and start an empty one."""
        if self._db is not None:
            self._db.close()
            self._db = None
        stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            db = self._open()
        except (OSError, sqlite3.DatabaseError) as again:
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

    def get_many(self, keys: Sequence[str]) -> dict[str, Cached]:
        """The cached rows among `keys`; a key that is absent is simply missing from the dict."""
        if self._db is None or not keys:
            return {}
        found: dict[str, Cached] = {}
        unique = list(dict.fromkeys(keys))
        try:
            # SQLite limits bound variables per statement (999 in old builds): query in slices.
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                rows = self._db.execute(
                    "SELECT key, summary, engine, model, backend FROM summaries"
                    f" WHERE key IN ({','.join('?' * len(part))})",
                    part,
                )
                for key, summary, engine, model, backend in rows:
                    found[key] = Cached(summary, engine, model, backend)
        except sqlite3.Error as exc:
            self._failed("read", exc)
            return {}
        return found

    def put_many(self, rows: Iterable[tuple[str, Cached]]) -> None:
        """Store rows in one transaction: committed (durably, in WAL) when this returns."""
        if self._db is None:
            return
        now = time.time()
        values = [(key, c.summary, c.engine, c.model, c.backend, now) for key, c in rows]
        if not values:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO summaries"
                    " (key, summary, engine, model, backend, created) VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed("write", exc)

    def __len__(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT count(*) FROM summaries").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> SummaryCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    # OperationalError covers "database is locked", "unable to open", "disk I/O error":
    # conditions of the moment, not of the file, so the file is left where it is.
    return not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)


# --- keys ----------------------------------------------------------------------------------


def _file_digest(paths: Iterable[Path], base: Path) -> str:
    """A hash of the names and contents of `paths` (missing ones count as absent)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _prompts_digest() -> str:
    """A hash of every prompt template the seq2seq engine could pick, in search order.

    Which family (t5, flan-t5, plain) a model uses is only known once its config is read,
    so all of them count: editing any template starts fresh summaries, never stale ones.
    """
    try:
        from digest.prompts import search_path
    except ImportError:  # a build without the seq2seq engine's prompts
        return ""
    digest = hashlib.sha256()
    for folder in search_path():
        digest.update(str(folder).encode() + b"\0")
        digest.update(
            _file_digest((p for p in folder.rglob("*.j2") if p.is_file()), folder).encode()
        )
    return digest.hexdigest()


def _model_identity(model: str) -> Any:
    """A local model folder is identified by its files' sizes and times, not just its name."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return model
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return {
        "path": str(folder.resolve()),
        "files": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files],
    }


def engine_fingerprint(
    engine: str,
    *,
    model: str | None = None,
    generate: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """Everything besides the input text that decides what `engine` writes, as one hash.

    The engine's own source (and the text helpers it uses) are part of it, so a new
    release, or an edited checkout, never serves summaries an older engine wrote.
    """
    # The engine and the helpers engines share: editing any of them changes the summaries.
    sources = [_PACKAGE / "engines" / name for name in ENGINE_SOURCES.get(engine, ())]
    sources.append(_PACKAGE / "engines" / "settings.py")
    sources += [_PACKAGE / name for name in ("text.py", "chunking.py", "prompts.py")]
    if (options or {}).get("backend") == "ctranslate2":
        sources.append(_PACKAGE / "engines" / "ctranslate2_backend.py")
    settings: dict[str, Any] = {"digest": __version__, "engine": engine}
    if engine != "extractive":
        settings.update(
            model=_model_identity(model) if model else None,
            generate=dict(generate or {}),
            options=dict(options or {}),
            prompts=_prompts_digest(),
        )
    settings["code"] = _file_digest(sources, _PACKAGE)
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def summary_key(fingerprint: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{fingerprint}\0{kind}\0{text}".encode()).hexdigest()


# --- summarisers that use the cache -------------------------------------------------------------


class CacheMiss(Exception):
    """Raised by CacheOnlySummariser: at least one text has no stored summary."""


class CacheOnlySummariser:
    """Answers from the cache alone, raising CacheMiss otherwise: the engine is never built.

    The pipeline first tries a whole run with this, so a re-run over unchanged documents
    neither imports torch nor loads a model.
    """

    def __init__(self, cache: SummaryCache, fingerprint: str, name: str) -> None:
        self.cache = cache
        self.fingerprint = fingerprint
        self.name = name
        self.model: str | None = None
        self.backend: str | None = None
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
        for cached in found.values():
            self.name, self.model, self.backend = cached.engine, cached.model, cached.backend
            break
        self.hits += len(keys)
        if progress:
            progress(len(keys))
        return [found[k].summary for k in keys]


class CachingSummariser:
    """Wraps a prepared engine: cached texts are answered from the cache, the rest summarised
    in length-sorted chunks whose results are committed as soon as each chunk is done."""

    def __init__(self, engine: Summariser, cache: SummaryCache, fingerprint: str) -> None:
        self.engine = engine
        self.cache = cache
        self.fingerprint = fingerprint
        # Copied, not looked up: the engine is prepared, so these are final.
        self.name, self.model, self.backend = engine.name, engine.model, engine.backend
        self.hits = 0
        self.misses = 0

    def prepare(self) -> None:
        self.engine.prepare()

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: Kind,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        keys = [summary_key(self.fingerprint, kind, t) for t in texts]
        found = {k: c.summary for k, c in self.cache.get_many(keys).items()}
        answered = sum(1 for k in keys if k in found)
        self.hits += answered
        # One engine call per distinct text: a text that occurs twice is summarised once.
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        todo.sort(key=lambda item: len(item[1]))
        self.misses += len(todo)
        if progress and len(keys) - len(todo) > 0:
            progress(len(keys) - len(todo))  # the cached texts, and repeats of uncached ones
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            summaries = self.engine.summarise([t for _, t in chunk], kind=kind, progress=progress)
            produced = list(zip((k for k, _ in chunk), summaries, strict=True))
            self.cache.put_many(
                (k, Cached(s, self.name, self.model, self.backend)) for k, s in produced
            )
            found.update(produced)
        return [found[k] for k in keys]
