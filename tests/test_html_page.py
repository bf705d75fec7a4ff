"""The HTML digest page: the Markdown's content in its order, self-contained, accessible, inert."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from test_render_feeds import DIGEST as GROUPED

from digest import Options, PublishOptions, publish
from digest.errors import TemplateProblem
from digest.html_page import render_html, utc_stamp
from digest.model import ArticleSummary, Digest, SectionSummary, Skipped, Source, Story
from digest.render import render_markdown
from digest.text import one_line

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
WHEN = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }} {% raw %}"
    "\r\nnext line \u202ereversed\u202c \x00\x07 [x](javascript:alert(3)) &amp; &lt;b&gt;"
)


def section(title: str | None, summary: str, *children: SectionSummary, **kw: Any) -> Any:
    return SectionSummary(None, title, summary, 100, sections=children, **kw)


def article(n: int, **kw: Any) -> ArticleSummary:
    fields: dict[str, Any] = dict(
        path=f"notes/story-{n}.txt",
        title=f"Story {n}",
        summary=f"Story {n} opens the case.\n\nStory {n} closes it.",
        tldr=f"Story {n} in short.",
        words=460,
        sections=(
            section("Budget", f"Budget of {n}.", section("Schools", "s"), section("Roads", "r")),
            section("Staff", f"Staff of {n}."),
            section("Annex", "a", folded=True),
        ),
        omitted_sections=2,
    )
    fields.update(kw)
    return ArticleSummary(**fields)


FULL = Digest(
    date=dt.date(2026, 11, 24),
    engine="extractive",
    model=None,
    articles=(article(1), article(2, link="https://example.org/2?a=1&b=2", author="Ana")),
    skipped=(Skipped("notes/empty.txt", "empty file"),),
    notices=("Two sources were slow.",),
)


def page(digest: Digest, templates: Path | None = None) -> Any:
    return lxml.html.document_fromstring(render_html(digest, templates, updated=WHEN))


def text_of(root: Any) -> str:
    return " ".join(root.text_content().split())


def in_order(text: str, pieces: list[str]) -> None:
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        assert found >= 0, f"{piece!r} missing or out of order"
        at = found + len(piece)


def test_the_page_says_what_the_markdown_says_in_the_same_order() -> None:
    for digest in (FULL, GROUPED):
        root = page(digest)
        # The Markdown as read: without its escapes and emphasis marks.
        md = render_markdown(digest).replace("**", "").replace("*Covers:*", "Covers:")
        md = " ".join(md.replace("\\", "").split())
        pieces = [
            "1 skipped" if digest.skipped else "articles",
            *[f"Note: {n}" for n in digest.notices],
            "Contents",
            *[a.title for a in digest.articles],
        ]
        for a in digest.articles:
            pieces += [a.title, *([a.note] if a.note else []), f"TL;DR: {a.tldr}"]
            pieces += a.summary.split("\n\n")
            for s in a.shown_sections:
                pieces.append(f"{s.title}: {s.summary}")
                if s.sections:
                    pieces.append("Covers: " + " · ".join(c.title or "" for c in s.sections))
            if a.folded_sections:
                pieces.append("Also covers: Annex · … and 2 more")
        if digest.skipped:
            pieces += ["Skipped", "notes/empty.txt: empty file"]
        in_order(md, pieces)
        in_order(text_of(root.find(".//main")), pieces)
        titles = [one_line(e.text_content()) for e in root.find_class("headline")]
        assert titles == [a.title for a in digest.articles]


def _story(n: int, docs: tuple[int, ...], shown: str, **kw: Any) -> Story:
    sources = tuple(
        Source(
            f"Outlet {i}", f"https://outlet{i}.example/{i}", f"notes/story-{i}.txt", f"Story {i}"
        )
        for i in docs
    )
    return Story(f"s{n}", article(docs[0]), docs, sources, len(docs), shown, **kw)


STORIES = Digest(
    date=dt.date(2026, 11, 24),
    engine="extractive",
    model=None,
    articles=tuple(article(n) for n in range(4)),
    stories=(
        _story(1, (2, 0), "full"),
        _story(2, (1,), "line", line_tldr="Story 1 in short."),
        _story(3, (3,), "more"),
    ),
    order="rank",
    max_words=120,
)


def test_stories_merged_in_brief_and_past_the_budget_are_as_in_the_markdown() -> None:
    md = render_markdown(STORIES)
    assert "\n\n*Also reported by:*" in md  # a paragraph of its own, not part of the last bullet
    md = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", md)  # links as their text
    md = " ".join(md.replace("*", "").replace("\\", "").split())
    shown = text_of(page(STORIES).find(".//main"))
    pieces = [
        "4 articles in 3 stories",
        "1 in full, 1 in brief, 1 more listed in the JSON",
        "Contents",
        "Story 2",
        "Story 1",
        "… and 1 more",
        "TL;DR: Story 2 in short.",
        "Also reported by: Outlet 0",
        "Briefly",
        "Story 1 — ",
        ": Story 1 in short.",
        "… and 1 more: their titles and links are in the JSON.",
    ]
    in_order(md, pieces)
    in_order(shown, pieces)
    assert "Story 3" not in shown
    root = page(STORIES)
    hrefs = [a.get("href") for a in root.iter("a")]
    assert "https://outlet0.example/0" in hrefs  # the other source, credited and linked
    assert [one_line(e.text_content()) for e in root.find_class("headline")] == [
        "Story 2",
        "Story 1",
    ]


def test_grouped_digest_has_feed_sections_and_article_links_to_originals() -> None:
    root = page(GROUPED)
    groups = [
        one_line(h.text_content()) for h in root.iter("h2") if h.get("id", "").startswith("group-")
    ]
    assert groups == ["Other documents", "Harbour *News*", "Rail [Weekly](javascript:x)"]
    hrefs = [a.get("href") for a in root.iter("a")]
    assert "https://harbour.example/a_%281%29" in hrefs
    assert "https://rail.example/t?q=1&r=2" in hrefs
    assert not [h for h in hrefs if "javascript" in h]


def headings(root: Any) -> list[int]:
    return [int(e.tag[1]) for e in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]


@pytest.mark.parametrize("digest", [FULL, GROUPED], ids=["plain", "grouped"])
def test_headings_go_down_one_level_at_a_time(digest: Digest) -> None:
    levels = headings(page(digest))
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels


def test_the_page_is_self_contained_and_locked_down() -> None:
    html = render_html(FULL, updated=WHEN)
    root = lxml.html.document_fromstring(html)
    assert root.get("lang") == "en"
    csp = root.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp == [CSP]
    # The policy comes before anything it must govern (the style sheet, every link).
    assert html.index("Content-Security-Policy") < html.index("<style>")
    assert root.xpath("//meta[@name='viewport']/@content") == [
        "width=device-width, initial-scale=1"
    ]
    assert not root.xpath("//script | //img | //iframe | //object | //embed | //form")
    assert not root.xpath("//*[@src or @srcset or @style]")
    # <link> only for feed discovery, which browsers do not fetch.
    assert [(e.get("rel"), e.get("href")) for e in root.iter("link")] == [("alternate", "feed.xml")]
    style = "".join(root.xpath("//style/text()"))
    assert "prefers-color-scheme: dark" in style and "@media print" in style
    assert ":focus-visible" in style
    assert not re.search(r"url\(|@import|@font-face", style)


def test_hostile_text_is_text_in_the_page() -> None:
    evil = article(
        1,
        title=HOSTILE,
        tldr=HOSTILE,
        summary=HOSTILE,
        link="javascript:alert(4)",
        author=HOSTILE,
        note=HOSTILE,
        sections=(section(HOSTILE, HOSTILE), section("Two", HOSTILE)),
    )
    bad = Digest(
        date=dt.date(2026, 11, 24),
        engine="extractive",
        model=HOSTILE,
        articles=(evil, article(2, feed=HOSTILE, link="data:text/html,<script>x</script>")),
        skipped=(Skipped(HOSTILE, HOSTILE),),
        notices=(HOSTILE,),
    )
    html = render_html(bad, updated=WHEN)
    root = lxml.html.document_fromstring(html)
    assert not root.xpath("//script | //img")
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    assert all(h.startswith(("#", "index.html", "feed.xml")) for h in root.xpath("//a/@href"))
    assert "\u202e" not in html and "\x00" not in html and "\x07" not in html and "\r" not in html
    assert "49" not in html and "{{ 7*7 }}" in html
    shown = text_of(root)
    assert "<script>alert(1)</script> <img src=x onerror=alert(2)>" in shown
    assert "[x](javascript:alert(3)) &amp; &lt;b&gt;" in shown


def test_a_template_of_your_own_replaces_the_page(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(
        "<p>{{ digest.articles[0].title }}</p>{{ updated }}", encoding="utf-8"
    )
    evil = Digest(dt.date(2026, 11, 24), "x", None, (article(1, title="<b>bold</b>"),))
    # Autoescape stays on in the user's own template.
    assert render_html(evil, tmp_path, updated=WHEN) == (
        "<p>&lt;b&gt;bold&lt;/b&gt;</p>2026-11-24T06:30:00Z"
    )
    (tmp_path / "digest.html.j2").write_text("{{ digest.nope }}", encoding="utf-8")
    with pytest.raises(TemplateProblem, match="digest.html.j2"):
        render_html(evil, tmp_path)


def test_times_are_utc_to_the_second() -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    assert utc_stamp(dt.datetime(2026, 11, 24, 7, 30, 5, 999, tzinfo=plus_one)) == (
        "2026-11-24T06:30:05Z"
    )
    with pytest.raises(ValueError):
        utc_stamp(dt.datetime(2026, 11, 24))


@pytest.mark.slow
def test_a_200_article_digest_page_stays_under_300_kb(tmp_path: Path, shared: Path) -> None:
    """A real digest of 200 documents: 100 18F blog posts with their sections (bullets, Covers
    lines) and 100 BBC news articles, summarised by the extractive engine."""
    src = tmp_path / "in"
    src.mkdir()
    posts = sorted((shared / "data" / "markdown-18f").rglob("*.md"))[:100]
    for n, post in enumerate(posts):
        (src / f"post-{n:03d}.md").write_bytes(post.read_bytes())
    with (shared / "data" / "bbc-news-summary" / "pairs.jsonl").open(encoding="utf-8") as pairs:
        for n, line in zip(range(100), pairs, strict=False):
            item = json.loads(line)
            text = f"{item['title']}\n\n{item['article']}"
            (src / f"bbc-{n:03d}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    options = Options(engine="extractive", date=dt.date(2026, 11, 24), cache=None)
    result = publish([src], options, PublishOptions(out=out, formats=("md", "html")))
    assert result.digest is not None and len(result.digest.articles) == 200
    size = (out / "digest-2026-11-24.html").stat().st_size
    markdown = (out / "digest-2026-11-24.md").stat().st_size
    assert size < 300_000, f"{size:,} bytes (the Markdown: {markdown:,})"
