"""Headings read from a page's own markup and placed among trafilatura's main-content blocks."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.sectioning import Block, run_in_heading
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
# One class or id naming a furniture block ("share-tools", "related_links", "sidebar",
# "c-newsletter--promo", a design system's "xx-c-related-navigation"). The name is read as
# CSS naming conventions write it: its block (before a BEM "__element" or "--modifier"),
# whose first word names what it is, after at most two namespace words (short ones such as
# "c-", "js-", "gem-", or any word before a one-letter one: "nhsuk-c-"). So "post-comments-count"
# (a post's count), "has-sidebar" (a state), "l-sidebar-fixed" and "layout-sidebar-right" (a
# layout) and a slug made from a heading ("sharing-with-a-single-developer", four words and
# more) do not match.
_FURNITURE_CLASS = re.compile(
    r"^(?:share|sharing|social|related|newsletters?|cookies?|consent|comments?|sidebar"
    r"|breadcrumbs?|promo|subscribe|signup|toc|contents-list|most-read|popular|trending"
    r"|advert|ad-slot|attachments?|print-link|feedback|visually-hidden|sr-only"
    r"|screen-reader-text)(?:$|-)",
    re.IGNORECASE,
)
_NAME_WORDS = re.compile(r"[-_]+")
#: Words that start a state ("has-sidebar", "is-related") or a layout ("l-sidebar-fixed",
#: which places the article beside a sidebar), not a component.
_STATE_WORDS = frozenset({"has", "is", "no", "not", "with", "without", "l", "layout"})
#: A name of more words than this (its namespace aside) is a slug, not a component's name.
_MAX_NAME_WORDS = 3
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
    in_flow: bool = True  # among the paragraphs of its container (not alone in a teaser box)


@dataclass(frozen=True)
class PageText:
    """A page's compact text, where its link text lies in it, and its headings."""

    text: str
    links: list[tuple[int, int]]  # (start, end) of each run of link text, in order
    headings: list[DomHeading]
    #: Run-in headings: where a paragraph opening with a bold line ("<b>Task scheduling</b>
    #: <br>Clients can…") starts in the compact text, and that line as a heading.
    labels: dict[int, str] = field(default_factory=dict)

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
    labels: dict[int, str] = {}
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
        if tag in _SKIPPED_TAGS or hidden_by_markup(element):
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
                parent = element.getparent()
                in_flow = parent is not None and any(_tag(child) == "p" for child in parent)
                standfirst = is_standfirst(text)
                headings.append(
                    DomHeading(start, length, level, text, furniture, standfirst, in_flow)
                )
            return
        if tag in _PARAGRAPH_TAGS and not furniture and (label := _run_in_label(element)):
            labels[length] = label
        link = link or tag == "a"
        add(element.text, link)
        for child in element:
            walk(child, furniture, link)
            add(child.tail, link)

    body = root.find(".//body")
    walk(body if body is not None else root, False)
    return PageText("".join(pieces), links, headings, labels)


#: Elements whose text is a paragraph (or a list item) and may open with a run-in heading.
_PARAGRAPH_TAGS = frozenset({"p", "li", "dd", "div"})


def _tag(element: Any) -> str:
    return element.tag.lower() if isinstance(element.tag, str) else ""


def _run_in_label(element: Any) -> str | None:
    # <p><b>Task scheduling</b><br>Clients can…</p> (or the <br> inside the <b>): a bold
    # first line, then the prose.
    if (element.text or "").strip():
        return None
    children = [child for child in element if _tag(child)]
    if not children or _tag(children[0]) not in ("b", "strong"):
        return None
    bold, rest = children[0], children[1:]
    inner = [child for child in bold if _tag(child)]
    if inner and _tag(inner[-1]) == "br" and not (inner[-1].tail or "").strip():
        after = bold.tail or ""  # <b>Label<br></b> text
    elif rest and _tag(rest[0]) == "br" and not (bold.tail or "").strip():
        after, rest = rest[0].tail or "", rest[1:]  # <b>Label</b><br> text
    else:
        return None
    after += "".join(child.text_content() + (child.tail or "") for child in rest)
    if not any(ch.isalnum() for ch in after):
        return None
    return run_in_heading(bold.text_content())


def place_headings(blocks: Sequence[Block], root: Any, page: PageText | None = None) -> list[Block]:
    """trafilatura's blocks with the page's own headings put back before the prose they head.

    trafilatura's paragraphs are kept as they are (so the main text is exactly what it
    extracted); its own headings are replaced by the page's, each found in the page's text
    and kept only when a kept paragraph follows it closely (see MAX_GAP) and it does not sit in
    page furniture. A heading trafilatura kept that the page's headings do not account for
    (not an h1-h6 there) stays where trafilatura put it. `page` is root's outline when the
    caller has it already.
    """
    if page is None:
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
    level = 1  # of the last heading written out: a run-in heading goes one below it
    lead = True  # no paragraph placed yet: a long sentence set as a heading is a standfirst
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
                level = block[2]
            else:
                pending.append(block)
            continue
        at = find_paragraph(stream, text, search_from)
        if at < 0:
            out.extend(pending)
            level = pending[-1][2] if pending else level
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
        placed = _heading_blocks(page, candidates, at, lead=lead)
        if out and placed and out[-1][0] == "heading" and out[-1][1] == placed[0][1]:
            placed = placed[1:]  # trafilatura's copy of it was already written out
        out.extend(placed)
        level = next((b[2] for b in reversed(placed) if b[0] == "heading"), level)
        out.extend(_run_in(block, page.labels.get(at), level))
        position, search_from = at + 1, at + max(1, len(compact(text)) // 2)
        lead = False
    return out


def _run_in(block: Block, label: str | None, level: int) -> list[Block]:
    # A paragraph opening with a run-in heading, as that heading (one level below the section
    # it is in) and the paragraph after it, so the heading is not read into its first sentence.
    text = block[1]
    if label is None or text[: len(label)].casefold() != label.casefold():
        return [block]
    rest = text[len(label) :].lstrip(" :")
    if not rest or text[len(label) : len(label) + 1].isalnum():
        return [block]  # nothing after it, or the label ends inside a word
    return [("heading", text[: len(label)], min(level + 1, 6)), ("paragraph", rest, 0)]


def _heading_blocks(
    page: PageText, candidates: Sequence[DomHeading], at: int, *, lead: bool
) -> list[Block]:
    # The headings between two kept paragraphs, outermost first in document order; each must
    # head the paragraph at `at` with little unkept text in between (other headings aside).
    # `lead`: no paragraph of the page was placed before these.
    kept: list[Block] = []
    between = sum(h.end - h.offset for h in candidates)  # heading text after each heading
    for heading in candidates:
        between -= heading.end - heading.offset
        gap = at - heading.end - between
        link_gap = page.link_chars(heading.end, at)
        if heading.furniture or gap > MAX_GAP or link_gap > MAX_LINK_GAP:
            continue
        # A standfirst (a sentence set as a heading before the article's first paragraph, or
        # alone in a teaser's box) is the publisher's summary of the article or a call to
        # action, not the article: it leaves the text, and the digest makes its own summary
        # from the article alone. A long heading among the paragraphs it heads (an
        # interview's question, "Lesson 2: When it comes to…") is a heading.
        if heading.standfirst and (lead or not heading.in_flow):
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


def hidden_by_markup(element: Any) -> bool:
    """Whether the element's own attributes hide it: `hidden`, `aria-hidden`, an inline
    display:none or visibility:hidden."""
    get = element.get
    style = (get("style") or "").replace(" ", "").lower()
    return (
        get("hidden") is not None
        or (get("aria-hidden") or "").lower() == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def _is_furniture_container(element: Any, tag: str) -> bool:
    if tag in _FURNITURE_TAGS or (element.get("role") or "").lower() in _FURNITURE_ROLES:
        return True
    if tag in ("html", "body", "main", "article"):
        return False
    names = (element.get("class") or "").split()
    if tag not in _HEADING_TAGS:  # a heading's id is its anchor, a slug of its own words
        names += (element.get("id") or "").split()
    return any(furniture_class(name) for name in names)


def furniture_class(name: str) -> bool:
    """Whether a class or id names a furniture block, by the rule above _FURNITURE_CLASS."""
    block = re.split(r"__|--", name.strip("-_"), maxsplit=1)[0]
    words = [w for w in _NAME_WORDS.split(block.casefold()) if w]
    if not words or words[0] in _STATE_WORDS:
        return False
    # The name itself, or what follows one or two namespace words.
    for start in range(min(3, len(words))):
        rest = words[start:]
        if start and not _namespace(words[start - 1], rest[0]):
            break
        if len(rest) <= _MAX_NAME_WORDS and _FURNITURE_CLASS.match("-".join(rest)):
            return True
    return False


def _namespace(word: str, following: str) -> bool:
    # "c", "js", "gem", "app" (short) or "nhsuk" before a one-letter word ("nhsuk-c-…").
    return len(word) <= 3 or len(following) == 1
