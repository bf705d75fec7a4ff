"""Digests of feed entries: grouped by feed, each linked to its original, in every format."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

from digest.email import build_message
from digest.model import ArticleSummary, Digest, SectionSummary
from digest.render import render_json, render_markdown


def article(title: str, feed: str | None, link: str | None, **extra: str) -> ArticleSummary:
    return ArticleSummary(
        path=link or f"notes/{title}.txt",
        title=title,
        summary=f"{title} summary.",
        tldr=f"{title} in short.",
        words=300,
        sections=(
            SectionSummary(None, "Part one", "First part.", 150),
            SectionSummary(None, "Part two", "Second part.", 150),
        ),
        date="2026-11-23T18:00+00:00" if feed else None,
        format="feed" if feed else "text",
        link=link,
        feed=feed,
        **extra,
    )


DIGEST = Digest(
    date=dt.date(2026, 11, 24),
    engine="extractive",
    model=None,
    articles=(
        article("Notes", None, None),
        article("Ferries", "Harbour *News*", "https://harbour.example/a_(1)", author="Ana"),
        article("Evil", "Harbour *News*", None, note="Summarised from the feed's teaser."),
        article("Trams", "Rail [Weekly](javascript:x)", "https://rail.example/t?q=1&r=2"),
    ),
)


def test_markdown_groups_by_feed_and_links_originals() -> None:
    md = render_markdown(DIGEST)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Contents",
        "## Other documents",
        "## Harbour \\*News\\*",
        "## Rail \\[Weekly\\](javascript:x)",
    ]
    assert "### 2. Ferries" in md
    assert (
        "[harbour.example](https://harbour.example/a_%281%29) · Ana · 2026-11-23T18:00+00:00" in md
    )
    assert "[rail.example](https://rail.example/t?q=1&r=2)" in md
    assert "*Summarised from the feed's teaser.*" in md
    assert not re.search(r"(?<!\\)\]\(javascript", md)  # only as escaped text


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_email_links_only_http_originals_and_anchors() -> None:
    message = build_message(DIGEST, sender="digest@example.org", recipients="a@example.org")
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    parser = Links()
    parser.feed(html)
    external = [h for h in parser.hrefs if not h.startswith("#")]
    assert external == ["https://harbour.example/a_%281%29", "https://rail.example/t?q=1&r=2"]
    assert "Harbour *News*" in html and "javascript" not in "".join(parser.hrefs)
    assert "https://harbour.example/a_%281%29 · Ana" in text
    assert "Note: Summarised from the feed's teaser." in text


def test_json_carries_link_feed_author_and_note() -> None:
    docs = json.loads(render_json(DIGEST))["documents"]
    assert [(d["feed"], d["link"]) for d in docs] == [
        (None, None),
        ("Harbour *News*", "https://harbour.example/a_%281%29"),
        ("Harbour *News*", None),
        ("Rail [Weekly](javascript:x)", "https://rail.example/t?q=1&r=2"),
    ]
    assert docs[1]["author"] == "Ana" and docs[2]["note"].startswith("Summarised")


def test_a_digest_without_feeds_is_not_grouped() -> None:
    plain = Digest(dt.date(2026, 11, 24), "extractive", None, (article("Notes", None, None),))
    md = render_markdown(plain)
    assert "## Other documents" not in md and "## 1. Notes" in md
