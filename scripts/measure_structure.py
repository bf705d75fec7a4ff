"""Measure document structure: heading recall, furniture kept and bullets per article.

Usage: python scripts/measure_structure.py [--shared ../shared] [--misses]

Over ../shared/data/html-readability (raw web pages) and ../shared/data/markdown-18f (blog
posts), it reports:

- heading recall: of the source's headings with prose beneath them, the share found as a
  section title anywhere in the document's section tree. For HTML, "prose beneath" is a
  paragraph (<p> or <li>, 12 words or more) between the heading and the next one whose text
  the reader keeps, i.e. main-content prose; for Markdown, a paragraph of 8 words or more
  before the next heading that is not just links. A heading repeating the title and
  furniture headings (see digest.sectioning.FURNITURE) are not counted.
- furniture kept: section titles named like furniture ("Share this page", "Related content")
  or heading no prose at all.
- top-level bullets per article: what the Markdown digest shows (digest.folding.fold).
- for HTML, how the text the reader keeps (Document.full_text: title, section titles,
  paragraphs, tables and code) compares with trafilatura's own text output as the
  article-extraction benchmark runs it (`extract(html, include_comments=False)`): precision,
  recall and F1 of 4-word shingles, counted as that benchmark's evaluate.py counts them. This
  is agreement with trafilatura alone, not accuracy against a ground truth.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.folding import fold  # noqa: E402
from digest.model import Document  # noqa: E402
from digest.sectioning import furniture_name  # noqa: E402
from digest.sources import read_document  # noqa: E402
from digest.sources.headings import HEADING_CRUFT, compact  # noqa: E402
from digest.text import normalise_space  # noqa: E402

#: Prose more than this many characters below a heading (whitespace aside) is not "beneath" it.
MAX_DISTANCE = 1500


@dataclass
class Result:
    name: str
    expected: list[str]
    found: list[str]
    furniture: list[str]
    bullets: int
    missed: list[str] = field(default_factory=list)
    agreement: tuple[float, float, float] | None = None  # P, R, F1 against trafilatura alone


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """4-word shingles with their counts (words as the benchmark's \\w+ tokens, case kept)."""
    words = re.findall(r"\w+", text)
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def agreement(document: Document, source: str) -> tuple[float, float, float]:
    """4-word shingle precision, recall and F1 of the reader's text against trafilatura's."""
    import trafilatura

    ours = shingles(document.full_text)
    theirs = shingles(trafilatura.extract(source, include_comments=False) or "")
    both = sum((ours & theirs).values())
    extra, missed = sum((ours - theirs).values()), sum((theirs - ours).values())
    precision = both / (both + extra) if both + extra else 1.0
    recall = both / (both + missed) if both + missed else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall or 1)


def bullets(document: Document) -> int:
    """Top-level bullets the Markdown digest shows ("Also covers" counts as one)."""
    folded = fold(document.sections)
    if len(folded.sections) < 2:
        return len(folded.sections)
    return len(folded.shown) + (len(folded.shown) < len(folded.sections))


def tree_titles(document: Document) -> list[str]:
    return [s.title for s in document.all_sections() if s.title]


def kept_furniture(document: Document) -> list[str]:
    return [
        s.title
        for s in document.all_sections()
        if s.title and (furniture_name(s.title) or s.all_words == 0)
    ]


def html_expected(source: str, document: Document) -> list[str]:
    """Headings of the page with main-content prose (prose the reader keeps) beneath them; the
    page's first H1 (its headline), standfirsts set as headings and headings inside <nav>,
    <aside> or <footer> are not counted."""
    from trafilatura.utils import load_html

    from digest.sources.headings import is_standfirst

    main = compact(document.text)
    title = document.title
    root = load_html(source)
    if root is None:
        return []
    expected: list[str] = []
    heading: Any = None
    headline_seen = False
    since = 0  # characters of text since the heading: prose far below it is not under it
    body = root.find(".//body")
    for element in (body if body is not None else root).iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        since += len(compact(element.text or "")) + len(compact(element.tail or ""))
        if since > MAX_DISTANCE:
            heading = None
        if re.fullmatch(r"h[1-6]", tag):
            since = 0
            text = HEADING_CRUFT.sub("", normalise_space(element.text_content()))
            heading = None
            if tag == "h1" and not headline_seen:
                headline_seen = True
                continue
            furniture = any(a.tag in ("nav", "aside", "footer") for a in element.iterancestors())
            if (
                text
                and not furniture
                and compact(text) != compact(title)
                and not furniture_name(text)
                and not is_standfirst(text)
            ):
                heading = text
        elif tag in ("p", "li") and heading is not None:
            text = normalise_space(element.text_content())
            if len(text.split()) >= 12 and compact(text)[:60] in main:
                expected.append(heading)
                heading = None
    return expected


def markdown_expected(path: Path, title: str) -> list[str]:
    from digest.sources.markdown import (
        _PLACEHOLDER,
        _TEMPLATE_TAG,
        _parser,
        only_links,
        render_inline,
        split_front_matter,
    )

    _, body = split_front_matter(path.read_text(encoding="utf-8"))
    body = _TEMPLATE_TAG.sub(_PLACEHOLDER, body)
    expected: list[str] = []
    heading: str | None = None
    in_heading = False
    for token in _parser().parse(body):
        if token.type == "heading_open":
            in_heading, heading = True, None
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "inline" and in_heading:
            text = render_inline(token.children or [])
            if text and compact(text) != compact(title) and not furniture_name(text):
                heading = text
        elif token.type == "inline" and heading is not None:
            children = token.children or []
            if len(render_inline(children).split()) >= 8 and not only_links(children):
                expected.append(heading)
                heading = None
    return expected


def measure(path: Path, expected_of: Any, source: str | None = None) -> Result:
    document = read_document(path, max_bytes=20_000_000)
    expected = expected_of(document)
    found = tree_titles(document)
    found_keys = {compact(t) for t in found}
    missed = [h for h in expected if compact(h) not in found_keys]
    name = path.parent.name if path.name == "source.html" else path.name
    agreed = agreement(document, source) if source is not None else None
    return Result(
        name, expected, found, kept_furniture(document), bullets(document), missed, agreed
    )


def report(label: str, results: list[Result], show_misses: bool) -> list[str]:
    expected = sum(len(r.expected) for r in results)
    missed = sum(len(r.missed) for r in results)
    furniture = sum(len(r.furniture) for r in results)
    most = max((r.bullets for r in results), default=0)
    over = sum(r.bullets > 12 for r in results)
    recall = (expected - missed) / expected if expected else 1.0
    lines = [
        f"| {label} | {len(results)} | {expected} | {recall:.3f} | {furniture} | {most} | {over} |"
    ]
    if show_misses:
        for r in results:
            for h in r.missed:
                print(f"  missed  {r.name}: {h!r}", file=sys.stderr)
            for h in r.furniture:
                print(f"  furniture  {r.name}: {h!r}", file=sys.stderr)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list missed and furniture headings")
    args = parser.parse_args(argv)
    html_dir = args.shared / "data" / "html-readability"
    md_dir = args.shared / "data" / "markdown-18f"
    if not html_dir.is_dir() or not md_dir.is_dir():
        print(f"shared data not found under {args.shared}", file=sys.stderr)
        return 2

    html = []
    for path in sorted(html_dir.glob("*/source.html")):
        source = path.read_text(encoding="utf-8")
        html.append(measure(path, lambda d, s=source: html_expected(s, d), source))
    markdown = [
        measure(path, lambda d, p=path: markdown_expected(p, d.title))
        for path in sorted(md_dir.glob("*.md"))
    ]
    print(
        "| data | documents | headings with prose | recall | furniture kept | "
        "most bullets | over 12 |"
    )
    print("|---|---|---|---|---|---|---|")
    for line in report("html-readability", html, args.misses) + report(
        "markdown-18f", markdown, args.misses
    ):
        print(line)
    scores = [r.agreement for r in html if r.agreement]
    if scores:
        # As the benchmark does: mean precision and mean recall over pages, then their F1.
        p, r = (sum(x[i] for x in scores) / len(scores) for i in range(2))
        f = 2 * p * r / (p + r or 1)
        print(
            f"\nHTML text kept vs trafilatura alone (4-word shingles, mean of {len(scores)} "
            f"pages): precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
