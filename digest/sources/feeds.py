"""Feed reader: RSS, Atom and JSON Feed bytes → a Feed of entries, and an entry → a Document."""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from digest.errors import SkipDocument
from digest.model import Document, Section
from digest.sources.clutter import Block, drop_clutter
from digest.sources.prolog import declares_entities
from digest.text import normalise_space, one_line
from digest.urls import safe_url

log = logging.getLogger(__name__)

#: Below this many words an entry's text is a teaser, not the article.
TEASER_WORDS = 150
#: Suffixes of files (and URL paths) that hold a feed.
FEED_SUFFIXES = frozenset({".rss", ".atom", ".xml", ".json", ".rdf"})

# A comment's text may not run past its first "-->": with `.*?` a run of comments could be
# split into comments in exponentially many ways, and 30 of them before a non-HTML root
# took minutes to refuse (found by tests/test_fuzz_readers.py).
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--(?:(?!-->).)*-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.I | re.S,
)
_XML_FEED = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)\b", re.I)
_TAGS = re.compile(r"<[^>]+>")


class NotAFeed(SkipDocument):
    """The bytes hold no feed (HTML, broken XML, an empty feed); the message says which."""


@dataclass(frozen=True)
class Entry:
    """One feed item, as data: nothing here has been trusted or rendered yet."""

    key: str
    fingerprint: str
    title: str
    link: str | None
    author: str | None
    published: _dt.datetime | None
    updated: _dt.datetime | None
    #: The entry's own text (HTML unless `html` is False); the article or only a teaser.
    body: str
    html: bool
    teaser: bool

    @property
    def date(self) -> _dt.datetime | None:
        return self.published or self.updated

    @property
    def words(self) -> int:
        return len(text_of(self.body, self.html).split())


@dataclass(frozen=True)
class Feed:
    title: str
    url: str
    entries: tuple[Entry, ...]


def looks_like_html(data: bytes) -> bool:
    return bool(_HTML_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")))


def sniff_feed(data: bytes) -> bool:
    """Whether bytes look like RSS/Atom/RDF or a JSON Feed (used for .xml/.json in folders)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if head.lstrip().startswith(b"{"):
        return b"jsonfeed.org" in head
    return not looks_like_html(head) and bool(_XML_FEED.search(head))


def text_of(body: str, is_html: bool = True) -> str:
    if not is_html:
        return normalise_space(body)
    return normalise_space(html.unescape(_TAGS.sub(" ", body)))


def parse_feed(
    data: bytes, *, url: str, content_type: str | None = None, base: str | None = None
) -> Feed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed bytes; raise NotAFeed with a one-line reason.

    `url` names the feed (its entries' identity); relative links resolve against `base`
    (where the bytes came from after redirects), else `url`.
    """
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{") or (content_type or "").endswith("json"):
        return parse_json_feed(data, url=url, base=base)
    if looks_like_html(data):
        raise NotAFeed("an HTML page, not a feed")
    # Imported here: feedparser is only needed when there are feeds.
    import feedparser
    from feedparser.encodings import convert_to_utf8

    headers = {
        "content-type": content_type or "application/xml",
        # Content-Location is the base feedparser resolves relative links against.
        "content-location": base or url,
    }
    # feedparser's own failures on hostile bytes: its loose parser calls chr() on any
    # character reference ("&#99999999999;" raises ValueError), and its encoding sniffing
    # decodes with whatever name the XML declaration gives ('encoding="\x00"' raises too).
    try:
        # Looked for in the UTF-8 that both of feedparser's parsers are given, whatever
        # encoding the bytes, their XML declaration or the server named.
        entities = declares_entities(convert_to_utf8(dict(headers), data, {}))
        # Bytes, never a URL: feedparser would fetch a URL itself, past every limit we set.
        parsed = (
            None
            if entities
            else feedparser.parse(
                data, response_headers=headers, resolve_relative_uris=True, sanitize_html=True
            )
        )
    except Exception as exc:  # noqa: BLE001 - the bytes are unreadable, whatever the error
        reason = f"{type(exc).__name__}: {one_line(str(exc))[:120]}"
        raise NotAFeed(f"not a readable feed ({reason})") from None
    if parsed is None:
        raise NotAFeed(
            "refused: it declares XML entities (<!ENTITY>), which could expand it past any "
            "size limit"
        )
    if not parsed.entries:
        if parsed.bozo:
            problem = one_line(str(parsed.get("bozo_exception", "")))[:160]
            raise NotAFeed(f"not a readable feed (malformed XML: {problem or 'unknown error'})")
        if not parsed.get("version"):
            raise NotAFeed("not a feed (no RSS, Atom or JSON Feed found)")
        raise NotAFeed("the feed has no entries")
    if parsed.bozo:
        log.info("%s: feed has errors but was read (%s)", url, parsed.get("bozo_exception"))
    atom = str(parsed.get("version") or "").startswith("atom")
    title = one_line(parsed.feed.get("title")) or _name_from_url(url)
    entries = tuple(_feedparser_entry(e, atom=atom) for e in parsed.entries)
    return Feed(title=title, url=url, entries=entries)


def _feedparser_entry(e: Any, *, atom: bool) -> Entry:
    contents = [c for c in e.get("content") or () if normalise_space(c.get("value", ""))]
    summary = e.get("summary") or ""
    if contents:
        # Prefer the HTML rendition when a feed offers several.
        best = max(contents, key=lambda c: ("html" in c.get("type", ""), len(c.get("value", ""))))
        body, is_html = best.get("value", ""), "html" in best.get("type", "text/html")
        teaser = len(text_of(body, is_html).split()) < TEASER_WORDS
    else:
        summary_type = (e.get("summary_detail") or {}).get("type", "text/html")
        body, is_html = summary, "html" in summary_type or "xhtml" in summary_type
        # Atom marks a summary as such; RSS's description is sometimes the whole article.
        teaser = atom or len(text_of(body, is_html).split()) < TEASER_WORDS
    link = safe_url(e.get("link"))
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed,
    # with a DeprecationWarning for every entry.
    published = _when(dict.get(e, "published_parsed"))
    updated = _when(dict.get(e, "updated_parsed"))
    title = one_line(e.get("title"))
    return Entry(
        key=entry_key(e.get("id"), e.get("link"), title, body),
        fingerprint=fingerprint(title, body),
        title=title,
        link=link,
        author=one_line(e.get("author")) or None,
        published=published,
        updated=updated,
        body=body,
        html=is_html,
        teaser=teaser,
    )


def parse_json_feed(data: bytes, *, url: str, base: str | None = None) -> Feed:
    """JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAFeed(f"not a readable JSON Feed ({one_line(str(exc))[:120]})") from None
    except RecursionError:
        raise NotAFeed("not a readable JSON Feed (nested too deeply)") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or "jsonfeed.org" not in version:
        raise NotAFeed("JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list) or not items:
        raise NotAFeed("the feed has no entries")
    title = one_line(_str(document.get("title"))) or _name_from_url(url)
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if _str(item.get("content_html")):
            body, is_html = _str(item.get("content_html")), True
            teaser = len(text_of(body).split()) < TEASER_WORDS
        elif _str(item.get("content_text")):
            body, is_html = _str(item.get("content_text")), False
            teaser = len(body.split()) < TEASER_WORDS
        else:
            body, is_html, teaser = _str(item.get("summary")), False, True
        named = _str(item.get("url")) or _str(item.get("external_url"))
        link = _resolve(base or url, named) if named else None
        authors = item.get("authors") or item.get("author") or []
        authors = authors if isinstance(authors, list) else [authors]
        names = [one_line(_str(a.get("name"))) for a in authors if isinstance(a, dict)]
        entry_title = one_line(_str(item.get("title")))
        entries.append(
            Entry(
                key=entry_key(_str(item.get("id")), link, entry_title, body),
                fingerprint=fingerprint(entry_title, body),
                title=entry_title,
                link=safe_url(link),
                author=", ".join(n for n in names if n) or None,
                published=_iso(item.get("date_published")),
                updated=_iso(item.get("date_modified")),
                body=body,
                html=is_html,
                teaser=teaser,
            )
        )
    if not entries:
        raise NotAFeed("the feed has no entries")
    return Feed(title=title, url=url, entries=tuple(entries))


def entry_key(guid: str | None, link: str | None, title: str, body: str) -> str:
    """An entry's identity within its feed: its GUID/id, else its link, else a hash of what it
    says. Never across feeds: another feed may publish the same id (by mistake or on purpose),
    so what is known is always known per feed (see digest.state)."""
    guid = (guid or "").strip()
    if guid:
        return guid
    if link and link.strip():
        return link.strip()
    return "sha256:" + fingerprint(title, body)


def newest_of_each(entries: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """The feed's entries with one per identity, in the feed's order, and those left out.

    Of entries sharing an id the newest is kept (by updated, else published date); without
    dates, the first listed, as feeds list the newest first.
    """
    best: dict[str, tuple[float, int]] = {}
    for index, entry in enumerate(entries):
        rank = (_timestamp(entry.updated or entry.published), -index)
        if entry.key not in best or rank > best[entry.key]:
            best[entry.key] = rank
    kept = [e for i, e in enumerate(entries) if best[e.key][1] == -i]
    dropped = [e for i, e in enumerate(entries) if best[e.key][1] != -i]
    return kept, dropped


def _timestamp(when: _dt.datetime | None) -> float:
    return when.timestamp() if when else float("-inf")


def fingerprint(title: str, body: str) -> str:
    """A hash of what an entry says, to tell an updated entry from the one already sent."""
    text = f"{normalise_space(title)}\n{text_of(body)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _resolve(base: str, link: str) -> str | None:
    try:
        return urljoin(base, link)
    except ValueError:  # "http://[::1": no address at all
        return None


def _str(value: Any) -> str:
    """A JSON string as text; anything else is "". A lone surrogate ("\\ud800" is valid JSON)
    becomes U+FFFD: it cannot be encoded, so hashing or writing the text would fail."""
    if not isinstance(value, str):
        return ""
    return _SURROGATE.sub("\ufffd", value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _when(parsed: time.struct_time | None) -> _dt.datetime | None:
    # feedparser hands back every date it could read as UTC.
    if not parsed:
        return None
    try:
        return _dt.datetime(*parsed[:6], tzinfo=_dt.timezone.utc)
    except (TypeError, ValueError):
        return None


def _iso(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname
    return Path(parts.path).name or url


def entry_document(
    entry: Entry,
    feed: Feed,
    *,
    page: Document | None = None,
    note: str | None = None,
) -> Document:
    """The entry as a Document: its own text, or the fetched article page when given."""
    if page is not None:
        sections = page.sections
    else:
        sections = _sections(entry)
    date = entry.date
    title = entry.title or (page.title if page else "") or _first_words(entry) or "Untitled entry"
    return Document(
        path=Path(_name_from_url(entry.link or feed.url)),
        title=title,
        sections=sections,
        format="feed",
        date=date.isoformat(timespec="minutes") if date else None,
        metadata={"author": entry.author} if entry.author else {},
        link=entry.link,
        feed=feed.title,
        author=entry.author,
        origin=entry.link or f"{feed.url} ({entry.key})",
        note=note,
    )


def _first_words(entry: Entry) -> str:
    words = text_of(entry.body, entry.html).split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def _sections(entry: Entry) -> tuple[Section, ...]:
    """Sections from the entry's HTML headings, as for an HTML file; plain text is paragraphs."""
    if entry.html and entry.body.strip():
        from digest.sources.html import parse_html

        wrapped = (
            f"<html><head><title>{html.escape(entry.title)}</title></head>"
            f"<body><article>{entry.body}</article></body></html>"
        )
        try:
            document = parse_html(wrapped, Path("entry.html"))
        except SkipDocument:
            document = None
        plain = text_of(entry.body)
        # Extraction drops what it takes for boilerplate; short teasers can vanish entirely.
        if document is not None and document.words >= 0.5 * len(plain.split()):
            return document.sections
        # The teaser as plain text, unless it is only its host's footer ("submitted by … to
        # … [link] [comments]").
        paragraphs = [b.text for b in drop_clutter([Block("paragraph", plain)], None)]
        if not paragraphs and document is not None:
            return document.sections
    else:
        paragraphs = [normalise_space(p) for p in re.split(r"\n\s*\n", entry.body)]
    kept = tuple(p for p in paragraphs if p)
    return (Section(title=None, paragraphs=kept),) if kept else ()
