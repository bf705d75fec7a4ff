"""URLs, feed files and OPML lists → documents: fetched politely, only what is new, never fatal."""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from digest.defaults import DEFAULT_MAX_ENTRIES
from digest.errors import SkipDocument
from digest.http import Fetched, Fetcher, FetchFailed, FetchPolicy
from digest.model import Document, Skipped
from digest.pages import (
    FETCHING_OFF,
    NO_LINK,
    NO_MORE,
    UNAVAILABLE,
    BackingOff,
    TeaserOnly,
    article_fingerprint,
    backoff_reason,
    legacy_page_fingerprint,
)
from digest.sources import display_path, read_bytes
from digest.sources.feeds import (
    FEED_SUFFIXES,
    Entry,
    Feed,
    NotAFeed,
    entry_document,
    looks_like_html,
    newest_of_each,
    parse_feed,
)
from digest.sources.memory import Memory
from digest.sources.opml import is_opml, parse_opml
from digest.text import one_line
from digest.urls import is_url, safe_url

if TYPE_CHECKING:
    from digest.pages import PageCache

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
#: OPML lists naming lists are read this many levels deep (the list you name is the first).
OPML_DEPTH = 3
#: At most this many feeds of one OPML list are read, in its order; the rest are one Skipped line.
OPML_FEEDS = 1_000
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class WebOptions:
    """Feed and page settings (the CLI fills them from --max-entries, --timeout, …)."""

    #: At most this many entries per feed, the newest; the rest are listed as skipped.
    max_entries: int = DEFAULT_MAX_ENTRIES
    #: Send entries again when they changed after an earlier digest included them.
    include_updated: bool = False
    #: Fetch the linked page of entries that carry only a teaser.
    fetch_articles: bool = True
    #: Fetch everything afresh: no conditional requests, no stored article pages, and pages
    #: that failed recently are tried again (--refresh).
    refresh: bool = False
    http: FetchPolicy = field(default_factory=FetchPolicy)
    opml_depth: int = OPML_DEPTH
    opml_feeds: int = OPML_FEEDS


@dataclass(frozen=True)
class _Source:
    """One thing to read: a URL or a local file; `expect_feed` when only a feed makes sense;
    `public_only` when the URL was found in remote content (digest.http's network policy)."""

    where: str
    label: str
    expect_feed: bool
    local: Path | None = None
    #: How many OPML lists led here (0: named by the user).
    depth: int = 0
    public_only: bool = False


@dataclass
class _Result:
    source: _Source
    fetched: Fetched | None = None
    data: bytes = b""
    content_type: str | None = None
    #: Why the source could not be had, in a few words (its Skipped line); `detail` says how,
    #: for the log only ("[Errno -2] Name or service not known").
    error: str | None = None
    detail: str | None = None


class WebReader:
    """Reads remote and feed sources into documents and Skipped lines, in source order."""

    def __init__(
        self,
        options: WebOptions,
        memory: Memory,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.options = options
        self.memory = memory
        self.progress = progress
        self.documents: list[Document] = []
        self.skipped: list[Skipped] = []
        self._pages: PageCache | None = None
        #: Every source taken up in this run, by the address it was named by: read once.
        self._requested: set[str] = set()
        #: The OPML lists read, by the addresses they were named by and fetched from.
        self._lists: set[str] = set()
        #: (id, link) of the feed entries in the digest: the same item from another feed
        #: (the same id and the same link) is merged into the first.
        self._included: set[tuple[str, str]] = set()

    def read(self, sources: Sequence[str | Path]) -> tuple[list[Document], list[Skipped]]:
        with Fetcher(self.options.http) as fetcher:
            self._fetcher = fetcher
            self._read_all([self._source(s) for s in sources])
        return self.documents, self.skipped

    def _read_all(self, sources: list[_Source]) -> None:
        """Fetch the sources not taken up yet (in parallel), then read each, in order."""
        fresh = []
        for source in sources:
            if source.where not in self._requested:
                self._requested.add(source.where)
                fresh.append(source)
        for result in self._load(fresh):
            self._handle(result)

    # -- sources ----------------------------------------------------------------------------

    def _source(self, source: str | Path) -> _Source:
        text = str(source)
        if is_url(text):
            suffix = Path(urlsplit(text).path).suffix.lower()
            return _Source(text, text, expect_feed=suffix in FEED_SUFFIXES)
        path = Path(source)
        return _Source(str(path.absolute()), display_path(path), expect_feed=True, local=path)

    def _load(self, sources: Iterable[_Source]) -> list[_Result]:
        """Fetch URLs in parallel (within the fetcher's caps) and read local files; keep order."""
        return self._in_parallel(list(sources), self._load_one, "feeds")

    def _in_parallel(self, items: list[_T], work: Callable[[_T], _R], stage: str) -> list[_R]:
        """work(item) for every item on the fetcher's threads, in order, counting progress."""
        done = 0
        counting = threading.Lock()

        def one(item: _T) -> _R:
            nonlocal done
            try:
                return work(item)
            finally:
                with counting:
                    done += 1
                    if self.progress:
                        self.progress(stage, done, len(items))

        with ThreadPoolExecutor(max_workers=max(1, self.options.http.concurrency)) as pool:
            return list(pool.map(one, items))

    def _load_one(self, source: _Source) -> _Result:
        """The source's bytes, or why they cannot be had; never raises (it runs on a pool)."""
        try:
            if source.local is not None:
                # As for any file: too large, unreadable, a folder...
                data = read_bytes(source.local, max_bytes=self.options.http.max_bytes)
                return _Result(source, data=data)
            validators = None if self.options.refresh else self.memory.validators(source.where)
            answer = self._fetcher.get(source.where, validators, public_only=source.public_only)
        except SkipDocument as exc:
            return _Result(source, error=str(exc), detail=getattr(exc, "detail", None))
        except Exception as exc:  # noqa: BLE001 - one source's failure, never the run's
            log.debug("%s could not be had", source.label, exc_info=True)
            verb = "read" if source.local is not None else "fetched"
            return _Result(source, error=f"could not be {verb}", detail=_describe(exc))
        return _Result(source, answer, answer.content, answer.headers.get("content-type"))

    # -- what came back ---------------------------------------------------------------------

    def _skip(self, label: str, reason: str, detail: str | None = None) -> None:
        """A Skipped line with `reason`; `detail` (how it failed) goes to the log only."""
        log.warning("skipped %s: %s%s", label, reason, f" ({one_line(detail)})" if detail else "")
        self.skipped.append(Skipped(label, one_line(reason)))

    def _handle(self, result: _Result) -> None:
        """Read one source; whatever goes wrong is that source's Skipped line, as for files."""
        source = result.source
        try:
            self._handle_one(result)
        except SkipDocument as exc:
            self._fail(source, str(exc), getattr(exc, "detail", None))
        except Exception as exc:  # noqa: BLE001 - a reader bug must not cost the other sources
            log.debug("reading %s failed", source.label, exc_info=True)
            self._fail(source, f"could not be parsed ({_describe(exc)})")

    def _fail(self, source: _Source, reason: str, detail: str | None = None) -> None:
        self._skip(source.label, reason, detail)
        # Not seen this time is not gone: what it listed stays known (see state.save).
        self.memory.unavailable(source.where)

    def _handle_one(self, result: _Result) -> None:
        source = result.source
        if result.error is not None:
            raise FetchFailed(result.error, result.detail)
        if result.fetched is not None and result.fetched.not_modified:
            log.info("%s: not modified since the last run (HTTP 304)", source.label)
            self.memory.unchanged(source.where)
            return
        data = result.data
        if not data.strip():
            raise SkipDocument("empty response" if source.local is None else "empty file")
        url = result.fetched.url if result.fetched else source.where
        if is_opml(data, source.local):
            self._read_opml(data, source, result.fetched)
            return
        try:
            feed = parse_feed(data, url=source.where, content_type=result.content_type, base=url)
        except NotAFeed as exc:
            if looks_like_html(data) and not source.expect_feed and result.fetched:
                self._read_page(result.fetched, source)
                return
            if looks_like_html(data):
                raise SkipDocument("an HTML page where a feed was expected") from None
            if not source.expect_feed and result.fetched:
                kind = result.fetched.content_type or "no content type"
                raise SkipDocument(f"neither a feed nor a web page ({kind}): {exc}") from None
            raise
        log.debug(
            "%s: feed %r, %d entries (from %s)", source.label, feed.title, len(feed.entries), url
        )
        self._read_feed(feed, source, result.fetched)

    def _read_opml(self, data: bytes, source: _Source, fetched: Fetched | None) -> None:
        """The feeds of an OPML list: each list once per run, lists within lists at most
        `opml_depth` deep, at most `opml_feeds` feeds of each."""
        url = fetched.url if fetched is not None else source.where
        names = {source.where, url}
        if names & self._lists:
            raise SkipDocument(_READ_ALREADY)
        depth = self.options.opml_depth
        if source.depth >= depth:
            raise SkipDocument(
                f"an OPML list nested more than {depth} deep (lists within lists): not read"
            )
        self._lists |= names
        # A list you keep on disk is yours: its feeds may be anywhere. One a public server
        # sends is remote content: its feeds may only be on public addresses.
        public_only = fetched is not None and fetched.public
        inner = []
        for feed_url, title in parse_opml(data):
            label = f"{feed_url} (in {source.label})"
            if safe_url(feed_url) is None:
                self._skip(label, f"not an http(s) feed address: {title or feed_url}")
            elif feed_url in self._lists:
                self._skip(label, _READ_ALREADY)
            else:
                inner.append(
                    _Source(
                        feed_url,
                        label,
                        expect_feed=True,
                        depth=source.depth + 1,
                        public_only=public_only,
                    )
                )
        cap = self.options.opml_feeds
        if len(inner) > cap:
            self._skip(
                source.label,
                f"{len(inner) - cap:,} more feeds left out (at most {cap:,} per OPML list)",
            )
            inner = inner[:cap]
        log.info("%s: %d feed(s)", source.label, len(inner))
        self._read_all(inner)

    # -- feeds ------------------------------------------------------------------------------

    def _read_feed(self, feed: Feed, source: _Source, fetched: Fetched | None) -> None:
        where = source.where
        entries, dropped = newest_of_each(feed.entries)
        wanted: list[tuple[Entry, str]] = []
        for entry in entries:
            verdict = self.memory.wanted(where, entry.key, entry.fingerprint, entry.date)
            if verdict and (entry.key, entry.link) not in self._included:
                wanted.append((entry, verdict))
        # Reported while the entry is new to this feed, not on every run that lists it.
        offered = {entry.key for entry, _ in wanted}
        doubles = [entry for entry in dropped if entry.key in offered]
        if doubles:
            count, ids = len(doubles), _some(dict.fromkeys(e.key for e in doubles))
            self._skip(
                f"{source.label} ({feed.title})",
                f"1 entry left out: it has the same id as a newer entry of this feed ({ids})"
                if count == 1
                else f"{count:,} entries left out: they have the same id as newer entries of "
                f"this feed ({ids})",
            )
        # The newest first; entries without a date keep the feed's own order.
        newest = sorted(wanted, key=lambda ev: _timestamp(ev[0].date), reverse=True)
        cap = self.options.max_entries
        kept = newest[:cap]
        if len(newest) > cap:
            self._skip(
                f"{source.label} ({feed.title})",
                f"{len(newest) - cap:,} older entries left out (at most {cap:,} per feed: "
                "--max-entries)",
            )
        kept_keys = {entry.key for entry, _ in kept}
        kept = [(e, v) for e, v in wanted if e.key in kept_keys]  # back to the feed's order
        # Links in a feed file on disk or in a feed a public server sent may only lead to
        # public addresses; a feed served from your own network may link into it.
        public_only = fetched is None or fetched.public
        pages = self._fetch_pages([e for e, _ in kept], public_only)
        for entry, verdict in kept:
            page, teaser = pages.get(entry.key, (None, None))
            note = teaser.note if teaser is not None else None
            try:
                document = entry_document(entry, feed, page=page, note=note)
            except Exception as exc:  # noqa: BLE001 - one entry's failure, not the feed's
                log.debug("entry %r of %s failed", entry.key, source.label, exc_info=True)
                self._skip(_entry_label(entry, feed), f"could not be parsed ({_describe(exc)})")
                continue
            if verdict == "updated":
                document = _with_note(document, "Updated since an earlier digest.")
            if document.words == 0:
                why = teaser.skipped if teaser is not None else "the entry has no text"
                self._skip(_entry_label(entry, feed), why)
            else:
                self.documents.append(document)
                if entry.link:
                    self._included.add((entry.key, entry.link))
        # Everything the feed lists is now known, kept or not, so re-ordering or re-publishing
        # never brings an old item back; recorded only when the digest is written.
        for entry in entries:
            self.memory.record(where, entry.key, entry.fingerprint)
        if fetched is not None:
            self.memory.fetched(where, fetched.validators)

    def _fetch_pages(
        self, entries: list[Entry], public_only: bool
    ) -> dict[str, tuple[Document | None, TeaserOnly | None]]:
        """The linked article of each teaser-only entry, or why the teaser is all there is."""
        teasers = [e for e in entries if e.teaser]
        if not teasers:
            return {}
        if not self.options.fetch_articles:
            return {e.key: (None, FETCHING_OFF) for e in teasers}
        if self._pages is None:
            self._pages = self.memory.pages()  # read here, before the threads share it

        def one(entry: Entry) -> tuple[Document | None, TeaserOnly | None]:
            if entry.link is None:
                return None, NO_LINK
            try:
                page = self._article_page(entry.link, public_only)
            except BackingOff as exc:
                log.info("article page of %r not fetched (%s): %s", entry.title, entry.link, exc)
                return None, UNAVAILABLE
            except Exception as exc:  # noqa: BLE001 - the teaser is still there to summarise
                if not isinstance(exc, SkipDocument):  # a bug: its traceback for -v
                    log.debug("article of %r failed", entry.title, exc_info=True)
                detail = getattr(exc, "detail", None)
                why = str(exc) if isinstance(exc, SkipDocument) else _describe(exc)
                why += f" ({one_line(detail)})" if detail else ""
                where = f"article page of {entry.title!r} ({entry.link})"
                log.warning("%s could not be had: %s; the teaser is summarised", where, why)
                return None, UNAVAILABLE
            if page.words <= entry.words:
                log.info("article page of %r holds no more than its teaser", entry.title)
                return None, NO_MORE
            return page, None

        found = self._in_parallel(teasers, one, "fetch")
        return {entry.key: result for entry, result in zip(teasers, found, strict=True)}

    def _article_page(self, url: str, public_only: bool) -> Document:
        """The page at `url`, read; from the page cache when it answers 304, and not asked
        at all while it is backing off after a failure (--refresh ignores both)."""
        cache, record = self._pages, None
        if cache is not None and not self.options.refresh:
            record = cache.get(url)
            if record is not None and record.waiting(now := cache.now()):
                raise BackingOff(backoff_reason(record, now))
        stored = record.article if record is not None else None
        try:
            validators = record.validators if record is not None and stored else None
            answer = self._fetcher.get(url, validators, public_only=public_only)
            if answer.not_modified and stored is not None:
                log.debug("%s: not modified (HTTP 304), the stored article stands", url)
                if cache is not None:
                    cache.reused(url)
                return stored
            if not looks_like_html(answer.content) and "html" not in answer.content_type:
                raise SkipDocument(f"not an HTML page ({answer.content_type or 'unknown type'})")
            page = read_page(answer)
        except SkipDocument as exc:
            if cache is not None:
                cache.failed(url, str(exc))
            raise
        if cache is not None:
            cache.stored(url, answer.validators, page)
        return page

    # -- web pages --------------------------------------------------------------------------

    def _read_page(self, fetched: Fetched, source: _Source) -> None:
        page = read_page(fetched)
        if page.words == 0:
            raise SkipDocument("headings but no prose")
        where = source.where
        # A page whose article changed is new again, as a changed file is; what the page
        # shows around its article (times, counters, "Most read") is no change.
        fingerprint, when = article_fingerprint(page), _page_date(page)
        verdict = self.memory.wanted(
            where, where, fingerprint, when, page=True
        ) and self.memory.wanted(where, where, legacy_page_fingerprint(page), when, page=True)
        self.memory.record(where, where, fingerprint)
        self.memory.fetched(where, fetched.validators)
        if verdict is not None:
            self.documents.append(page)


def read_page(fetched: Fetched) -> Document:
    """A fetched HTML page read like an HTML file (the same reader), linked to its URL."""
    from digest.sources.decoding import decode_bytes
    from digest.sources.html import parse_html

    text = _decode(fetched.content, fetched.headers.get("content-type", ""), decode_bytes)
    name = Path(urlsplit(fetched.url).path).name or (urlsplit(fetched.url).hostname or "page")
    document = parse_html(text, Path(name))
    return replace(document, link=safe_url(fetched.url), origin=fetched.url)


def _decode(data: bytes, content_type: str, fallback: Callable[[bytes], str]) -> str:
    """Decode with the charset the server named, else detect it as for files."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            try:
                return data.decode(value.strip().strip("\"'"))
            # ValueError: a NUL in the name; UnicodeError: punycode's own failures.
            except (LookupError, ValueError):
                break
    return fallback(data)


_READ_ALREADY = "an OPML list already read in this run (lists that name themselves or each other)"


def _some(items: Iterable[str], shown: int = 3) -> str:
    """'a, b, c and 2 more': a Skipped line stays one readable line."""
    listed = list(items)
    more = f" and {len(listed) - shown:,} more" if len(listed) > shown else ""
    return ", ".join(listed[:shown]) + more


def _describe(exc: BaseException) -> str:
    """An unexpected exception in one line: its type and the start of its message."""
    message = one_line(str(exc))[:200]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _with_note(document: Document, note: str) -> Document:
    return replace(document, note=f"{document.note} {note}" if document.note else note)


def _entry_label(entry: Entry, feed: Feed) -> str:
    return entry.link or f"{feed.url} ({entry.title or entry.key})"


def _timestamp(when: _dt.datetime | None) -> float:
    return when.timestamp() if when else float("-inf")


def _page_date(page: Document) -> _dt.datetime | None:
    if not page.date:
        return None
    try:
        when = _dt.datetime.fromisoformat(page.date)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
