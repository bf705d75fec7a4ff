"""The Atom 1.0 feed of the digests (feed.xml), built with an XML library, never by templating.

An XML library escapes markup characters, but it writes control characters as they are,
which no XML parser accepts: every string is passed through xml_text first, so the feed is
well-formed whatever a document said. Each entry's content is the digest page's <main>,
cleaned once more (no scripts, no event handlers, only http(s), relative and # links) in
case a page came from a careless template of the user's own.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from digest.html_page import utc_stamp
from digest.render import plural
from digest.urls import safe_url
from digest.version import __version__

ATOM = "http://www.w3.org/2005/Atom"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
FEED_TITLE = "Digests"


class FeedEntry(Protocol):
    """What the feed needs of a digest (digest.archive.ArchiveEntry)."""

    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def updated(self) -> _dt.datetime: ...
    @property
    def articles(self) -> int: ...
    @property
    def headlines(self) -> tuple[str, ...]: ...
    @property
    def more(self) -> int: ...


# Characters XML 1.0 does not allow anywhere (C0 controls but tab and line ends, surrogates,
# U+FFFE and U+FFFF), and C1 controls, which it allows but no reader wants to see.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Elements that load, run, embed or submit something; a digest page has none of them.
_DROPPED = frozenset(
    "script style iframe frame frameset object embed applet form input button textarea select "
    "option link meta base img picture source video audio track svg math template noscript "
    "canvas map area portal".split()
)
# Attributes that name something to load or hold code or style.
_URL_ATTRIBUTES = frozenset("src srcset action formaction background poster data xmlns".split())


def xml_text(text: str | None) -> str:
    """`text` with every character XML cannot carry removed."""
    return _NOT_XML.sub("", text or "")


def _safe_href(value: str) -> bool:
    """Links a feed entry may keep: #anchors, http(s) URLs and plain relative paths."""
    value = value.strip()
    if value.startswith("#"):
        return not any(ch.isspace() or ord(ch) < 32 for ch in value)
    if safe_url(value):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    relative = not parts.scheme and not parts.netloc and not value.startswith(("/", "\\"))
    return relative and bool(value) and not any(ch.isspace() or ord(ch) < 32 for ch in value)


def clean(root: Any) -> Any:
    """Strip, in place, what could load or run anything from an lxml element tree."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # a comment or a processing instruction
            if element.getparent() is not None:
                element.drop_tree()
            continue
        if element.tag.lower() in _DROPPED:
            element.drop_tree()
            continue
        for name in list(element.attrib):
            lowered = name.lower()
            if (
                lowered.startswith("on")
                or lowered in _URL_ATTRIBUTES
                or lowered == "style"
                or (lowered == "href" and not _safe_href(element.get(name, "")))
                or ":" in lowered
            ):
                del element.attrib[name]
    return root


def page_body(root: Any) -> str:
    """The HTML of a digest page's <main> (or <body>), cleaned, as a feed entry's content."""
    import lxml.html

    main = next(root.iter("main"), None)
    if main is None:
        main = root.find("body") if root.find("body") is not None else root
    clean(main)
    inner = (main.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in main
    )
    return xml_text(inner.strip())


def entry_id(name: str, site: str | None) -> str:
    """A stable id for a digest: the same file name (and site) gives the same id on every run
    and machine; the site URL is part of it, so two folders served apart never share ids."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, (site or "digest:") + name))


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _summary(entry: FeedEntry) -> str:
    more = " · …" if entry.more else ""
    headlines = ": " + " · ".join(entry.headlines) + more if entry.headlines else ""
    return plural(entry.articles, "article") + headlines


def build_feed(
    items: Sequence[tuple[FeedEntry, str]],
    *,
    site: str | None = None,
    home: str = "index.html",
    name: str = "feed.xml",
    updated: _dt.datetime | None = None,
) -> bytes:
    """The feed (saved as `name`) for (entry, content HTML) pairs, newest first; links are
    absolute under `site` (a base URL ending in '/') and relative to the feed's own address
    without one. `home` is the archive page; `updated` stands in when there are no entries."""
    base = site or ""
    newest = max((entry.updated for entry, _ in items), default=None)
    # Plain names under a default namespace declared once (ElementTree would otherwise
    # invent an "ns0:" prefix, which some feed readers choke on).
    feed = ET.Element("feed", {"xmlns": ATOM})
    _add(feed, "id", entry_id(name, site))
    _add(feed, "title", FEED_TITLE)
    _add(feed, "updated", utc_stamp(newest or updated or _dt.datetime.now(_dt.timezone.utc)))
    _add(feed, "link", rel="alternate", type="text/html", href=base + home)
    if site:
        # Atom wants the feed's own address absolute; without a site it is simply unknown.
        _add(feed, "link", rel="self", type="application/atom+xml", href=site + name)
    author = _add(feed, "author")
    _add(author, "name", "digest")
    _add(feed, "generator", "digest", version=__version__)
    for entry, body in items:
        page = base + entry.name
        item = _add(feed, "entry")
        _add(item, "id", entry_id(entry.name, site))
        _add(item, "title", entry.title, type="text")
        _add(item, "updated", utc_stamp(entry.updated))
        _add(item, "link", rel="alternate", type="text/html", href=page)
        _add(item, "summary", _summary(entry), type="text")
        content = _add(item, "content", body, type="html")
        # The page's own #article-N links, relative in the body, resolve against the page.
        content.set(_XML_BASE, xml_text(page))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
