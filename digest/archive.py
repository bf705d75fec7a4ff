"""The output folder's HTML digests as an archive: index.html and feed.xml, rebuilt each run.

The digest pages in the folder are the truth: each one says, in its own markup, how many
articles it has, its headlines and when it was made (see digest.html.j2). A small sidecar,
`.digest-archive.json`, remembers what was read from each page (keyed by its size and
modification time) so a run parses only the pages that are new or changed. The sidecar is
only a cache: missing, damaged or from a newer version, it is rebuilt from the pages; a page
deleted by hand leaves the archive at the next run; nothing is lost with it.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digest.defaults import DEFAULT_FEED_ENTRIES
from digest.errors import UsageError
from digest.render import long_date
from digest.text import one_line
from digest.urls import safe_url

log = logging.getLogger(__name__)

ARCHIVE_FILENAME = ".digest-archive.json"
ARCHIVE_VERSION = 1
INDEX_FILENAME = "index.html"
FEED_FILENAME = "feed.xml"
ARCHIVE_TEMPLATE = "archive.html.j2"
#: Headlines the archive and the feed show per digest (the first ones, in digest order).
HEADLINES = 5

# digest-2026-11-24.html, and digest-2026-11-24-2.html for a same-day second digest.
_PAGE_NAME = re.compile(r"^digest-(\d{4}-\d{2}-\d{2})(?:-(\d{1,4}))?\.html$")
# Only what our own template puts in a page is trusted as a digest's size.
_MAX_ARTICLES = 1_000_000


@dataclass(frozen=True)
class ArchiveEntry:
    """One digest page: its file name, date and place that day, and what the archive shows."""

    name: str
    day: _dt.date
    sequence: int
    articles: int
    headlines: tuple[str, ...]
    #: When the page was made (UTC): the feed entry's updated time.
    updated: _dt.datetime

    @property
    def title(self) -> str:
        """'Digest — Tuesday 24 November 2026', with ' (2)' for the day's second digest."""
        second = f" ({self.sequence})" if self.sequence > 1 else ""
        return f"Digest — {long_date(self.day)}{second}"

    @property
    def more(self) -> int:
        """Articles beyond the headlines shown."""
        return max(0, self.articles - len(self.headlines))

    @property
    def order(self) -> tuple[_dt.date, int]:
        return (self.day, self.sequence)


def site_base(value: str | None) -> str | None:
    """--site-url as the base of absolute links: an http(s) URL ending in '/', or None."""
    if value is None or not value.strip():
        return None
    url = safe_url(value)
    if url is None or urlsplit(url).query or urlsplit(url).fragment:
        raise UsageError(
            f"--site-url: give the http(s) address the folder is served at, e.g. "
            f"https://example.org/digests/ (got {one_line(value)!r})"
        )
    return url if url.endswith("/") else url + "/"


def page_name(name: str) -> tuple[_dt.date, int] | None:
    """(date, sequence) of a digest page's file name, or None for any other file."""
    match = _PAGE_NAME.match(name)
    if not match:
        return None
    try:
        day = _dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return day, int(match.group(2) or 1)


# --- reading pages --------------------------------------------------------------------------


def parse_page(data: bytes) -> Any:
    """A digest page's element tree (lxml), parsed leniently as browsers do; ValueError for
    a page with nothing in it."""
    import lxml.etree
    import lxml.html

    try:
        return lxml.html.document_fromstring(data.decode("utf-8", errors="replace"))
    except lxml.etree.LxmlError as exc:
        raise ValueError(str(exc) or "not an HTML page") from None


def read_entry(path: Path, root: Any, modified: _dt.datetime) -> ArchiveEntry | None:
    """What the archive needs from a parsed page; `modified` stands in for a page without a
    digest-updated meta tag (one from a template of the user's own)."""
    named = page_name(path.name)
    if named is None:
        return None
    meta = {
        str(m.get("name")): str(m.get("content") or "")
        for m in root.iter("meta")
        if m.get("name", "").startswith("digest-")
    }
    headlines = tuple(
        text
        for element in root.find_class("headline")
        if (text := one_line(element.text_content()))
    )
    try:
        articles = int(meta.get("digest-articles", ""))
    except ValueError:
        articles = sum(1 for _ in root.iter("article"))
    return ArchiveEntry(
        name=path.name,
        day=named[0],
        sequence=named[1],
        articles=min(max(articles, 0), _MAX_ARTICLES),
        headlines=headlines[:HEADLINES],
        updated=_parse_time(meta.get("digest-updated")) or modified,
    )


def _parse_time(value: str | None) -> _dt.datetime | None:
    if not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(_dt.timezone.utc).replace(microsecond=0)


# --- the sidecar ------------------------------------------------------------------------------


def _load_sidecar(folder: Path) -> dict[str, Any]:
    """The records of the last run, by file name; {} when the sidecar cannot be used."""
    path = folder / ARCHIVE_FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("ignored %s (%s): the archive is rebuilt from the pages", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("version") != ARCHIVE_VERSION:
        log.info("%s is of another version: the archive is rebuilt from the pages", path)
        return {}
    pages = data.get("pages")
    return pages if isinstance(pages, dict) else {}


def _from_record(name: str, record: Any, size: int, mtime_ns: int) -> ArchiveEntry | None:
    """The entry a sidecar record holds, if it is whole and the page is unchanged since."""
    named = page_name(name)
    if named is None or not isinstance(record, dict):
        return None
    if record.get("size") != size or record.get("mtime_ns") != mtime_ns:
        return None
    articles, headlines = record.get("articles"), record.get("headlines")
    updated = _parse_time(record.get("updated") if isinstance(record.get("updated"), str) else "")
    if not isinstance(articles, int) or isinstance(articles, bool) or updated is None:
        return None
    if not isinstance(headlines, list) or not all(isinstance(h, str) for h in headlines):
        return None
    return ArchiveEntry(
        name=name,
        day=named[0],
        sequence=named[1],
        articles=min(max(articles, 0), _MAX_ARTICLES),
        headlines=tuple(one_line(h) for h in headlines[:HEADLINES]),
        updated=updated,
    )


def _to_record(entry: ArchiveEntry, size: int, mtime_ns: int) -> dict[str, Any]:
    from digest.html_page import utc_stamp

    return {
        "size": size,
        "mtime_ns": mtime_ns,
        "articles": entry.articles,
        "headlines": list(entry.headlines),
        "updated": utc_stamp(entry.updated),
    }


@dataclass(frozen=True)
class Archive:
    """Every digest page in a folder, newest first, and the sidecar that would describe it."""

    entries: tuple[ArchiveEntry, ...]
    sidecar: Mapping[str, Any]


def scan(folder: Path, pending: Mapping[str, bytes] | None = None) -> Archive:
    """Read the folder's digest pages: from the sidecar when unchanged, else from the page.

    `pending` are pages about to be written (file name → bytes): they are read from memory,
    in place of any file of that name, and get their sidecar record at the next run.
    """
    pending = pending or {}
    cached = _load_sidecar(folder)
    entries: list[ArchiveEntry] = []
    records: dict[str, Any] = {}
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    for name, data in pending.items():
        entry = read_entry(Path(name), parse_page(data), now)
        entries.extend([entry] if entry else [])
    for path in sorted(folder.glob("digest-*.html")):
        if page_name(path.name) is None or path.name in pending:
            continue
        try:
            stat = path.stat()
            if not path.is_file():
                continue
            entry = _from_record(path.name, cached.get(path.name), stat.st_size, stat.st_mtime_ns)
            if entry is None:
                modified = _dt.datetime.fromtimestamp(int(stat.st_mtime), _dt.timezone.utc)
                entry = read_entry(path, parse_page(path.read_bytes()), modified)
        except (OSError, ValueError) as exc:
            log.warning("left %s out of the archive: %s", path, exc)
            continue
        if entry is not None:
            entries.append(entry)
            records[path.name] = _to_record(entry, stat.st_size, stat.st_mtime_ns)
    entries.sort(key=lambda e: e.order, reverse=True)
    return Archive(tuple(entries), {"version": ARCHIVE_VERSION, "pages": records})


# --- writing ----------------------------------------------------------------------------------


def render_index(entries: Sequence[ArchiveEntry], templates_dir: Path | None = None) -> str:
    """index.html: every digest, newest first, through archive.html.j2 (autoescaped)."""
    from digest.html_page import HTML_FILTERS
    from digest.render import load_template, render_loaded
    from digest.version import __version__

    template = load_template(ARCHIVE_TEMPLATE, templates_dir, autoescape=True, filters=HTML_FILTERS)
    return render_loaded(template, {"entries": list(entries), "version": __version__})


def archive_files(
    folder: Path,
    *,
    pending: Mapping[str, bytes] | None = None,
    site_url: str | None = None,
    feed_entries: int = DEFAULT_FEED_ENTRIES,
    templates_dir: Path | None = None,
) -> dict[Path, str | bytes]:
    """index.html, feed.xml and the sidecar for the folder's digest pages and `pending` ones,
    rendered in memory so that the caller writes them with the pages, atomically."""
    from digest.atom import build_feed, page_body

    pending = pending or {}
    archive = scan(folder, pending)
    newest = archive.entries[:feed_entries]
    items = []
    for entry in newest:
        try:
            data = pending.get(entry.name) or (folder / entry.name).read_bytes()
            items.append((entry, page_body(parse_page(data))))
        except (OSError, ValueError) as exc:
            log.warning("the feed entry of %s has no body: %s", entry.name, exc)
            items.append((entry, ""))
    feed = build_feed(items, site=site_base(site_url), home=INDEX_FILENAME, name=FEED_FILENAME)
    log.info("archive of %d digest(s); the feed holds %d", len(archive.entries), len(newest))
    return {
        folder / INDEX_FILENAME: render_index(archive.entries, templates_dir),
        folder / FEED_FILENAME: feed,
        folder / ARCHIVE_FILENAME: json.dumps(archive.sidecar, ensure_ascii=False) + "\n",
    }


def write_archive(folder: Path, **options: Any) -> list[Path]:
    """Rewrite index.html and feed.xml from the folder's pages (hold the folder's lock); the
    paths written, less the sidecar. `options` are those of archive_files."""
    from digest.files import write_all_atomic

    written = write_all_atomic(archive_files(folder, **options))
    return [path for path in written if path.name != ARCHIVE_FILENAME]
