"""Reading: sources (folders, files, feed and page URLs, OPML lists) → documents."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from digest.defaults import DEFAULT_MAX_BYTES
from digest.errors import SkipDocument
from digest.model import Document, Skipped, Unreadable
from digest.sources import (
    FORMATS,
    TooLarge,
    check_reader,
    display_path,
    find_inputs,
    is_feed_file,
    parse_bytes,
    read_bytes,
)
from digest.urls import is_url

if TYPE_CHECKING:
    from digest.cluster import RaySession
    from digest.sources.memory import Memory
    from digest.sources.web import WebOptions

log = logging.getLogger(__name__)

#: Called as progress(stage, done, total); stage is "read", "sections" or "articles".
Progress = Callable[[str, int, int], None]


def as_sources(sources: Iterable[Path | str]) -> list[Path | str]:
    """The one conversion of what a caller names: URLs stay strings, everything else a Path."""
    return [str(s) if is_url(s) else Path(s) for s in sources]


class Selection(Protocol):
    """What `select` may also be (digest.state's selector): besides the cheap test by path,
    a test by content, given the fingerprint of the bytes the pipeline has read anyway."""

    def __call__(self, path: Path) -> bool: ...

    def changed(self, path: Path, fingerprint: str) -> bool: ...


def content_fingerprint(data: bytes) -> str:
    """The sha256 of a file's bytes: "changed" means different content, not a newer mtime."""
    return hashlib.sha256(data).hexdigest()


def size_fingerprint(path: Path) -> str:
    """A file too large to read is known by its size and time instead of its content."""
    stat = path.stat()
    return f"size={stat.st_size} mtime_ns={stat.st_mtime_ns}"


def read_file(
    path: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    changed: Callable[[Path, str], bool] | None = None,
) -> Document | str | None:
    """The document at `path`, the one-line reason it is skipped, or None when `changed` says
    its content is not new; never raises for bad input (a Ray worker runs this too, and a
    reader bug must not cost the other files)."""
    try:
        document = _read_one(path, max_bytes, changed)
        if document is not None and document.words == 0:
            raise SkipDocument("headings but no prose")
        return document
    except SkipDocument as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        log.debug("reader failure on %s", path, exc_info=True)
        return f"could not be parsed ({type(exc).__name__}: {exc})"


def _is_new(path: Path, max_bytes: int, changed: Callable[[Path, str], bool]) -> bool:
    """`changed` decided on the driver, for a run whose files are read by Ray workers."""
    try:
        return changed(path, content_fingerprint(read_bytes(path, max_bytes=max_bytes)))
    except TooLarge:
        return changed(path, size_fingerprint(path))
    except SkipDocument:
        return True  # the worker's read reports why


def read_sources(
    sources: Sequence[Path | str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | Selection | None = None,
    web: WebOptions | None = None,
    memory: Memory | None = None,
    session: RaySession | None = None,
) -> tuple[list[Document], list[Skipped], list[Unreadable]]:
    """Read every supported file under `sources`: documents, skipped files (one reason each)
    and the formats whose reader cannot work in this installation.

    `select`, when given, picks which of the files found are read at all (--since); when it
    also has `changed(path, fingerprint)`, that decides on content, from the bytes read here:
    each file is read once, and one over `max_bytes` not at all. A
    format whose reader fails to import is reported once, with the package to install; if
    every file found is of such formats (and there are no feeds), ReaderUnavailable is raised
    before reading any. Feeds, pages and OPML lists are read by digest.sources.web, with
    `memory` deciding which entries are new; their documents come after the files'. `web`
    (entries per feed, HTTP limits) is used as given; without it, downloads are bounded by
    `max_bytes` as files are.
    With a Ray `session`, the files are read as Ray tasks (on storage the workers share).
    """
    files: list[Path] = []
    remote: list[Path | str] = []
    seen: set[str] = set()
    walked: set[str] = set()
    for source in sources:
        if is_url(source):
            remote.append(str(source))
            continue
        # One real file is read once, however many sources reach it.
        for path in find_inputs([Path(source)], seen=seen, walked=walked):
            (remote if is_feed_file(path) else files).append(path)
    documents, skipped, unreadable = _read_files(
        files,
        max_bytes=max_bytes,
        progress=progress,
        select=select,
        feeds=bool(remote),
        session=session,
    )
    if remote:
        from digest.http import FetchPolicy
        from digest.sources.memory import Everything
        from digest.sources.web import WebOptions, WebReader

        # Given WebOptions are honoured as given; without them, `max_bytes` bounds downloads
        # as it bounds files (the CLI puts --max-size into both).
        web = web or WebOptions(http=FetchPolicy(max_bytes=max_bytes))
        reader = WebReader(web, memory or Everything(), progress=progress)
        more, also_skipped = reader.read(remote)
        documents += more
        skipped += also_skipped
    return documents, skipped, unreadable


def _read_files(
    files: list[Path],
    *,
    max_bytes: int,
    progress: Progress | None,
    select: Callable[[Path], bool] | Selection | None,
    feeds: bool,
    session: RaySession | None = None,
) -> tuple[list[Document], list[Skipped], list[Unreadable]]:
    formats = {FORMATS[path.suffix.lower()] for path in files}
    broken = {fmt: problem for fmt in sorted(formats) if (problem := check_reader(fmt))}
    if broken and formats <= broken.keys() and not feeds:
        raise next(iter(broken.values()))
    unreadable: list[Unreadable] = []
    for fmt, problem in broken.items():
        count = sum(1 for path in files if FORMATS[path.suffix.lower()] == fmt)
        notice = (
            f"{count} {problem.format} file{'' if count == 1 else 's'} not read: {problem.cause}; "
            f"install {problem.package}: {problem.install}"
        )
        log.warning("%s", notice)
        unreadable.append(Unreadable(fmt, count, notice))
    # Dropped before `select` sees them, so --since last still counts them as new once the
    # installation is mended.
    files = [path for path in files if FORMATS[path.suffix.lower()] not in broken]
    if select is not None:
        files = [path for path in files if select(path)]
    changed = getattr(select, "changed", None)
    results: Iterable[Document | str | None]
    if session is not None:
        if changed is not None:
            # The run's state lives here, not on the workers: what is new is decided first
            # (so a Ray run reads each selected file here once more).
            files = [path for path in files if _is_new(path, max_bytes, changed)]
        # Absolute: a worker's working folder is not the driver's.
        wanted = [path.absolute() for path in files]
        results = session.read(wanted, partial(read_file, max_bytes=max_bytes))
    else:
        results = (read_file(path, max_bytes, changed) for path in files)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for done, (path, result) in enumerate(zip(files, results, strict=True), 1):
        if result is None:
            pass  # not new (--since last)
        elif isinstance(result, str):
            log.warning("skipped %s: %s", display_path(path), result)
            skipped.append(Skipped(display_path(path), result))
        else:
            documents.append(result if result.path == path else replace(result, path=path))
        if progress:
            progress("read", done, len(files))
    return documents, skipped, unreadable


def _read_one(
    path: Path, max_bytes: int, changed: Callable[[Path, str], bool] | None
) -> Document | None:
    """The file's Document; None when `changed` says its content is not new."""
    try:
        data = read_bytes(path, max_bytes=max_bytes)
    except TooLarge:
        # A file too large is never read, so its size and time stand for its content: one
        # left in the folder is reported by the first --since run, not by every one.
        if changed is not None and not changed(path, size_fingerprint(path)):
            return None
        raise
    if changed is not None and not changed(path, content_fingerprint(data)):
        return None
    return parse_bytes(data, path)
