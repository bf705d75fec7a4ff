"""Headings read from a page's own markup and placed among trafilatura's main-content blocks."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from digest.sectioning import Block
from digest.text import normalise_space

#: Elements whose text is never prose a reader keeps (and never holds a content heading).
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "button", "select", "textarea"}
)
#: Text that trafilatura leaves out (tables, code, figures): not counted as a gap under a heading.
_UNCOUNTED_TAGS = frozenset({"table", "pre", "code", "figure", "figcaption", "img", "video"})
#: Containers that hold page furniture by their markup: a heading inside one is never a section.
_FURNITURE_TAGS = frozenset({"nav", "aside", "footer", "form", "dialog", "menu"})
_FURNITURE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "search", "banner"})
# One class or id token naming a furniture block ("share-tools", "related_links", "sidebar");
# "has-sidebar" on <body> or "post-comments-count" do not match, as the name must come first.
_FURNITURE_CLASS = re.compile(
    r"^(?:share|sharing|social|related|newsletter|cookies?|consent|comments?|sidebar"
    r"|breadcrumbs?|promo|subscribe|signup|toc|most-read|popular|trending|advert|ad-slot"
    r"|visually-hidden|sr-only|screen-reader-text)(?:$|[_-])",
    re.IGNORECASE,
)
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Edit links and permalink anchors that CMSs put inside headings: "History[edit]", "Setup ¶".
HEADING_CRUFT = re.compile(r"\s*(?:\[edit\]|[¶#§])\s*$")

#: At most this much text (whitespace removed) the reader does not keep may lie between a
#: heading and the first kept paragraph under it: a byline, a date, a caption. A heading over
#: more than that (a list of links, a widget) heads nothing in the main content.
MAX_GAP = 300
#: Paragraph prefixes compared when finding trafilatura's paragraphs in the page's text.
_KEY = 60
_SHORT_KEY = 24
_NON_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DomHeading:
    offset: int  # where the heading starts in the page's compact text
    end: int  # where its own text ends there
    level: int
    text: str
    furniture: bool  # inside a nav, aside, footer, share widget...


def compact(text: str) -> str:
    """Text without whitespace and case: page text and extracted text compare equal this way."""
    return _NON_SPACE.sub("", text).casefold()


def page_outline(root: Any) -> tuple[str, list[DomHeading]]:
    """The page's compact text and its headings (h1-h6, in order) with their offsets in it."""
    pieces: list[str] = []
    headings: list[DomHeading] = []
    length = 0

    def add(text: str | None) -> None:
        nonlocal length
        if text:
            piece = compact(text)
            pieces.append(piece)
            length += len(piece)

    def walk(element: Any, furniture: bool) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if tag in _SKIPPED_TAGS or _hidden(element):
            return
        furniture = furniture or _is_furniture_container(element, tag)
        if tag in _UNCOUNTED_TAGS:
            return
        if tag in _HEADING_TAGS:
            text = HEADING_CRUFT.sub("", normalise_space(element.text_content()))
            start = length
            add(text)
            if text:
                furniture = furniture or _links_away(element, text) or _is_standfirst(text)
                headings.append(DomHeading(start, length, _HEADING_TAGS[tag], text, furniture))
            return
        add(element.text)
        for child in element:
            walk(child, furniture)
            add(child.tail)

    body = root.find(".//body")
    walk(body if body is not None else root, False)
    return "".join(pieces), headings


def place_headings(blocks: Sequence[Block], root: Any) -> list[Block]:
    """trafilatura's blocks with the page's own headings put back before the prose they head.

    trafilatura's paragraphs are kept as they are (so the main text is exactly what it
    extracted); its own headings are replaced by the page's, each found in the page's text
    and kept only when a kept paragraph follows it closely (see MAX_GAP) and it does not sit in
    page furniture. A heading trafilatura kept that the page's headings do not account for
    (not an h1-h6 there) stays where trafilatura put it.
    """
    stream, headings = page_outline(root)
    heading_texts = {compact(h.text) for h in headings}
    out: list[Block] = []
    pending: list[Block] = []  # trafilatura's own headings, until the next paragraph is placed
    position = 0  # where the last placed paragraph ended in the page's text
    next_heading = 0
    for block in blocks:
        kind, text, _ = block
        if kind == "heading":
            if compact(text) not in heading_texts:
                out.append(block)
            else:
                pending.append(block)
            continue
        at = _find(stream, text, position)
        if at < 0:
            out.extend(pending)
            pending = []
            out.append(block)
            continue
        while next_heading < len(headings) and headings[next_heading].offset < position:
            next_heading += 1
        candidates: list[DomHeading] = []
        while next_heading < len(headings) and headings[next_heading].end <= at:
            candidates.append(headings[next_heading])
            next_heading += 1
        # trafilatura's own headings here are among the page's: the page's rules decide them.
        pending = []
        out.extend(_heading_blocks(candidates, at))
        out.append(block)
        position = at + len(compact(text))
    return out


def _heading_blocks(candidates: Sequence[DomHeading], at: int) -> list[Block]:
    # The headings between two kept paragraphs, outermost first in document order; each must
    # head the paragraph at `at` with little unkept text in between (other headings aside).
    kept: list[Block] = []
    for i, heading in enumerate(candidates):
        between = sum(h.end - h.offset for h in candidates[i + 1 :])
        gap = at - heading.end - between
        if heading.furniture or gap > MAX_GAP:
            continue
        kept.append(("heading", heading.text, heading.level))
    return kept


def _find(stream: str, text: str, start: int) -> int:
    key = compact(text)
    for size in (_KEY, _SHORT_KEY):
        found = stream.find(key[:size], start)
        if found >= 0:
            return found
    return -1


#: A "heading" this long that ends like a sentence is a standfirst or a call to action.
MAX_HEADING_SENTENCE_WORDS = 14


def _is_standfirst(text: str) -> bool:
    return len(text.split()) > MAX_HEADING_SENTENCE_WORDS and text.rstrip()[-1:] in ".!"


def _links_away(element: Any, text: str) -> bool:
    # A heading that is one link to another page ("hacks.mozilla.org Home", a teaser's title)
    # is navigation; a permalink anchor to the heading itself ("#setup") is not.
    for link in element.iter("a"):
        href = (link.get("href") or "").strip()
        if href and not href.startswith("#") and compact(link.text_content()) == compact(text):
            return True
    return False


def _hidden(element: Any) -> bool:
    get = element.get
    style = (get("style") or "").replace(" ", "").lower()
    return (
        get("hidden") is not None
        or get("aria-hidden") == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def _is_furniture_container(element: Any, tag: str) -> bool:
    if tag in _FURNITURE_TAGS or (element.get("role") or "").lower() in _FURNITURE_ROLES:
        return True
    if tag in ("html", "body", "main", "article"):
        return False
    names = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    return any(_FURNITURE_CLASS.match(name) for name in names)


def iter_headings(root: Any) -> Iterator[DomHeading]:
    """Every heading in the page with its place in the page's text (for measurement)."""
    yield from page_outline(root)[1]
