"""A story told by several outlets becomes one entry: no sentence or near-duplicate twice,
every source credited and linked, in Markdown, HTML and plain-text email."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_path
from markdown_it import MarkdownIt

from digest.email import fit_email
from digest.model import ArticleSummary, Digest, Document, Source, Story
from digest.options import Options
from digest.outlets import outlet_of
from digest.pipeline import summarise_read_documents
from digest.reading import read_file
from digest.render import escape_markdown, link_url, render_json, render_markdown
from digest.telling import make_story
from digest.text import split_sentences

_WORD = re.compile(r"[^\W_]+")


def grams(sentence: str) -> set[tuple[str, ...]]:
    tokens = [w.lower() for w in _WORD.findall(sentence)]
    return {tuple(tokens[i : i + 3]) for i in range(max(1, len(tokens) - 2))}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def near_duplicates(sentences: list[str]) -> list[tuple[str, str]]:
    """Pairs of sentences whose word 3-grams overlap by 0.6 or more (Jaccard)."""
    sets = [grams(s) for s in sentences]
    return [
        (sentences[i], sentences[j])
        for i in range(len(sentences))
        for j in range(i)
        if jaccard(sets[i], sets[j]) >= 0.6
    ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The event reported by the most outlets in ../shared/data/story-clusters (at least 3),
    read as Markdown with front matter, summarised as `digest make` would."""
    rows = [
        json.loads(line)
        for line in shared_path("data", "story-clusters", "articles.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        events[row["cluster"]].append(row)
    label = max(sorted(events), key=lambda k: len({r["source"] for r in events[k]}))
    chosen = list(events[label])
    assert len({r["source"] for r in chosen}) >= 3
    # A syndicated copy, as wire stories are reprinted: the lead article again from another
    # outlet, "said" turned to "says" (the outlets here rewrite rather than reprint).
    first = chosen[0]
    chosen.insert(
        1,
        dict(
            first,
            id="reprint",
            source="reprints.example",
            url="https://reprints.example/story?id=1&x=(2)",
            text=first["text"].replace(" said", " says"),
        ),
    )
    folder = tmp_path_factory.mktemp("cluster")
    documents: list[Document] = []
    for row in chosen:
        path = folder / f"{row['id']}.md"
        front = {"title": row["title"], "source": row["source"], "link": row["url"]}
        header = "".join(f"{k}: {json.dumps(v)}\n" for k, v in front.items())
        path.write_text(f"---\n{header}---\n\n{row['text']}\n", encoding="utf-8")
        document = read_file(path)
        assert isinstance(document, Document)
        documents.append(document)
    run = summarise_read_documents(documents, Options(engine="extractive"))
    return {"rows": chosen, "articles": run.articles}


def merged_digest(articles: tuple[ArticleSummary, ...], story: Story) -> Digest:
    return Digest(
        date=dt.date(2026, 12, 3),
        engine="extractive",
        model=None,
        articles=articles,
        stories=(story,),
        order="rank",
    )


def test_merged_entry_says_nothing_twice_and_credits_every_source(
    cluster: dict[str, Any],
) -> None:
    articles = cluster["articles"]
    story = make_story(list(range(len(articles))), articles)
    entry = story.entry
    # The sources repeat each other (wire copy): what the entry would say without the check.
    pooled = [s for a in articles for s in split_sentences(f"{a.tldr} {a.summary}")]
    assert near_duplicates(pooled)
    said = split_sentences(entry.tldr) + split_sentences(entry.summary)
    said += [s for sec in entry.sections for s in split_sentences(sec.summary)]
    assert len(said) >= 3
    assert near_duplicates(said) == []
    # Sentences come from more than one source.
    origins = {
        i
        for sentence in said
        for i, a in enumerate(articles)
        if sentence in f"{a.tldr} {a.summary}"
    }
    assert len(origins) >= 2
    assert story.outlets == len({r["source"] for r in cluster["rows"]}) >= 4
    assert {s.path for s in story.sources} == {a.path for a in articles}

    digest = merged_digest(articles, story)
    md = render_markdown(digest)
    credits = md[md.index("*Also reported by:*") :].split("\n")[0]
    for source in story.others:
        assert f"[{escape_markdown(source.outlet)}]({link_url(source.link)})" in credits
    assert md.count("](http") == len(story.sources)  # the lead's link and each other's
    rendered = fit_email(digest)
    for source in story.others:
        assert f'<a href="{escape(link_url(source.link))}"' in rendered.html
        assert (
            f"- {source.outlet}" in rendered.text and f"<{link_url(source.link)}>" in rendered.text
        )
    data = json.loads(render_json(digest))
    assert [s["link"] for s in data["stories"][0]["sources"]] == [
        link_url(s.link) for s in story.sources
    ]


def test_credits_are_escaped_and_only_http_links_are_kept() -> None:
    lead = ArticleSummary("a.md", "Bridge opens", "It opened.", "Bridge opened.", 400, ())
    other = ArticleSummary("b.md", "Bridge open", "Crowds came.", "Crowds came.", 300, ())
    hostile = Source("<b>Evil</b> [x](javascript:alert(1))", "javascript:alert(1)", "b.md", "t")
    ok = Source("Good*News*", "https://good.example/a_(b)", "c.md", "t")
    story = Story("s1", lead, (0, 1), (Source("Lead", None, "a.md", "t"), hostile, ok), 3)
    digest = merged_digest((lead, other), story)
    md = render_markdown(digest)
    html = MarkdownIt("commonmark").render(md)
    assert 'href="javascript' not in html and "<b>" not in html
    assert r"\<b\>Evil\</b\> \[x\](javascript:alert(1))" in md
    assert "[Good\\*News\\*](https://good.example/a_%28b%29)" in md
    rendered = fit_email(digest)
    assert "<b>Evil" not in rendered.html and "&lt;b&gt;Evil&lt;/b&gt;" in rendered.html
    assert 'href="javascript' not in rendered.html
    assert '<a href="https://good.example/a_%28b%29"' in rendered.html


def test_front_matter_link_and_source(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        '---\ntitle: T\nsource: "Example News"\nlink: "javascript:alert(1)"\n'
        'url: "https://example.org/a"\n---\n\nSome text here.\n',
        encoding="utf-8",
    )
    document = read_file(path)
    assert isinstance(document, Document)
    assert document.outlet == "Example News" and document.link == "https://example.org/a"


PAGE = """<html><head><title>Bridge opens at last</title>
<meta property="og:site_name" content="Harbour Gazette">
<meta property="article:published_time" content="2026-11-30T08:00:00Z">
</head><body><article><h1>Bridge opens at last</h1>
<p>The new Kessel Bridge opened to traffic on Monday after four years of building work, the
city council said in a statement on its website.</p>
<p>Thousands of people walked across the bridge before the first cars were allowed on it in
the afternoon, and the mayor cut a ribbon at noon.</p>
</article></body></html>"""


def test_outlets_from_page_meta_feed_title_or_link_host(tmp_path: Path) -> None:
    page = tmp_path / "bridge.html"
    page.write_text(PAGE, encoding="utf-8")
    document = read_file(page)
    assert isinstance(document, Document)
    assert outlet_of(document) == "Harbour Gazette" and document.date == "2026-11-30"
    bare = Document(Path("x"), "T", (), link="https://www.harbour.example/a")
    assert outlet_of(bare) == "harbour.example"
    assert outlet_of(replace(bare, feed="Harbour News")) == "Harbour News"
    assert outlet_of(replace(bare, link="javascript:alert(1)")) is None


def test_a_flagged_sentence_keeps_its_mark_whichever_source_it_came_from() -> None:
    from digest.merging import merge_entry
    from digest.model import GuardNote

    odd = "The bridge cost 99 billion pounds."
    lead = ArticleSummary(
        path="a.md", title="Bridge opens", summary="The bridge opened on Monday.",
        tldr="The bridge opened.", words=400, sections=(),
    )  # fmt: skip
    other = replace(
        lead,
        path="b.md",
        summary=f"Crowds crossed the new bridge at dawn. {odd}",
        guard=(GuardNote("summary", odd, "flagged", "number 99 not in the source"),),
    )
    merged = merge_entry([lead, other], 2)
    assert odd in merged.summary
    assert merged.flagged == (odd,)
    assert f"{odd}†" in render_markdown(
        Digest(dt.date(2026, 12, 3), "seq2seq", "m", (lead, other),
               stories=(Story("s", merged, (0, 1), (Source(None, None, "a.md", "A"),) * 2, 2),))
    )  # fmt: skip
