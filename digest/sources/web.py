"""URLs, feed files and OPML lists → documents: fetched politely, only what is new, never fatal."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from digest.defaults import DEFAULT_MAX_ENTRIES
from digest.errors import SkipDocument
from digest.http import Fetched, Fetcher, FetchPolicy, Validators
from digest.model import Document, Skipped
from digest.sources import display_path, read_bytes
from digest.sources.feeds import (
    FEED_SUFFIXES,
    Entry,
    Feed,
    NotAFeed,
    entry_document,
    looks_like_html,
    parse_feed,
)
from digest.text import one_line
from digest.urls import is_url, safe_url

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
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
    http: FetchPolicy = field(default_factory=FetchPolicy)


class Memory(Protocol):
    """What was seen before (digest.state.RemoteMemory keeps it in the output folder)."""

    def validators(self, url: str) -> Validators | None: ...
    def fetched(self, url: str, validators: Validators) -> None: ...
    def unchanged(self, url: str) -> None: ...
    def wanted(
        self, key: str, fingerprint: str, when: _dt.datetime | None, *, page: bool = False
    ) -> str | None: ...
    def record(self, key: str, fingerprint: str, feed: str) -> None: ...


class Everything:
    """The memory of a run without a state: every entry is wanted, nothing is conditional."""

    def validators(self, url: str) -> Validators | None:
        return None

    def fetched(self, url: str, validators: Validators) -> None:
        pass

    def unchanged(self, url: str) -> None:
        pass

    def wanted(
        self, key: str, fingerprint: str, when: _dt.datetime | None, *, page: bool = False
    ) -> str | None:
        return "new"

    def record(self, key: str, fingerprint: str, feed: str) -> None:
        pass


@dataclass(frozen=True)
class _Source:
    """One thing to read: a URL or a local file; `expect_feed` when only a feed makes sense;
    `public_only` when the URL was found in remote content (digest.http's network policy)."""

    where: str
    label: str
    expect_feed: bool
    local: Path | None = None
    public_only: bool = False


@dataclass
class _Result:
    source: _Source
    fetched: Fetched | None = None
    data: bytes = b""
    content_type: str | None = None
    error: str | None = None


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
        self._keys: set[str] = set()

    def read(self, sources: Sequence[str | Path]) -> tuple[list[Document], list[Skipped]]:
        with Fetcher(self.options.http) as fetcher:
            self._fetcher = fetcher
            first = [self._source(s) for s in sources]
            for result in self._load(first):
                self._handle(result)
        return self.documents, self.skipped

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
        if source.local is not None:
            return self._read_local(source)
        try:
            answer = self._fetcher.get(
                source.where,
                self.memory.validators(source.where),
                public_only=source.public_only,
            )
        except SkipDocument as exc:
            return _Result(source, error=str(exc))
        return _Result(source, answer, answer.content, answer.headers.get("content-type"))

    def _read_local(self, source: _Source) -> _Result:
        assert source.local is not None
        try:
            data = read_bytes(source.local, max_bytes=self.options.http.max_bytes)
        except SkipDocument as exc:  # as for any file: too large, unreadable, a folder...
            return _Result(source, error=str(exc))
        return _Result(source, data=data)

    # -- what came back ---------------------------------------------------------------------

    def _skip(self, label: str, reason: str) -> None:
        log.warning("skipped %s: %s", label, reason)
        self.skipped.append(Skipped(label, one_line(reason)))

    def _handle(self, result: _Result) -> None:
        source = result.source
        if result.error is not None:
            self._skip(source.label, result.error)
            return
        if result.fetched is not None and result.fetched.not_modified:
            log.info("%s: not modified since the last run (HTTP 304)", source.label)
            self.memory.unchanged(source.where)
            return
        data = result.data
        if not data.strip():
            self._skip(source.label, "empty response" if source.local is None else "empty file")
            return
        if _is_opml(data, source):
            self._read_opml(data, source, result.fetched)
            return
        url = result.fetched.url if result.fetched else source.where
        try:
            feed = parse_feed(data, url=source.where, content_type=result.content_type, base=url)
        except NotAFeed as exc:
            if looks_like_html(data) and not source.expect_feed and result.fetched:
                self._read_page(result.fetched, source)
            elif looks_like_html(data):
                self._skip(source.label, "an HTML page where a feed was expected")
            elif not source.expect_feed and result.fetched:
                kind = result.fetched.content_type or "no content type"
                self._skip(source.label, f"neither a feed nor a web page ({kind}): {exc}")
            else:
                self._skip(source.label, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a parser bug must not cost the other sources
            self._skip(source.label, f"could not be parsed ({type(exc).__name__}: {exc})")
            return
        log.debug(
            "%s: feed %r, %d entries (from %s)", source.label, feed.title, len(feed.entries), url
        )
        self._read_feed(feed, source, result.fetched)

    def _read_opml(self, data: bytes, source: _Source, fetched: Fetched | None) -> None:
        from digest.sources.opml import parse_opml

        try:
            feeds = parse_opml(data)
        except SkipDocument as exc:
            self._skip(source.label, str(exc))
            return
        # A list you keep on disk is yours: its feeds may be anywhere. One a public server
        # sends is remote content: its feeds may only be on public addresses.
        public_only = fetched is not None and fetched.public
        inner = []
        for url, title in feeds:
            label = f"{url} (in {source.label})"
            if safe_url(url) is None:
                self._skip(label, f"not an http(s) feed address: {title or url}")
                continue
            inner.append(_Source(url, label, expect_feed=True, public_only=public_only))
        log.info("%s: %d feed(s)", source.label, len(inner))
        for result in self._load(inner):
            self._handle(result)

    # -- feeds ------------------------------------------------------------------------------

    def _read_feed(self, feed: Feed, source: _Source, fetched: Fetched | None) -> None:
        wanted: list[tuple[Entry, str]] = []
        for entry in feed.entries:
            if entry.key in self._keys:
                continue  # the same item in two feeds of this run: once is enough
            self._keys.add(entry.key)
            verdict = self.memory.wanted(entry.key, entry.fingerprint, entry.date)
            if verdict:
                wanted.append((entry, verdict))
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
            page, note = pages.get(entry.key, (None, None))
            document = entry_document(entry, feed, page=page, note=note)
            if verdict == "updated":
                document = _with_note(document, "Updated since an earlier digest.")
            if document.words == 0:
                why = f" ({note})" if note else ""
                self._skip(_entry_label(entry, feed), f"the entry has no text{why}")
            else:
                self.documents.append(document)
        # Everything the feed lists is now known, kept or not, so re-ordering or re-publishing
        # never brings an old item back; recorded only when the digest is written.
        for entry in feed.entries:
            self.memory.record(entry.key, entry.fingerprint, source.where)
        if fetched is not None:
            self.memory.fetched(source.where, fetched.validators)

    def _fetch_pages(
        self, entries: list[Entry], public_only: bool
    ) -> dict[str, tuple[Document | None, str | None]]:
        """The linked article of each teaser-only entry (or a note saying why there is none)."""
        teasers = [e for e in entries if e.teaser]
        if not teasers:
            return {}
        if not self.options.fetch_articles:
            note = "Summarised from the feed's teaser (fetching articles is switched off)."
            return {e.key: (None, note) for e in teasers}

        def one(entry: Entry) -> tuple[Document | None, str | None]:
            try:
                return self._article(entry, public_only), None
            except SkipDocument as exc:
                where = entry.link or "no link"
                log.info("article of %r not fetched (%s): %s", entry.title, where, exc)
                return (
                    None,
                    f"Summarised from the feed's teaser: the article could not be had ({exc}).",
                )

        found = self._in_parallel(teasers, one, "fetch")
        return {entry.key: result for entry, result in zip(teasers, found, strict=True)}

    def _article(self, entry: Entry, public_only: bool) -> Document:
        if entry.link is None:
            raise SkipDocument("the entry has no http(s) link")
        answer = self._fetcher.get(entry.link, public_only=public_only)
        if not looks_like_html(answer.content) and "html" not in answer.content_type:
            raise SkipDocument(f"not an HTML page ({answer.content_type or 'unknown type'})")
        page = read_page(answer)
        if page.words <= entry.words:
            raise SkipDocument("the page holds no more than the teaser")
        return page

    # -- web pages --------------------------------------------------------------------------

    def _read_page(self, fetched: Fetched, source: _Source) -> None:
        try:
            page = read_page(fetched)
            if page.words == 0:
                raise SkipDocument("headings but no prose")
        except SkipDocument as exc:
            self._skip(source.label, str(exc))
            return
        key = source.where
        if key in self._keys:
            return
        self._keys.add(key)
        text_hash = hashlib.sha256(page.text.encode("utf-8")).hexdigest()[:32]
        # A page that changed is new again, as a changed file is.
        verdict = self.memory.wanted(key, text_hash, _page_date(page), page=True)
        self.memory.record(key, text_hash, source.where)
        self.memory.fetched(source.where, fetched.validators)
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
            except (LookupError, UnicodeDecodeError):
                break
    return fallback(data)


def _is_opml(data: bytes, source: _Source) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if source.local is not None and source.local.suffix.lower() == ".opml":
        return True
    return b"<opml" in head


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
