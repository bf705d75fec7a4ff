"""Headings read from a page's own markup and placed among trafilatura's main-content blocks."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digest.sectioning import Block
from digest.text import normalise_space

#: Elements whose text is never prose a reader keeps (and never holds a content heading).
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "button", "select", "textarea"}
)
#: Tables, code and figures: left out of the page's compact text (the reader keeps them as
#: verbatim text, not prose), so never counted as a gap under a heading.
_UNCOUNTED_TAGS = frozenset({"table", "pre", "figure"})
#: Containers that hold page furniture by their markup: a heading inside one is never a section.
_FURNITURE_TAGS = frozenset({"nav", "aside", "footer", "form", "dialog", "menu"})
_FURNITURE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "search", "banner"})
# One class or id token naming a furniture block ("share-tools", "related_links", "sidebar",
# GOV.UK's "gem-c-related-navigation"); "has-sidebar" on <body> or "post-comments-count" do
# not match, as the name must come first (after a design system's component prefix).
_COMPONENT_PREFIX = re.compile(r"^(?:gem-c-|govuk-|app-c-|c-|js-|o-|m-)", re.IGNORECASE)
_FURNITURE_CLASS = re.compile(
    r"^(?:share|sharing|social|related|newsletter|cookies?|consent|comments?|sidebar"
    r"|breadcrumbs?|promo|subscribe|signup|toc|contents-list|most-read|popular|trending"
    r"|advert|ad-slot|attachments?|print-link|feedback|visually-hidden|sr-only"
    r"|screen-reader-text)(?:$|[_-])",
    re.IGNORECASE,
)
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Edit links and permalink anchors that CMSs put inside headings: "History[edit]", "Setup ¶".
HEADING_CRUFT = re.compile(r"\s*(?:\[edit\]|[¶#§])\s*$")

#: At most this much text (whitespace removed) the reader does not keep may lie between a
#: heading and the first kept paragraph under it (a byline, a date, a chart's labels), and
#: at most MAX_LINK_GAP of it link text. A heading over more (a list of links, a widget)
#: heads nothing in the main content.
MAX_GAP = 1000
MAX_LINK_GAP = 120
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
    standfirst: bool = False  # a sentence set as a heading: prose, not a section title


@dataclass(frozen=True)
class PageText:
    """A page's compact text, where its link text lies in it, and its headings."""

    text: str
    links: list[tuple[int, int]]  # (start, end) of each run of link text, in order
    headings: list[DomHeading]

    def link_chars(self, start: int, end: int) -> int:
        first = bisect.bisect_left(self.links, (start, start)) - 1
        total = 0
        for a, b in self.links[max(first, 0) :]:
            if a >= end:
                break
            total += max(0, min(b, end) - max(a, start))
        return total


def compact(text: str) -> str:
    """Text without whitespace and case: page text and extracted text compare equal this way."""
    return _NON_SPACE.sub("", text).casefold()


def page_outline(root: Any) -> PageText:
    """The page's compact text and its headings (h1-h6, in order) with their offsets in it."""
    pieces: list[str] = []
    headings: list[DomHeading] = []
    links: list[tuple[int, int]] = []
    length = 0

    def add(text: str | None, link: bool = False) -> None:
        nonlocal length
        if text:
            piece = compact(text)
            pieces.append(piece)
            if link and piece:
                links.append((length, length + len(piece)))
            length += len(piece)

    def walk(element: Any, furniture: bool, link: bool = False) -> None:
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
                furniture = furniture or _links_home(element, text)
                level = _HEADING_TAGS[tag]
                headings.append(
                    DomHeading(start, length, level, text, furniture, is_standfirst(text))
                )
            return
        link = link or tag == "a"
        add(element.text, link)
        for child in element:
            walk(child, furniture, link)
            add(child.tail, link)

    body = root.find(".//body")
    walk(body if body is not None else root, False)
    return PageText("".join(pieces), links, headings)


def place_headings(blocks: Sequence[Block], root: Any) -> list[Block]:
    """trafilatura's blocks with the page's own headings put back before the prose they head.

    trafilatura's paragraphs are kept as they are (so the main text is exactly what it
    extracted); its own headings are replaced by the page's, each found in the page's text
    and kept only when a kept paragraph follows it closely (see MAX_GAP) and it does not sit in
    page furniture. A heading trafilatura kept that the page's headings do not account for
    (not an h1-h6 there) stays where trafilatura put it.
    """
    try:
        page = page_outline(root)
    except RecursionError:  # markup nested thousands deep: keep trafilatura's own headings
        return list(blocks)
    stream, headings = page.text, page.headings
    heading_texts = {compact(h.text) for h in headings}
    out: list[Block] = []
    pending: list[Block] = []  # trafilatura's own headings, until the next paragraph is placed
    # Where the previous placed paragraph starts in the page's text, and where to look for the
    # next one: past its first half (its end is not trusted, as trafilatura's text of a
    # paragraph can run longer than the page's; its start alone would find a paragraph
    # again inside the one before it when the two share a phrase).
    position = search_from = 0
    next_heading = 0
    for block in blocks:
        kind, text, _ = block
        if kind == "verbatim":
            # Tables and code are not in the page's compact text (see _UNCOUNTED_TAGS): they
            # stay where trafilatura put them, in the section of the prose before them.
            out.append(block)
            continue
        if kind == "heading":
            if compact(text) not in heading_texts:
                out.append(block)
            else:
                pending.append(block)
            continue
        at = find_paragraph(stream, text, search_from)
        if at < 0:
            out.extend(pending)
            pending = []
            out.append(block)
            continue
        # Headings before the previous paragraph's start were passed over with it.
        while next_heading < len(headings) and headings[next_heading].offset < position:
            next_heading += 1
        candidates: list[DomHeading] = []
        while next_heading < len(headings) and headings[next_heading].end <= at:
            candidates.append(headings[next_heading])
            next_heading += 1
        # trafilatura's own headings here are among the page's: the page's rules decide them.
        pending = []
        placed = _heading_blocks(page, candidates, at)
        if out and placed and out[-1][0] == "heading" and out[-1][1] == placed[0][1]:
            placed = placed[1:]  # trafilatura's copy of it was already written out
        out.extend(placed)
        out.append(block)
        position, search_from = at + 1, at + max(1, len(compact(text)) // 2)
    return out


def _heading_blocks(page: PageText, candidates: Sequence[DomHeading], at: int) -> list[Block]:
    # The headings between two kept paragraphs, outermost first in document order; each must
    # head the paragraph at `at` with little unkept text in between (other headings aside).
    kept: list[Block] = []
    between = sum(h.end - h.offset for h in candidates)  # heading text after each heading
    for heading in candidates:
        between -= heading.end - heading.offset
        gap = at - heading.end - between
        link_gap = page.link_chars(heading.end, at)
        # A standfirst (a sentence set as a heading under the headline) is the publisher's
        # summary of the article or a call to action, not the article: the digest makes its
        # own summary from the article alone.
        if heading.furniture or heading.standfirst or gap > MAX_GAP or link_gap > MAX_LINK_GAP:
            continue
        kept.append(("heading", heading.text, heading.level))
    return kept


#: How far ahead of the previous paragraph the next one is looked for (characters of compact
#: text), so a page whose paragraphs cannot be found costs linear time, not quadratic.
_SEARCH_WINDOW = 300_000


def find_paragraph(stream: str, text: str, start: int) -> int:
    """Where `text` (a paragraph of the main text) starts in the page's compact text, looking
    from `start`; -1 if it is not there."""
    # The start of the paragraph, or failing that (trafilatura rewrites some inline markup)
    # a piece of its middle or its end, taken back to where the paragraph would start.
    key = compact(text)
    end = start + _SEARCH_WINDOW + len(key)
    for size in (_KEY, _SHORT_KEY):
        found = stream.find(key[:size], start, end)
        if found >= 0:
            return found
    for at in (len(key) // 2, len(key) - _SHORT_KEY):
        if at > 0 and (found := stream.find(key[at : at + _SHORT_KEY], start, end)) >= 0:
            return max(start, found - at)
    return -1


#: A "heading" this long that ends like a sentence is a standfirst or a call to action.
MAX_HEADING_SENTENCE_WORDS = 14


def is_standfirst(text: str) -> bool:
    """A long "heading" that ends like a sentence: a standfirst or a call to action."""
    return len(text.split()) > MAX_HEADING_SENTENCE_WORDS and text.rstrip()[-1:] in ".!"


_HOME = re.compile(r"^(?:[a-z]+:)?(?://[^/?#]+)?/?(?:index\.\w+)?$", re.IGNORECASE)


def _links_home(element: Any, text: str) -> bool:
    # A heading that is one link to the site's front page ("hacks.mozilla.org Home") is the
    # site's masthead, not a section of the article.
    for link in element.iter("a"):
        href = (link.get("href") or "").strip()
        if href and _HOME.match(href) and compact(link.text_content()) == compact(text):
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
    for name in names:
        name = _COMPONENT_PREFIX.sub("", name)
        # A slug made from a heading ("sharing-with-a-single-developer") is not a widget's name.
        if _FURNITURE_CLASS.match(name) and len(re.split(r"[_-]", name)) <= 3:
            return True
    return False
