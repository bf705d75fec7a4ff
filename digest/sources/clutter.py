"""Page clutter out of an HTML page's main text: hidden widgets, galleries, bylines, notices."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lxml.etree import XPath

from digest.sources.headings import PageText, compact, find_paragraph, hidden_by_markup

# -- in the page, before the main text is extracted --------------------------------------------

#: ARIA roles of interactive widgets (a video player's menus, a share button, a dialog): what
#: they say is the widget's, never the article's.
_WIDGET_ROLES = frozenset(
    {
        "alertdialog",
        "button",
        "dialog",
        "menu",
        "menubar",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "tooltip",
        "toolbar",
    }
)
# Classes that hide text from sight by convention (Bootstrap, WordPress, video.js…). Whole
# names only: Drupal's "field-label-hidden" hides a label, and wraps the article's body.
_HIDDEN_CLASSES = frozenset(
    {
        "hidden",
        "is-hidden",
        "sr-only",
        "visually-hidden",
        "visuallyhidden",
        "screen-reader-text",
        "offscreen",
    }
)
#: An element hidden or a widget that holds more than this share of the page's text, or this
#: many paragraphs, is not removed: some pages hide their whole article until a script shows it.
_MOST_OF_THE_PAGE = 0.33
_PARAGRAPHS = 3
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# A citation marker set as a superscript: "[2]", "[citation needed]", "[a]".
_BRACKETED = re.compile(r"^\s*\[[^\[\]]{1,40}\]\s*$")
# A slide counter ("3/50", "3 / 50", "3 of 50") leading a gallery's caption.
_COUNTER = re.compile(r"^\s*(\d{1,3})\s*(?:/|of)\s*(\d{1,3})\b", re.IGNORECASE)
#: A gallery: at least this many captions numbered out of the same total.
_GALLERY_SLIDES = 3


def prune_page(root: Any) -> None:
    """Remove from the parsed page what a reader never sees as the article's text.

    Hidden text and widgets (by the page's own markup: `hidden`, `aria-hidden`, display:none,
    a hidden class, an interactive ARIA role, a figure inside a heading), captions, citation
    markers, hover cards (a person's card of links inside a paragraph) and photo galleries.
    """
    body = root.find(".//body")
    if body is None:
        body = root
    total = _visible_chars(body) or 1
    doomed: list[Any] = []
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag == "figcaption" or (tag == "sup" and _BRACKETED.match(element.text_content())):
            doomed.append(element)
        elif tag == "figure" and any(a.tag in _HEADINGS for a in element.iterancestors()):
            doomed.append(element)  # a widget in a heading (a review's rating key)
        elif _hidden(element) or (element.get("role") or "").lower() in _WIDGET_ROLES:
            if (
                _visible_chars(element) <= _MOST_OF_THE_PAGE * total
                and len(element.findall(".//p")) < _PARAGRAPHS
            ):
                doomed.append(element)
        elif tag != "a" and _is_hover_card(element):
            doomed.append(element)
    doomed.extend(_galleries(body))
    for element in doomed:
        _remove(element)


def _hidden(element: Any) -> bool:
    classes = (element.get("class") or "").lower().split()
    return hidden_by_markup(element) or not _HIDDEN_CLASSES.isdisjoint(classes)


def _is_hover_card(element: Any) -> bool:
    """An inline box inside a paragraph made of links (and a picture): a person's or a
    topic's card that shows on hover, which text extraction glues into the sentence."""
    if element.tag not in ("span", "div", "aside") or element.getparent() is None:
        return False
    if not any(ancestor.tag == "p" for ancestor in element.iterancestors()):
        return False
    links = element.findall(".//a")
    if len(links) < 2:
        return False
    text = len(compact(element.text_content() or ""))
    linked = sum(len(compact(link.text_content() or "")) for link in links)
    return element.find(".//img") is not None or (len(links) >= 3 and linked >= 0.9 * text)


def _galleries(body: Any) -> list[Any]:
    """Photo galleries: boxes of slides whose captions start with a counter ("3/50"), when
    several count out of the same total, with the gallery's own title and controls. A story's
    numbered list ("1. Take the blankets off") has no total and is not one."""
    counters: dict[int, list[Any]] = {}
    for element in body.iter("span", "h2", "h3", "h4", "p", "div"):
        own = (element.text or "").strip()
        if (match := _COUNTER.match(own)) and int(match.group(1)) <= int(match.group(2)):
            counters.setdefault(int(match.group(2)), []).append(element)
    return [_gallery_box(found) for found in counters.values() if len(found) >= _GALLERY_SLIDES]


#: Text (whitespace aside) a gallery's box may hold besides its slides: a title, controls.
_GALLERY_EXTRA = 200


def _gallery_box(counters: list[Any]) -> Any:
    # The smallest box holding every counter, then outwards while what is added is no more
    # than a title and controls: never the article around the gallery.
    box = counters[0]
    while not all(_contains(box, c) for c in counters[1:]):
        box = box.getparent()
    slides = _visible_chars(box)
    for ancestor in box.iterancestors():
        if ancestor.tag in ("body", "html", "article", "main"):
            break
        if _visible_chars(ancestor) - slides > _GALLERY_EXTRA:
            break
        box = ancestor
    return box


def _visible_chars(element: Any) -> int:
    """The element's text, whitespace and scripts aside."""
    return sum(len(compact(t)) for t in _VISIBLE_TEXT(element))


_VISIBLE_TEXT = XPath(".//text()[not(ancestor::script) and not(ancestor::style)]")


def _contains(box: Any, element: Any) -> bool:
    return element is box or any(a is box for a in element.iterancestors())


def _remove(element: Any) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # The text after the element belongs to its parent's flow: keep it.
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# -- in the main text, paragraph by paragraph --------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of the main text: its kind ("heading", "paragraph", "item" of a list,
    "links": a list item made of links, "verbatim": a table row or code), text and level."""

    kind: str
    text: str
    level: int = 0


#: A paragraph this short (words and characters), with no sentence end, is a label, not prose:
#: "24 July 2015", "By John Gruber", "Getty Images", "941 comments".
FRAGMENT_WORDS = 8
FRAGMENT_CHARS = 120
_SENTENCE_END = re.compile(r"[.!?…:;。！？][\"'”’)\]]*$")
#: A paragraph with at least this share of its text in links, and at most NAV_WORDS words, is
#: navigation ("Filed under: Politics, Health", "Read more: …"); a list item with at least
#: LINK_LIST of it is a list of links, kept as text but never summarised.
LINK_SHARE = 0.5
NAV_WORDS = 25
LINK_LIST = 0.8
#: Notices and promotions are short: a longer paragraph that mentions a newsletter is prose.
NOTICE_WORDS = 60

# What the publisher (or the feed's host) says about the article rather than in it. Kept short
# on purpose: each names a standard formula, not a site.
_NOTICE = re.compile(
    r"\bappeared first on\b"  # WordPress feeds: "The post … appeared first on …"
    r"|\boriginally published (?:in|on|at|by)\b"  # syndication, Medium
    r"|\bcontinuing the conversation\b"  # Medium's footer
    r"|\bavailable (?:only )?to \w+ members\b"  # paywall notices
    r"|\bsubmitted by\b.*\[(?:link|\d* ?comments?)\]"  # Reddit's footer
    r"|\bthanks for reading\b"  # newsletters (Substack)
    r"|\bmay (?:get|earn|receive|collect) (?:a )?(?:small )?(?:share|commission|portion)\b"
    r"|\b(?:affiliate|commission) links?\b"  # affiliate disclosures
    r"|\bhas been compensated by\b"  # sponsored posts
    r"|\b(?:reprinted|republished) (?:here )?with permission\b",
    re.IGNORECASE,
)
# A call to action: a short paragraph with one and a link is a promotion.
_CALL_TO_ACTION = re.compile(
    r"\b(?:sign up|subscribe|click here|newsletter|follow us|download (?:the|our) app"
    r"|delivered (?:to|through) your)\b",
    re.IGNORECASE,
)
# Citation markers left in the text: "[2]", "[12][13]", "[citation needed]".
_CITATION = re.compile(r"\[(?:\d{1,3}|[a-z]{1,2}|[a-z]+(?: [a-z]+)? needed)\]", re.IGNORECASE)
# The back-links that open a reference list's items: "^ ", "^ a b ", "↑ ".
_BACKLINKS = re.compile(r"^[\^↑](?:\s+[a-z]{1,2}\b)*\s+")


def drop_clutter(blocks: Sequence[Block], page: PageText | None) -> list[Block]:
    """The blocks without clutter: navigation, notices, promotions and the labels (datelines,
    bylines, credits, counts) at the edges of each section. List items made of links become
    "links" blocks: text to keep, never to summarise. `page` (the page's text and where its
    links are) gives each paragraph's share of link text; without it only the text's own
    signals count."""
    kept: list[Block] = []
    search_from = 0
    for block in blocks:
        if block.kind not in ("paragraph", "item"):
            kept.append(block)
            continue
        text = _BACKLINKS.sub("", _CITATION.sub("", block.text)).strip()
        if not text:
            continue
        share = 0.0
        if page is not None:
            at = find_paragraph(page.text, text, search_from)
            if at >= 0:
                size = len(compact(text))
                share = page.link_chars(at, at + size) / max(size, 1)
                search_from = at + max(1, size // 2)
        words = len(text.split())
        if block.kind == "item" and share >= LINK_LIST:
            kept.append(Block("links", text))
        elif block.kind == "paragraph" and share >= LINK_SHARE and words <= NAV_WORDS:
            continue
        elif words <= NOTICE_WORDS and (
            _NOTICE.search(text) or (share > 0 and _CALL_TO_ACTION.search(text))
        ):
            continue
        else:
            kept.append(Block(block.kind, text, block.level))
    return _drop_edge_labels(kept)


def is_fragment(block: Block, *, items: bool = False) -> bool:
    """A short line with no sentence end (outside a list, unless `items`): a label, not
    prose."""
    return (
        (block.kind == "paragraph" or (items and block.kind == "item"))
        and len(block.text) <= FRAGMENT_CHARS
        and len(block.text.split()) <= FRAGMENT_WORDS
        and not _SENTENCE_END.search(block.text)
    )


def _drop_edge_labels(blocks: Sequence[Block]) -> list[Block]:
    # Between two headings, the labels before the first line of prose and after the last are
    # the section's furniture (a dateline, a byline, a photo credit, a comment count); labels
    # between lines of prose are the text's own (a speaker, a list's lead-in) and stay. Before
    # the article's first prose, short list items are labels too (a list of date, section and
    # comment count); after it, a list is the article's.
    out: list[Block] = []
    lead = True
    for run in _runs(blocks):
        text = [i for i, b in enumerate(run) if b.kind in ("paragraph", "item")]
        first = next((i for i in text if not is_fragment(run[i], items=lead)), len(run))
        last = next((i for i in reversed(text) if not is_fragment(run[i])), -1)
        for i, block in enumerate(run):
            if (i < first and is_fragment(block, items=lead)) or (i > last and is_fragment(block)):
                continue
            out.append(block)
        lead = lead and first == len(run)
    return out


def _runs(blocks: Sequence[Block]) -> Iterable[list[Block]]:
    run: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            if run:
                yield run
            yield [block]
            run = []
        else:
            run.append(block)
    if run:
        yield run
