"""Measure document structure: heading recall (reader and digest), furniture kept, bullets.

Usage: python scripts/measure_structure.py [--shared ../shared] [--misses]

Over ../shared/data/html-readability (raw web pages) and ../shared/data/markdown-18f (blog
posts), each split into a fixed "dev" and "held-out" half by a hash of the page's folder name
or the post's file name (`split_of` in scripts/evaluate_rouge.py), it reports:

- heading recall: of the source's headings with prose beneath them, the share found (i) as a
  section title anywhere in the document's section tree (the reader) and (ii) as a section
  title or kicker anywhere in the JSON digest made with the extractive engine (the digest:
  shown bullets, "Covers" and "Also covers" lists all come from that tree). The expected
  headings are parsed here, independently of the reader:
  - HTML (lxml.html): an h1-h6 not inside <nav>, <aside>, <footer>, <header> or <form> (or
    an element with the ARIA role of one: navigation, complementary, contentinfo, banner,
    form, search) and
    not mostly link text, with a <p> or <li> of 12 words or more (also outside those, not
    mostly link text and holding no heading) after it and before the next heading, with at
    most 1,500 characters of text between the two. "Mostly link text": half or more of the
    text (white space aside) inside an <a href> or the whole element inside one; for a
    heading, links to a "#…" place on the page (permalinks) do not count. A photo
    gallery's numbered captions ("3/50 City for sale") are not counted: issue #20 names
    slideshow captions as clutter. Nor are what no reader of the page sees (a heading or
    prose that is, or is inside, an element with the `hidden` attribute, aria-hidden="true",
    an inline display:none or visibility:hidden, or the class "hidden"), the page's first
    h1 before any prose (its headline), a heading marked as the article's schema.org
    description (a standfirst), and the heading of a form: a box of at most 600 characters
    of text that holds a text field, checkbox or list to pick from (a newsletter sign-up).
  - Markdown (markdown-it-py, CommonMark with tables; YAML front matter and template tags
    such as {{ … }} and {% … %} cut out): a heading of level 2-6 with a paragraph of 8 words
    or more (its plain text: text and code spans), not mostly link text, after it and before
    the next heading of any level.
  Heading text has a trailing "[edit]", "¶", "#" or "§" removed. A heading equal to the
  document's title (the reader's, the digest's, or for HTML the page's <title> or og:title,
  also with a " | Site"-style suffix cut) is not counted. Found means equal after
  normalising both: casefolded, white space collapsed, trailing punctuation stripped.
- furniture kept: section titles the reader kept that are named like furniture ("Share this
  page", "Related content"; digest.sectioning.furniture_name) or head no prose at all.
- top-level bullets per article: what the Markdown digest shows (digest.folding.fold).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate_rouge import split_of  # noqa: E402

from digest.errors import SkipDocument  # noqa: E402
from digest.folding import fold  # noqa: E402
from digest.model import Document  # noqa: E402
from digest.sectioning import furniture_name  # noqa: E402
from digest.sources import read_document  # noqa: E402

#: Prose more than this many characters below a heading (whitespace aside) is not "beneath" it.
MAX_DISTANCE = 1500
#: Words a paragraph needs to count as prose beneath a heading.
HTML_PROSE_WORDS = 12
MARKDOWN_PROSE_WORDS = 8
#: Headings (and prose) inside these are page furniture, not the article's.
OUTSIDE = frozenset({"nav", "aside", "footer", "header", "form"})
#: The same by ARIA role (<div role="contentinfo"> is a footer).
OUTSIDE_ROLES = frozenset(
    {"navigation", "complementary", "contentinfo", "banner", "form", "search"}
)
#: A heading or paragraph with this share of its text in links is a link (a teaser, a list of
#: related articles, a table of contents), not the article's.
MAX_LINK_SHARE = 0.5
MAX_BYTES = 20_000_000

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CRUFT = re.compile(r"(?:\s*(?:\[\s*edit\s*\]|[¶#§]))+\s*$", re.IGNORECASE)
#: Liquid, Jinja and Hugo tags ({{ … }}, {% … %}): template code, not text.
_TEMPLATE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_TRAILING_PUNCTUATION = re.compile(r"[^\w\s]+$")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
#: What follows a page's name in its <title> ("Headline | Site", "Headline - Site").
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—·:]+\s+[^|\-–—·:]*$")


def key(text: str) -> str:
    """A heading or title as compared: casefolded, white space collapsed, trailing punctuation
    stripped."""
    return _TRAILING_PUNCTUATION.sub("", " ".join(text.casefold().split())).rstrip()


def clean_heading(text: str) -> str:
    return _CRUFT.sub("", " ".join(text.split()))


@dataclass
class Result:
    name: str
    split: str
    expected: list[str]
    found: list[str]
    furniture: list[str]
    bullets: int
    missed: list[str] = field(default_factory=list)  # not in the document's section tree
    missed_digest: list[str] = field(default_factory=list)  # not among the JSON's sections


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


def page_titles(source: str) -> list[str]:
    """The page's own names for itself: <title> (whole and with a site suffix cut) and
    og:title."""
    import lxml.html

    root = lxml.html.document_fromstring(source)
    names = [t.text_content() for t in root.iter("title")]
    names += [m.get("content") or "" for m in root.iter("meta") if m.get("property") == "og:title"]
    names = [" ".join(n.split()) for n in names if n.strip()]
    return names + [_TITLE_SUFFIX.sub("", n) for n in names]


def _outside(element: Any) -> bool:
    return any(
        a.tag in OUTSIDE or (a.get("role") or "").strip() in OUTSIDE_ROLES
        for a in element.iterancestors()
    )


def _chars(text: str | None) -> int:
    return len("".join((text or "").split()))


def link_share(element: Any, *, anchors: bool = True) -> float:
    """The share of an element's text (white space aside) that is link text: inside an <a
    href>, where `anchors` also one to a "#…" place on the same page."""
    total = _chars(element.text_content())
    if not total:
        return 0.0

    def away(a: Any) -> bool:
        href = a.get("href")
        return a.tag == "a" and href is not None and (anchors or not href.startswith("#"))

    if any(away(a) for a in element.iterancestors()):
        return 1.0
    linked = sum(_chars(a.text_content()) for a in element.iter("a") if away(a))
    return linked / total


#: What no reader of the page sees: the `hidden` attribute, `aria-hidden="true"`, an inline
#: display:none or visibility:hidden, or the class "hidden" (the name most CSS frameworks,
#: Bootstrap and Tailwind among them, give display:none).
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
#: schema.org properties that mark an element as the article's description (its standfirst),
#: not a section title, whatever tag it is set in.
DESCRIPTION_PROPS = frozenset({"description", "alternativeheadline", "abstract"})
#: A box of at most this many characters of text holding a form control (a text field, a
#: checkbox, a list to pick from) is a form (a newsletter sign-up, a search box), and its
#: heading names the form, not part of the article.
FORM_BOX_CHARS = 600


def _hidden(element: Any) -> bool:
    for e in (element, *element.iterancestors()):
        if e.get("hidden") is not None or (e.get("aria-hidden") or "").strip() == "true":
            return True
        if _HIDING_STYLE.search(e.get("style") or "") or "hidden" in (e.get("class") or "").split():
            return True
    return False


def _described(element: Any) -> bool:
    return bool(DESCRIPTION_PROPS & set((element.get("itemprop") or "").casefold().split()))


def _in_form_box(element: Any) -> bool:
    box = element.getparent()
    while box is not None and _chars(box.text_content()) <= FORM_BOX_CHARS:
        controls = [*box.iter("input", "select", "textarea")]
        if any((c.get("type") or "text").casefold() != "hidden" for c in controls):
            return True
        box = box.getparent()
    return False


#: A photo gallery's caption numbered out of its slides ("3/50 City for sale"): issue #20
#: names slideshow captions as clutter, so they are no section a reader expects.
SLIDE_COUNTER = re.compile(r"^\d{1,3}\s*/\s*\d{1,3}\s")


def html_expected(source: str, titles: Iterable[str] = ()) -> list[str]:
    """The headings of an HTML page with prose beneath them, by lxml alone (module docstring)."""
    import lxml.html

    skip = {key(t) for t in (*titles, *page_titles(source))}
    root = lxml.html.document_fromstring(source)
    expected: list[str] = []
    heading: str | None = None
    since = 0  # characters of text since the heading: prose far below it is not under it
    prose_seen = headline_seen = False
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in ("script", "style", "template"):
            continue
        since += _chars(element.text) + _chars(element.tail)
        if since > MAX_DISTANCE:
            heading = None
        if tag in _HEADINGS:
            heading, since = None, 0
            text = clean_heading(element.text_content())
            outside = _outside(element)
            # The page's first h1 before any prose is its headline, whatever its <title> says.
            headline = tag == "h1" and not (prose_seen or headline_seen or outside)
            headline_seen = headline_seen or headline
            if (
                text
                and not headline
                and key(text) not in skip
                and not SLIDE_COUNTER.match(text)
                and not outside
                and link_share(element, anchors=False) < MAX_LINK_SHARE
                and not _hidden(element)
                and not _described(element)
                and not _in_form_box(element)
            ):
                heading = text
        elif tag in ("p", "li") and not _outside(element):
            prose = len(element.text_content().split()) >= HTML_PROSE_WORDS
            holds_heading = any(e.tag in _HEADINGS for e in element.iterdescendants())
            if (
                prose
                and not holds_heading
                and link_share(element) < MAX_LINK_SHARE
                and not _hidden(element)
            ):
                prose_seen = True
                if heading is not None:
                    expected.append(heading)
                    heading = None
    return expected


def _plain(token: Any) -> tuple[str, float]:
    """An inline token's plain text (its text and code spans, link text included) and the
    share of it (white space aside) that is link text."""
    parts: list[str] = []
    linked = 0
    depth = 0
    for child in token.children or []:
        if child.type == "link_open":
            depth += 1
        elif child.type == "link_close":
            depth = max(0, depth - 1)
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
            linked += _chars(child.content) if depth else 0
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    text = "".join(parts)
    return text, linked / _chars(text) if _chars(text) else 0.0


def markdown_expected(text: str, titles: Iterable[str] = ()) -> list[str]:
    """The ##-###### headings of a Markdown text with a paragraph beneath them, by markdown-it
    tokens alone (module docstring)."""
    from markdown_it import MarkdownIt

    skip = {key(t) for t in titles}
    body = _TEMPLATE_TAG.sub("", _FRONT_MATTER.sub("", text, count=1))
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    expected: list[str] = []
    heading: str | None = None
    for before, token in zip([None, *tokens], tokens, strict=False):
        if token.type == "heading_open":
            heading = None
        elif token.type == "inline" and before is not None and before.type == "heading_open":
            name = clean_heading(_plain(token)[0])
            if before.tag != "h1" and name and key(name) not in skip:
                heading = name
        elif token.type == "inline" and before is not None and before.type == "paragraph_open":
            words, links = _plain(token)
            prose = len(words.split()) >= MARKDOWN_PROSE_WORDS and links < MAX_LINK_SHARE
            if heading is not None and prose:
                expected.append(heading)
                heading = None
    return expected


def _json_sections(sections: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in sections:
        yield section
        yield from _json_sections(section.get("sections") or [])


def digest_titles(paths: Sequence[Path], name_of: Any) -> dict[str, tuple[str, set[str]]]:
    """name → (article title, keys of every section title and kicker) in the JSON digest made
    from `paths` with the extractive engine, without a cache."""
    from digest.pipeline import Options, make_digest
    from digest.render import digest_as_dict

    digest = digest_as_dict(make_digest(list(paths), Options(engine="extractive", cache=None)))
    titles = {}
    for article in digest["documents"]:
        names = set()
        for section in _json_sections(article["sections"]):
            names |= {key(t) for t in (section["title"], section["kicker"]) if t}
        titles[name_of(Path(article["path"]))] = (article["title"], names)
    return titles


def measure(
    path: Path,
    name: str,
    expected_of: Any,
    in_digest: tuple[str, set[str]] | None,
) -> Result:
    """One file: its expected headings (`expected_of(source text, titles)`), found or missed in
    the reader's section tree and in the digest's JSON sections (`in_digest`)."""
    try:
        document: Document | None = read_document(path, max_bytes=MAX_BYTES)
    except SkipDocument:
        document = None
    digest_title, digest_keys = in_digest or ("", set())
    titles = [t for t in (digest_title, document.title if document else "") if t]
    source = path.read_bytes().decode("utf-8", errors="replace")
    expected = expected_of(source, titles)
    found = tree_titles(document) if document else []
    tree_keys = {key(t) for t in found}
    return Result(
        name=name,
        split=split_of(name),
        expected=expected,
        found=found,
        furniture=kept_furniture(document) if document else [],
        bullets=bullets(document) if document else 0,
        missed=[h for h in expected if key(h) not in tree_keys],
        missed_digest=[h for h in expected if key(h) not in digest_keys],
    )


def measure_html(folder: Path) -> list[Result]:
    paths = sorted(folder.glob("*/source.html"))
    digest = digest_titles(paths, lambda p: p.parent.name)
    return [measure(p, p.parent.name, html_expected, digest.get(p.parent.name)) for p in paths]


def measure_markdown(folder: Path) -> list[Result]:
    paths = sorted(folder.glob("*.md"))
    digest = digest_titles(paths, lambda p: p.name)
    return [measure(p, p.name, markdown_expected, digest.get(p.name)) for p in paths]


def recall(results: Sequence[Result], digest: bool = False) -> float:
    expected = sum(len(r.expected) for r in results)
    missed = sum(len(r.missed_digest if digest else r.missed) for r in results)
    return (expected - missed) / expected if expected else 1.0


def report(label: str, results: list[Result]) -> list[str]:
    lines = []
    for split in ("dev", "held-out", "whole"):
        part = [r for r in results if split in ("whole", r.split)]
        expected = sum(len(r.expected) for r in part)
        furniture = sum(len(r.furniture) for r in part)
        most = max((r.bullets for r in part), default=0)
        over = sum(r.bullets > 12 for r in part)
        lines.append(
            f"| {label} | {split} | {len(part)} | {expected} | {recall(part):.3f} | "
            f"{recall(part, digest=True):.3f} | {furniture} | {most} | {over} |"
        )
    return lines


def misses(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        for h in r.expected:
            if h in r.missed_digest or h in r.missed:
                where = (
                    "reader+digest"
                    if h in r.missed and h in r.missed_digest
                    else ("reader" if h in r.missed else "digest")
                )
                lines.append(f"  missed ({where})  {r.name}: {h!r}")
        lines.extend(f"  furniture  {r.name}: {h!r}" for h in r.furniture)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list missed and furniture headings")
    args = parser.parse_args(argv)
    html_dir = args.shared / "data" / "html-readability"
    md_dir = args.shared / "data" / "markdown-18f"
    if not html_dir.is_dir() or not md_dir.is_dir():
        print(f"shared data not found under {args.shared}", file=sys.stderr)
        return 2

    html, markdown = measure_html(html_dir), measure_markdown(md_dir)
    print(
        "| data | split | documents | headings with prose | recall (reader) | "
        "recall (digest) | furniture kept | most bullets | over 12 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for line in report("html-readability", html) + report("markdown-18f", markdown):
        print(line)
    if args.misses:
        print("\n".join(["", *misses(html), *misses(markdown)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
