"""Small feeds, OPML lists and article pages written for the tests (no ../shared needed)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

_TOPICS = (
    "council harbour budget river school orchestra winter railway garden museum library "
    "festival bridge market hospital station ferry tram archive theatre"
).split()


def prose(seed: int, sentences: int = 8) -> str:
    """Plain sentences, different for each seed, about 11 words each."""
    words = [_TOPICS[(seed * 7 + i) % len(_TOPICS)] for i in range(len(_TOPICS))]
    return " ".join(
        f"The {words[i % len(words)]} report number {seed} says the {words[(i + 3) % len(words)]} "
        f"plan for item {i} is on time."
        for i in range(sentences)
    )


@dataclass(frozen=True)
class Item:
    title: str
    link: str | None = None
    guid: str | None = None
    #: Full HTML content (content:encoded / Atom content); None for a teaser-only entry.
    content: str | None = None
    description: str | None = None
    published: dt.datetime = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc)
    author: str | None = None


def full_article(seed: int, *, sections: int = 3) -> str:
    """HTML with h2 headings and about 90 words per section: well over the teaser limit."""
    return "".join(
        f"<h2>Part {s + 1} of story {seed}</h2><p>{prose(seed * 10 + s)}</p>"
        for s in range(sections)
    )


def rss(title: str, items: list[Item], *, link: str = "https://example.org/") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link><description>x</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid:
            permalink = "true" if item.guid.startswith("http") else "false"
            parts.append(f'<guid isPermaLink="{permalink}">{escape(item.guid)}</guid>')
        parts.append(f"<pubDate>{item.published.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        if item.description is not None:
            parts.append(f"<description>{escape(item.description)}</description>")
        if item.content is not None:
            parts.append(f"<content:encoded><![CDATA[{item.content}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def atom(title: str, items: list[Item]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id>",
        "<updated>2026-11-23T18:00:00Z</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f"<title>{escape(item.title)}</title>")
        parts.append(f"<id>{escape(item.guid or item.link or item.title)}</id>")
        if item.link:
            parts.append(f'<link rel="alternate" href="{escape(item.link)}"/>')
        parts.append(f"<updated>{item.published.isoformat()}</updated>")
        if item.author:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        if item.description is not None:
            parts.append(f'<summary type="html">{escape(item.description)}</summary>')
        if item.content is not None:
            parts.append(f'<content type="html">{escape(item.content)}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


def json_feed(title: str, items: list[Item]) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [
                {
                    "id": item.guid or item.link or item.title,
                    "url": item.link,
                    "title": item.title,
                    "date_published": item.published.isoformat(),
                    **({"content_html": item.content} if item.content else {}),
                    **({"summary": item.description} if item.description else {}),
                    **({"authors": [{"name": item.author}]} if item.author else {}),
                }
                for item in items
            ],
        }
    ).encode("utf-8")


@dataclass
class Outline:
    url: str
    title: str = "A feed"
    children: list[Outline] = field(default_factory=list)


def opml(feeds: list[Outline]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">', "<head>"]
    lines += ["<title>Subscriptions</title></head><body>"]
    lines += [
        f'<outline type="rss" text="{escape(f.title)}" title="{escape(f.title)}" '
        f'xmlUrl="{escape(f.url)}"/>'
        for f in feeds
    ]
    lines.append("</body></opml>")
    return "\n".join(lines).encode("utf-8")


def article_page(title: str, seed: int, *, sections: int = 3) -> bytes:
    """A whole web page: navigation and footer around an article with h2 sections."""
    body = full_article(seed, sections=sections)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<main><article><h1>{escape(title)}</h1>{body}</article></main>"
        "<footer>Copyright the example newsroom</footer></body></html>"
    ).encode()
