"""Web pages across runs: the output folder's page cache (validators, the article read, when a
page that failed may be tried again), what readers are told when a teaser's page is not used,
and the fingerprint that says whether an article changed."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digest.errors import SkipDocument
from digest.files import write_atomic
from digest.http import Validators
from digest.model import Document, Section

log = logging.getLogger(__name__)

PAGES_FILENAME = ".digest-pages.json"
PAGES_VERSION = 1
#: A page that failed is not tried again for an hour, then two, four… at most twelve: an
#: hourly run stops hammering a dead page, a nightly one always tries again.
FIRST_BACKOFF = _dt.timedelta(hours=1)
MAX_BACKOFF = _dt.timedelta(hours=12)
#: A page no run has asked for this long is forgotten (its entry has left the feeds).
FORGET_PAGES_AFTER = _dt.timedelta(days=30)
#: The cache's bounds: the pages used least recently go first.
MAX_PAGES = 2000
MAX_STORED_CHARS = 20_000_000
#: An article longer than this (in characters of text) is not kept at all.
MAX_ARTICLE_CHARS = 2_000_000


def _now() -> _dt.datetime:
    return _dt.datetime.now().astimezone()


@dataclass(frozen=True)
class PageRecord:
    """What the cache knows of one page URL (the link as found, before redirects)."""

    used: _dt.datetime
    validators: Validators = Validators()
    #: The article read from the page's last full answer, reused when it answers 304.
    article: Document | None = None
    #: Failures in a row, the last one's reason, and when the page may be tried again.
    failures: int = 0
    reason: str | None = None
    retry_at: _dt.datetime | None = None

    def waiting(self, now: _dt.datetime) -> bool:
        return self.retry_at is not None and now < self.retry_at

    @property
    def size(self) -> int:
        return len(self.article.full_text) if self.article is not None else 0


class PageCache:
    """DIR/.digest-pages.json, beside the state: read when a run first fetches an article page,
    written (atomically, pruned to its bounds) when the state is saved. Thread-safe: pages are
    fetched from a thread pool."""

    def __init__(
        self,
        folder: Path,
        records: dict[str, PageRecord] | None = None,
        *,
        clock: Callable[[], _dt.datetime] = _now,
        writable: bool = True,
    ) -> None:
        self.folder = folder
        self._records = dict(records or {})
        self._clock = clock
        self._lock = threading.RLock()
        self._writable = writable
        self._changed = False

    @property
    def path(self) -> Path:
        return self.folder / PAGES_FILENAME

    @classmethod
    def load(cls, folder: Path, *, clock: Callable[[], _dt.datetime] = _now) -> PageCache:
        """The folder's page cache; a missing or unreadable file is an empty cache (it is
        only a cache), and one written by a newer version is read as empty and left alone."""
        path = folder / PAGES_FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(folder, clock=clock)
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("ignored %s (%s): article pages are fetched afresh", path, exc)
            return cls(folder, clock=clock)
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > PAGES_VERSION:
            log.warning("%s was written by a newer digest: not used, and left as it is", path)
            return cls(folder, clock=clock, writable=False)
        pages = data.get("pages") if isinstance(data, dict) else None
        records: dict[str, PageRecord] = {}
        for url, value in (pages if isinstance(pages, dict) else {}).items():
            try:
                records[str(url)] = _record_from_json(value)
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
                log.debug("dropped a malformed page record for %s", url)
        return cls(folder, records, clock=clock)

    def now(self) -> _dt.datetime:
        return self._clock()

    def get(self, url: str) -> PageRecord | None:
        with self._lock:
            return self._records.get(url)

    def stored(self, url: str, validators: Validators, article: Document) -> None:
        """A full answer: its validators and the article read from it, for the next run."""
        kept = article if len(article.full_text) <= MAX_ARTICLE_CHARS else None
        self._put(url, PageRecord(self.now(), validators if kept else Validators(), kept))

    def reused(self, url: str) -> None:
        """The page answered 304: its stored article stands (and stays in the cache)."""
        with self._lock:
            record = self._records.get(url)
            if record is not None:
                fresh = replace(record, used=self.now(), failures=0, reason=None, retry_at=None)
                self._put(url, fresh)

    def failed(self, url: str, reason: str) -> PageRecord:
        """A failure: the page is left alone for FIRST_BACKOFF, doubled with each failure in
        a row (at most MAX_BACKOFF). What was stored before is kept for the next try."""
        now = self.now()
        with self._lock:
            record = self._records.get(url) or PageRecord(now)
            failures = record.failures + 1
            until = now + min(FIRST_BACKOFF * 2 ** min(failures - 1, 16), MAX_BACKOFF)
            record = replace(record, used=now, failures=failures, reason=reason, retry_at=until)
            self._put(url, record)
        return record

    def _put(self, url: str, record: PageRecord) -> None:
        with self._lock:
            self._records[url] = record
            self._changed = True

    def save(self, *, now: _dt.datetime | None = None) -> Path | None:
        """Write the cache, less pages unused for FORGET_PAGES_AFTER, within its bounds."""
        if not self._changed or not self._writable:
            return None
        now = (now or self.now()).astimezone()
        with self._lock:
            records = sorted(self._records.items(), key=lambda item: item[1].used, reverse=True)
        kept: dict[str, Any] = {}
        chars = 0
        for url, record in records:
            if now - record.used > FORGET_PAGES_AFTER or len(kept) >= MAX_PAGES:
                continue
            if chars + record.size > MAX_STORED_CHARS:
                continue  # room for smaller pages used less recently
            chars += record.size
            kept[url] = _record_to_json(record)
        data = {"version": PAGES_VERSION, "pages": dict(sorted(kept.items()))}
        return write_atomic(self.path, json.dumps(data, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class TeaserOnly:
    """Why a teaser-only feed entry is summarised from its teaser: the note readers see with
    it, and the one reason its Skipped line gives when the teaser has no text either. Readers
    get these few words; what went wrong with the page (an address, an errno) is logged."""

    note: str
    skipped: str


FETCHING_OFF = TeaserOnly(
    "Summarised from the feed's teaser (fetching articles is switched off).",
    "the entry has no text, and fetching articles is switched off",
)
NO_LINK = TeaserOnly(
    "Summarised from the feed's teaser (the entry links to no page).",
    "the entry has no text and links to no page",
)
NO_MORE = TeaserOnly(
    "Summarised from the feed's teaser (the page holds no more).",
    "neither the entry nor its page has any text",
)
UNAVAILABLE = TeaserOnly(
    "Page unavailable; summarised from the feed's teaser.",
    "the entry has no text and its page is unavailable",
)


class BackingOff(SkipDocument):
    """A page that failed lately is not asked again yet (the failure was logged then)."""


def backoff_reason(record: PageRecord, now: _dt.datetime) -> str:
    """The one-line reason a page is not fetched now: 'not retried until 14:32: HTTP 404'."""
    assert record.retry_at is not None
    until = record.retry_at.astimezone(now.tzinfo)
    shown = until.strftime("%H:%M" if until.date() == now.date() else "%Y-%m-%d %H:%M")
    return f"not retried until {shown}: {record.reason or 'it failed'}"


# -- the page file's records -------------------------------------------------------------------


def _record_to_json(record: PageRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"used": record.used.isoformat(timespec="seconds")}
    if record.validators.etag:
        data["etag"] = record.validators.etag
    if record.validators.last_modified:
        data["last_modified"] = record.validators.last_modified
    if record.article is not None:
        data["article"] = _document_to_json(record.article)
    if record.failures:
        assert record.retry_at is not None
        data.update(
            failures=record.failures,
            reason=record.reason or "",
            retry_at=record.retry_at.isoformat(timespec="seconds"),
        )
    return data


def _record_from_json(data: dict[str, Any]) -> PageRecord:
    failures = int(data.get("failures", 0))
    article = data.get("article")
    return PageRecord(
        used=_when(data["used"]),
        validators=Validators(_text(data.get("etag")), _text(data.get("last_modified"))),
        article=_document_from_json(article) if article is not None else None,
        failures=failures,
        reason=_text(data.get("reason")) if failures else None,
        retry_at=_when(data["retry_at"]) if failures else None,
    )


def _when(value: object) -> _dt.datetime:
    when = _dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected text, not {type(value).__name__}")
    return value or None


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of texts")
    return tuple(value)


def _document_to_json(document: Document) -> dict[str, Any]:
    return {
        "path": document.path.name,
        "title": document.title,
        "date": document.date,
        "metadata": dict(document.metadata),
        "link": document.link,
        "origin": document.origin,
        "sections": [_section_to_json(s) for s in document.sections],
    }


def _document_from_json(data: dict[str, Any]) -> Document:
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TypeError("metadata is not a table")
    return Document(
        path=Path(Path(str(data["path"])).name or "page"),
        title=str(data["title"]),
        sections=tuple(_section_from_json(s, 1) for s in data["sections"]),
        format="html",
        date=_text(data.get("date")),
        metadata={str(k): str(v) for k, v in metadata.items()},
        link=_text(data.get("link")),
        origin=_text(data.get("origin")),
        # The reader keeps og:site_name as metadata "site": the outlet, as parse_html sets it.
        outlet=_text(metadata.get("site")),
    )


def _section_to_json(section: Section) -> dict[str, Any]:
    data: dict[str, Any] = {"title": section.title, "paragraphs": list(section.paragraphs)}
    if section.kicker:
        data["kicker"] = section.kicker
    if section.level:
        data["level"] = section.level
    if section.verbatim:
        data["verbatim"] = list(section.verbatim)
    if section.sections:
        data["sections"] = [_section_to_json(s) for s in section.sections]
    return data


def _section_from_json(data: dict[str, Any], depth: int) -> Section:
    if depth > 8:  # headings go h1-h6: anything deeper was not written by us
        raise ValueError("sections nested too deeply")
    return Section(
        title=_text(data.get("title")),
        paragraphs=_texts(data["paragraphs"]),
        kicker=_text(data.get("kicker")),
        level=int(data.get("level", 0)),
        sections=tuple(_section_from_json(s, depth + 1) for s in data.get("sections", [])),
        verbatim=_texts(data.get("verbatim", [])),
    )


# -- whether a page's article changed ----------------------------------------------------------

#: A short line without a sentence's ending is a headline, a dateline, a "Most read" item or a
#: caption, not the article's prose (the same test the plain-text reader uses for headings).
_SHORT_LINE_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_CALENDAR = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|"
    r"wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?|"
    r"today|yesterday|tomorrow|[ap]\.?m)\b\.?",
    re.I,
)
_AGO = re.compile(r"(?<!\w)(?:#|an?|one) (?:second|minute|hour|day|week|month|year)s? ago\b", re.I)


def article_fingerprint(document: Document) -> str:
    """What decides whether a page is new again: its prose (the paragraphs the digest
    summarises, less short lines that are no sentences), without numbers, dates and times.

    A page is re-rendered around its article: a "last updated" time, a visitor count, a
    "Most read" box the extractor kept. None of those is a new article.
    """
    paragraphs = [p for s in document.all_sections() for p in s.paragraphs]
    prose = [p for p in paragraphs if _is_prose(p)] or paragraphs
    return _hash("\n".join(_plain(p) for p in prose))


def legacy_page_fingerprint(document: Document) -> str:
    """The fingerprint a state written before article_fingerprint holds for a page."""
    return _hash(document.text)


def _is_prose(paragraph: str) -> bool:
    return len(paragraph.split()) > _SHORT_LINE_WORDS or bool(_SENTENCE_END.search(paragraph))


def _plain(paragraph: str) -> str:
    text = _CALENDAR.sub("@", _NUMBER.sub("#", paragraph))
    return " ".join(_AGO.sub("# ago", text).casefold().split())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
