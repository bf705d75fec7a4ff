"""Feed parsing: RSS, Atom and JSON Feed entries, identity, teasers, dates; real feeds too."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from conftest import shared_path
from feed_fixtures import Item, Outline, atom, full_article, json_feed, opml, prose, rss

from digest.errors import SkipDocument
from digest.render import escape_markdown, link_url
from digest.sources.feeds import NotAFeed, entry_document, newest_of_each, parse_feed, sniff_feed
from digest.sources.opml import is_opml, parse_opml
from digest.sources.prolog import root_name

FEED = "https://example.org/feed.xml"


def test_rss_full_content_becomes_a_document_with_sections() -> None:
    when = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    data = rss(
        "Harbour News",
        [
            Item(
                "Ferries return",
                link="https://example.org/ferries",
                guid="https://example.org/?p=1",
                content=full_article(1),
                description="Short teaser.",
                published=when,
                author="Ana Lima",
            )
        ],
    )
    feed = parse_feed(data, url=FEED)
    assert feed.title == "Harbour News"
    (entry,) = feed.entries
    assert entry.key == "https://example.org/?p=1"  # the GUID wins over the link
    assert not entry.teaser and entry.link == "https://example.org/ferries"
    assert entry.published == when and entry.published.utcoffset() == dt.timedelta(0)
    document = entry_document(entry, feed)
    assert document.title == "Ferries return" and document.feed == "Harbour News"
    assert document.author == "Ana Lima" and document.link == "https://example.org/ferries"
    assert document.date == "2026-11-23T16:00+00:00"  # timezone-aware, in UTC
    assert [s.title for s in document.sections] == [
        "Part 1 of story 1",
        "Part 2 of story 1",
        "Part 3 of story 1",
    ]


def test_a_short_description_is_a_teaser_and_atom_summary_always_is() -> None:
    short = rss("F", [Item("Teaser", link="https://e.org/1", description="Read on.")])
    assert parse_feed(short, url=FEED).entries[0].teaser
    long = rss("F", [Item("Whole", link="https://e.org/2", description=prose(1, 20))])
    assert not parse_feed(long, url=FEED).entries[0].teaser
    summary = atom("A", [Item("Sum", link="https://e.org/3", description=prose(2, 20))])
    assert parse_feed(summary, url=FEED).entries[0].teaser
    content = atom("A", [Item("Full", link="https://e.org/4", content=full_article(3))])
    assert not parse_feed(content, url=FEED).entries[0].teaser


def test_identity_is_guid_then_link_then_content_hash() -> None:
    items = [
        Item("One", link="https://e.org/1", guid="1234", description="a"),
        Item("Two", link="https://e.org/2", description="b"),
        Item("Three", description="c"),
        Item("Three", description="c"),
    ]
    keys = [e.key for e in parse_feed(rss("F", items), url=FEED).entries]
    # Any id is only known within its feed (digest.state keeps entries per feed).
    assert keys[0] == "1234"
    assert keys[1] == "https://e.org/2"
    assert keys[2].startswith("sha256:") and keys[2] == keys[3]


def test_relative_links_resolve_against_where_the_feed_came_from() -> None:
    data = rss("F", [Item("Rel", link="/2026/story.html", description="x")])
    feed = parse_feed(data, url=FEED, base="https://news.example/feeds/all.xml")
    assert feed.entries[0].link == "https://news.example/2026/story.html"
    data = json_feed("J", [Item("Rel", link="story.html", description="x")])
    feed = parse_feed(data, url="https://j.example/a/feed.json")
    assert feed.entries[0].link == "https://j.example/a/story.html"


def test_json_feed() -> None:
    data = json_feed(
        "JSON News",
        [
            Item("Full", link="https://e.org/a", content=full_article(4), author="Bo"),
            Item("Teaser", link="https://e.org/b", description="Only this."),
        ],
    )
    feed = parse_feed(data, url="https://e.org/feed.json")
    assert feed.title == "JSON News"
    full, teaser = feed.entries
    assert not full.teaser and full.author == "Bo" and full.published is not None
    assert teaser.teaser and teaser.link == "https://e.org/b"
    assert sniff_feed(data) and not sniff_feed(b'{"version": 1}')


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<rss><channel><title>x</title></chan", "malformed XML"),
        (b"<!DOCTYPE html><html><body><p>Hello</p></body></html>", "HTML page"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
            "no entries",
        ),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "no entries"),
        (b'{"not": "a feed"}', "not a JSON Feed"),
        (b"", "no RSS, Atom or JSON Feed"),
    ],
)
def test_what_is_not_a_feed_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(NotAFeed, match=reason):
        parse_feed(data, url=FEED)


def test_links_other_than_http_are_dropped_and_escaped_in_markdown() -> None:
    data = rss(
        "F",
        [
            Item("Evil", link="javascript:alert(1)", description="x"),
            Item("Odd", link="https://e.org/a_(b)<c>?q=1 2", description="y"),
        ],
    )
    evil, odd = parse_feed(data, url=FEED).entries
    assert evil.link is None
    # feedparser keeps the URL; rendering encodes what could close a Markdown link.
    assert link_url("https://e.org/a_(b)<c>") == "https://e.org/a_%28b%29%3Cc%3E"
    assert link_url("javascript:alert(1)") == "" and link_url("data:text/html,x") == ""
    assert "](" not in escape_markdown("[x](javascript:alert(1))").replace("\\]", "")
    assert odd.link is None or " " not in link_url(odd.link)


def test_opml_lists_its_feeds_in_order() -> None:
    data = opml([Outline("https://a.org/rss", "A"), Outline("https://b.org/atom", "B")])
    assert parse_opml(data) == [("https://a.org/rss", "A"), ("https://b.org/atom", "B")]
    with pytest.raises(SkipDocument, match="names no feeds"):
        parse_opml(b"<opml><body></body></opml>")


# --- hostile documents: bounded parsing, and knowing OPML from a feed -----------------------


def _bomb(uses: int) -> str:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        f'<!ENTITY big "{"A" * 50_000}">\n]>\n'
        '<rss version="2.0"><channel><title>Bomb</title><item><title>Boom</title>'
        f"<link>https://bomb.example/1</link><description>{'&big;' * uses}</description>"
        "</item></channel></rss>"
    )


def test_a_feed_declaring_an_entity_is_refused_before_anything_expands() -> None:
    import time
    import tracemalloc

    data = _bomb(2_000).encode()  # 60 KB; expanded, 100 MB of text
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(NotAFeed, match="declares XML entities"):
            parse_feed(data, url=FEED)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak:,} bytes"
    assert time.monotonic() - started < 10
    # Not every DOCTYPE is refused, nor an entity declaration quoted in an entry's text.
    netscape = rss("Old", [Item("One", link="https://e.org/1", description="x")]).replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss',
    )
    assert parse_feed(netscape, url=FEED).title == "Old"
    quoting = rss(
        "Quoting", [Item("XML", link="https://e.org/2", content='<!ENTITY big "A"> ' + prose(1))]
    )
    (entry,) = parse_feed(quoting, url=FEED).entries
    assert "big" in entry.body


@pytest.mark.parametrize(
    ("encoded", "content_type"),
    [
        # With its byte-order mark and declaration, as UTF-16 feeds come.
        (lambda text: text.replace('"1.0"', '"1.0" encoding="utf-16"').encode("utf-16"), None),
        # No mark, a blank line first: only the server's charset says it is UTF-16.
        (lambda text: ("\n" + text).encode("utf-16-le"), "application/xml; charset=utf-16le"),
        (lambda text: text.replace("<?xml", "<!-- <a> -->\n<?xml").encode(), None),
    ],
    ids=["utf-16", "utf-16 by charset", "after a comment"],
)
def test_an_entity_is_found_whatever_the_encoding(encoded: Any, content_type: str | None) -> None:
    with pytest.raises(NotAFeed, match="declares XML entities"):
        parse_feed(encoded(_bomb(3)), url=FEED, content_type=content_type)


def test_an_opml_list_declaring_an_entity_is_refused() -> None:
    data = opml([Outline("https://a.org/rss", "A&amp;B")]).replace(
        b"<opml", b'<!DOCTYPE opml [<!ENTITY x "y">]>\n<opml'
    )
    with pytest.raises(SkipDocument, match="declares XML entities"):
        parse_opml(data)


def test_a_json_feed_with_fields_of_the_wrong_kind_is_read() -> None:
    data = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        b'{"id": 1, "title": "Odd", "authors": 1, "url": "http://[::1", "summary": "Text."},'
        b'{"id": "2", "title": "Also", "author": "Ana", "url": ["x"], "content_text": 5}]}'
    )
    odd, also = parse_feed(data, url=FEED).entries
    assert (odd.title, odd.link, odd.author) == ("Odd", None, None)
    assert (also.title, also.link, also.author) == ("Also", None, None)


def test_a_deeply_nested_json_feed_is_not_a_feed() -> None:
    data = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000
    with pytest.raises(NotAFeed, match="nested too deeply|not a readable JSON Feed"):
        parse_feed(data + b"]" * 100_000 + b"}", url=FEED)


@pytest.mark.parametrize(
    ("data", "root"),
    [
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "opml"),
        (b"\xef\xbb\xbf<!-- " + b"x" * 5000 + b' --><!DOCTYPE opml SYSTEM "o.dtd"><opml/>', "opml"),
        (b'<!DOCTYPE x [<!ELEMENT a ANY><!ATTLIST a b CDATA "c">]><?pi <opml?>\n<rss/>', "rss"),
        ('<?xml version="1.0" encoding="utf-16"?><opml/>'.encode("utf-16"), "opml"),
        (b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>", "rdf"),
        (b"<rss><channel><description><![CDATA[<opml>]]></description></channel></rss>", "rss"),
        (b"<!-- never closed <opml>", None),
        (b"", None),
        (b"plain text, no markup", None),
    ],
)
def test_the_root_element_is_found_past_any_prolog(data: bytes, root: str | None) -> None:
    assert root_name(data) == root
    assert is_opml(data) == (root == "opml")


def test_of_entries_sharing_an_id_the_newest_is_kept() -> None:
    def item(title: str, day: int) -> Item:
        when = dt.datetime(2026, 11, day, tzinfo=dt.timezone.utc)
        return Item(title, link="https://e.org/1", guid="g1", description="x", published=when)

    entries = parse_feed(
        rss("F", [item("old", 20), Item("solo", link="https://e.org/2"), item("new", 23)]),
        url=FEED,
    ).entries
    kept, dropped = newest_of_each(entries)
    assert [e.title for e in kept] == ["solo", "new"] and [e.title for e in dropped] == ["old"]
    # Without dates, the first listed (feeds list the newest first).
    undated = [dataclasses.replace(e, published=None, updated=None) for e in entries]
    kept, dropped = newest_of_each(undated)
    assert [e.title for e in kept] == ["old", "solo"] and [e.title for e in dropped] == ["new"]


# --- the real feeds in ../shared ------------------------------------------------------------

REAL = {
    "guardian.rss": ("The Guardian", 55, True),
    "heise.atom": ("heise developer neueste Meldungen", 15, True),
    "content-encoded.rss": ("Food in Invironment on Medium", 7, False),
    "reddit.rss": ("reddit: the front page of the internet", 24, True),
    "encoding.rss": ("Jornal de Notícias - Últimas Notícias", 40, True),
    "uolNoticias.rss": ("UOL Noticias", 15, True),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_feeds(name: str) -> None:
    path = shared_path("data", "feeds", name)
    title, count, mostly_teasers = REAL[name]
    feed = parse_feed(path.read_bytes(), url=f"https://feeds.example/{name}")
    assert feed.title == title and len(feed.entries) == count
    assert len({e.key for e in feed.entries}) == count  # identities are unique
    teasers = sum(e.teaser for e in feed.entries)
    assert (teasers > count / 2) == mostly_teasers
    for entry in feed.entries:
        document = entry_document(entry, feed)
        assert document.title and document.feed == title
        assert entry.link is None or entry.link.startswith(("http://", "https://"))


def test_real_latin1_feed_is_decoded() -> None:
    feed = parse_feed(
        shared_path("data", "feeds", "uolNoticias.rss").read_bytes(), url="https://uol.example/"
    )
    assert "simulações" in feed.entries[0].title


@pytest.mark.parametrize("name", ["incomplete-fields.atom", "missing-fields.atom"])
def test_real_feeds_with_missing_fields_do_not_break(name: str) -> None:
    feed = parse_feed(shared_path("data", "feeds", name).read_bytes(), url=FEED)
    (entry,) = feed.entries
    document = entry_document(entry, feed)
    assert document.words == 0 and document.title == "Untitled entry"
    assert feed.title == "example.org"  # no title: the feed's host
