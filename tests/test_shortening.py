"""Entries shorter than their sources: the seed in about 150 words with its six section
titles, news articles of 300 words or more in at most 40% of their words."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from conftest import shared_path

from digest.evaluate import load_pairs, read_pair
from digest.model import ArticleSummary, Digest, SectionSummary
from digest.options import Options
from digest.pipeline import make_digest, summarise_read_documents
from digest.reading import read_file, read_sources
from digest.render import escape_markdown, render_markdown
from digest.shortening import allowance, shorten

SEED = Path(__file__).resolve().parent.parent / "seeds"


def words(text: str) -> int:
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def entries(md: str) -> list[str]:
    """Each entry of a Markdown digest as shown, from its TL;DR to its end."""
    blocks = [b for b in md.split("\n---\n") if "**TL;DR:**" in b]
    return [b[b.index("**TL;DR:**") :].strip() for b in blocks]


def test_the_seed_entry_keeps_its_six_titles_in_about_150_words() -> None:
    digest = make_digest([SEED], Options(engine="extractive"))
    (entry,) = entries(render_markdown(digest))
    assert words(entry) <= 150, entry
    document = read_file(next(SEED.iterdir()))
    assert not isinstance(document, str) and hasattr(document, "sections")
    titles = [s.title or s.kicker for s in document.sections if s.title or s.kicker]
    assert len(titles) == 6
    for title in titles:
        assert escape_markdown(title) in entry, title


def test_news_entries_are_at_most_40_percent_of_their_articles() -> None:
    pairs, _ = load_pairs(shared_path("data", "news-writers", "pairs.jsonl"))
    documents = [read_pair(p) for p in pairs]
    run = summarise_read_documents(documents, Options(engine="extractive"))
    long = [a for a in run.articles if a.words >= 300]
    assert len(long) >= 50
    digest = Digest(dt.date(2026, 12, 3), "extractive", None, tuple(long))
    shown = entries(render_markdown(digest))
    assert len(shown) == len(long)
    over = [
        (a.words, words(e)) for a, e in zip(long, shown, strict=True) if words(e) > 0.4 * a.words
    ]
    assert over == []


def test_sectioned_posts_are_within_their_share() -> None:
    """18F posts have sections, whose bullets are what makes an entry long: each post of 300
    words or more gets at most 40% of its words (20% from 1,500 words)."""
    folder = shared_path("data", "markdown-18f")
    documents, _, _ = read_sources(sorted(folder.glob("*.md"))[:60])
    run = summarise_read_documents(documents, Options(engine="extractive"))
    long = [a for a in run.articles if a.words >= 300]
    assert len(long) >= 40
    digest = Digest(dt.date(2026, 12, 3), "extractive", None, tuple(long))
    shown = entries(render_markdown(digest))
    share = [(a.path, words(e) / a.words) for a, e in zip(long, shown, strict=True)]
    over = [
        (p, x)
        for (p, x), a in zip(share, long, strict=True)
        if x > (0.4 if a.words < 1500 else 0.2)
    ]
    assert over == []


def _section(title: str, text: str) -> SectionSummary:
    return SectionSummary(None, title, text, 80, quoted=True)


def test_short_sections_give_one_sentence_then_fold_the_longest() -> None:
    long_text = " ".join(f"Sentence number {i} says something new here." for i in range(6))
    sections = tuple(_section(f"Part {i}", long_text) for i in range(5))
    entry = ArticleSummary("a.md", "T", "A summary. Of two.", "The TL;DR.", 400, sections)
    short = shorten(entry)
    assert allowance(400) == 160
    md = render_markdown(Digest(dt.date(2026, 12, 3), "extractive", None, (short,)))
    (shown,) = entries(md)
    assert words(shown) <= 160
    for i in range(5):
        assert f"Part {i}" in shown  # every heading stays, as a bullet or under Also covers
    bullets = [s for s in short.sections if not s.folded]
    assert bullets and all(len(re.findall(r"\.", s.summary)) == 1 for s in bullets)
    assert short.summary == "A summary. Of two."
    # Below 300 words nothing is cut; from 1,500 words the share is a fifth.
    assert shorten(ArticleSummary("a.md", "T", "x", "y", 299, sections)).sections == sections
    assert allowance(299) is None and allowance(1500) == 300 and allowance(3000) == 600
    assert allowance(1000) == 300 and allowance(600) == 240
