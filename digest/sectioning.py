"""Heading detection for plain text: title, kicker and section-title lines, paragraphs; no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Literal

from digest.model import Section
from digest.text import normalise_space

#: A line ending in one of these (after closing quotes and brackets) is prose, not a heading.
SENTENCE_END = ".!?…:;,"
_CLOSERS = "\"'”’»)]"

#: Headings are short: the seed's longest is 10 words / 58 characters; a BBC-style closing
#: credit line of 16 words must stay prose.
MAX_HEADING_WORDS = 12
MAX_HEADING_CHARS = 90
#: A question is only a heading as a kicker ("Do you know?") in front of a section title.
MAX_QUESTION_WORDS = 8
#: Titles may be a little longer than headings and may end in "?" or "!".
MAX_TITLE_WORDS = 20
MAX_TITLE_CHARS = 150
#: Lines longer than this are never hard-wrapped: wrapping tools stop at 72-80 columns.
MAX_WRAP_WIDTH = 100
MIN_WRAP_WIDTH = 40
#: Share of line pairs that must look wrapped before a document counts as hard-wrapped.
MIN_WRAPPED_SHARE = 0.3

# Section level for a heading found in plain text: one below the document title, like an H2.
HEADING_LEVEL = 2
# Numbered headings nest: "2 Methods" is an H2, "2.1 Data" an H3, "2.1.3 Cleaning" an H4.
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+\S")

_SEPARATOR = re.compile(r"^\s*([-=*_~#+•·])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•·–]|\d{1,3}[.)])\s+")

Kind = Literal["heading", "question", "prose"]


@dataclass(frozen=True)
class Outline:
    """What plain text says about itself: a title line (if it has one) and its sections."""

    title: str | None
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Line:
    """One logical line: a source line, or a hard-wrapped run of them joined by spaces."""

    text: str
    physical: int  # how many source lines were joined into this one (hard wrapping)


def outline_text(text: str) -> Outline:
    """Split plain text into an optional title and its sections.

    The first line is the title when it is short and more text follows. Short lines without
    sentence-final punctuation are headings; two in a row before prose are a kicker and a
    section title ("Details" / "'Taliban took control of Kandahar city'"), and when a
    document uses such pairs, a lone heading line is a kicker too. Numbered headings nest
    ("2.1 Data" under "2 Methods"). Paragraphs are separated by blank lines or, where lines
    are not hard-wrapped, by line ends.
    """
    lines = logical_lines(text)
    title: str | None = None
    if len(lines) > 1 and is_title_line(lines[0]):
        title = lines[0].text
        lines = lines[1:]
    return Outline(title, nest_sections(split_sections(lines)))


def logical_lines(text: str) -> list[Line]:
    """Source lines with hard-wrapped runs joined back together; blank lines dropped."""
    blocks = _blocks(text)
    width = _wrap_width(blocks)
    wrapped = width >= MIN_WRAP_WIDTH and _looks_wrapped(blocks, width)
    out: list[Line] = []
    for block in blocks:
        current: list[str] = []
        for i, line in enumerate(block):
            current.append(line)
            following = block[i + 1] if i + 1 < len(block) else None
            if (
                wrapped
                and following is not None
                and _is_full(line, following, width)
                and not _BULLET.match(following)
            ):
                continue
            out.append(Line(normalise_space(" ".join(current)), len(current)))
            current = []
    return out


def is_title_line(line: Line) -> bool:
    """A short single line not ending a sentence in "." ("?", "!" and "..." headlines are fine)."""
    text = line.text
    return (
        line.physical == 1
        and len(text) <= MAX_TITLE_CHARS
        and len(text.split()) <= MAX_TITLE_WORDS
        and (_last_char(text) not in ".…:;," or text.rstrip(_CLOSERS).endswith(("...", "…")))
        and any(ch.isalnum() for ch in text)
    )


def classify(line: Line) -> Kind:
    """Heading, question (a kicker only if a heading follows) or prose, from the line alone."""
    text = line.text
    words = text.split()
    if (
        line.physical > 1
        or not words
        or _BULLET.match(text)
        or not _capitalised(words[0])
        or not any(ch.isalpha() for ch in text)
    ):
        return "prose"
    last = _last_char(text)
    if last == "?" and len(words) <= MAX_QUESTION_WORDS:
        return "question"
    if last in SENTENCE_END:
        return "prose"
    if len(words) <= MAX_HEADING_WORDS and len(text) <= MAX_HEADING_CHARS:
        return "heading"
    return "prose"


def split_sections(lines: list[Line]) -> tuple[Section, ...]:
    """Group classified lines into sections; text before the first heading has no title."""
    kinds = [classify(line) for line in lines]
    # A question is a kicker only when a section-title line and then prose follow it.
    for i, kind in enumerate(kinds):
        if kind == "question":
            pair = kinds[i + 1 : i + 3] == ["heading", "prose"]
            kinds[i] = "heading" if pair else "prose"
    # A short line introducing a list ("The government had claimed tobacco firms") is prose.
    for i in range(len(kinds) - 1):
        if kinds[i] == "heading" and _BULLET.match(lines[i + 1].text):
            kinds[i] = "prose"
    # Heading-like lines after the last prose ("Bob", "See you soon") head nothing: keep them as
    # prose. A document of nothing but headings stays that way and is skipped for having no prose.
    if "prose" in kinds:
        last_prose = max(i for i, k in enumerate(kinds) if k == "prose")
        kinds[last_prose:] = ["prose"] * (len(kinds) - last_prose)

    runs = _heading_runs(kinds)
    uses_pairs = any(length == 2 and end < len(kinds) for _, end, length in runs)

    sections: list[Section] = []
    paragraphs: list[str] = []
    title: str | None = None
    kicker: str | None = None
    level = 0
    started = False

    def close() -> None:
        if started or paragraphs:
            sections.append(Section(title, tuple(paragraphs), kicker, heading_level(title, level)))

    i = 0
    while i < len(lines):
        if kinds[i] == "prose":
            paragraphs.append(lines[i].text)
            i += 1
            continue
        start, end, length = next(r for r in runs if r[0] == i)
        heads = [lines[j].text for j in range(start, end)]
        # The pair (or lone kicker) heads the prose; any heading lines before it stand empty.
        tail = 2 if uses_pairs and length >= 2 else 1
        for empty in heads[:-tail]:
            close()
            paragraphs, title, kicker, level, started = [], empty, None, HEADING_LEVEL, True
        close()
        if tail == 2:
            kicker, title = heads[-2], heads[-1]
        elif uses_pairs:
            kicker, title = heads[-1], None
        else:
            kicker, title = None, heads[-1]
        paragraphs, level, started = [], HEADING_LEVEL, True
        i = end
    close()
    return tuple(sections)


def heading_level(title: str | None, default: int) -> int:
    """A plain-text heading's level: from its number ("2.1 Data" → 3), else `default`."""
    match = _NUMBERED.match(title or "")
    return HEADING_LEVEL + match.group(1).count(".") if match else default


def title_from_filename(name: str) -> str:
    """ "my-notes_2024.txt" → "My notes 2024": the fallback title for text with no title line."""
    stem = PurePath(name).stem
    words = normalise_space(re.sub(r"[-_.]+", " ", stem))
    return words[:1].upper() + words[1:]


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = normalise_space(raw)
        # Rules such as "-----" or "* * *" separate blocks like a blank line does.
        if not line or _SEPARATOR.match(line):
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _wrap_width(blocks: list[list[str]]) -> int:
    return max((len(line) for b in blocks for line in b if len(line) <= MAX_WRAP_WIDTH), default=0)


def _is_full(line: str, following: str, width: int) -> bool:
    # The classic reflow test: a line was wrapped if the next word would not have fitted on it.
    return len(line) <= MAX_WRAP_WIDTH and len(line) + 1 + len(following.split()[0]) > width


def _looks_wrapped(blocks: list[list[str]], width: int) -> bool:
    # Evidence is a full line that stops mid-sentence; a file with one paragraph per line has
    # (almost) none, because its lines end sentences.
    pairs = evidence = 0
    for block in blocks:
        for line, following in zip(block, block[1:], strict=False):
            if len(line) > MAX_WRAP_WIDTH:
                continue
            pairs += 1
            if _is_full(line, following, width) and _last_char(line) not in SENTENCE_END:
                evidence += 1
    return evidence >= 1 and evidence >= MIN_WRAPPED_SHARE * pairs


def _heading_runs(kinds: list[Kind]) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(kinds):
        if kinds[i] == "prose":
            i += 1
            continue
        start = i
        while i < len(kinds) and kinds[i] != "prose":
            i += 1
        runs.append((start, i, i - start))
    return runs


def _last_char(text: str) -> str:
    stripped = text.rstrip().rstrip(_CLOSERS).rstrip()
    return stripped[-1:] if stripped else ""


def _capitalised(word: str) -> bool:
    # "iPhone", "'Taliban", "1,000" and "US" may start a heading; "and" or ", who" may not.
    word = word.lstrip(_CLOSERS + "“‘«([")
    return bool(word) and (word[0].isupper() or word[0].isdigit() or any(c.isupper() for c in word))


#: A block of a structured document (Markdown, HTML): ("heading", text, level),
#: ("paragraph", text, 0), ("links", text, 0) (a paragraph that is nothing but links) or
#: ("verbatim", text, 0) (a table row or code block: kept, never summarised), in document order.
Block = tuple[str, str, int]

#: Headings that are page furniture rather than content ("Share this page", "Related
#: content"): the whole heading names a page widget, a navigation aid or a prompt, never a
#: part of the article. Headings that name part of the article's content ("Sources",
#: "Notes", "References", "Documents", "Search") or merely start with such a word ("Why
#: newsletters are back", "More from the minister", "Popular uprisings of 1848") are kept.
#: Such a heading is dropped; the prose under it (if any) joins the section before.
FURNITURE = re.compile(
    r"^(?:share(?: (?:this|it))?(?: (?:page|article|story|post|link))?"
    r"|share (?:on|via) \S+(?: \S+)?|social(?: media)?(?: links| sharing)?"
    r"|related(?: content| articles?| posts?| stories| links| reading| topics| items| guides?)?"
    r"|(?:read|see) (?:more|also)|more (?:on|about|from) this (?:story|topic|site|author|section)"
    r"|more (?:stories|news|articles)|(?:table of )?contents|on this page"
    r"|in this (?:article|section|page|story)|external links|print(?: this)?(?: page| article)?"
    r"|cookies? (?:settings|policy|preferences|notice|consent)|cookies on \S+(?: \S+)?"
    r"|(?:click here to )?(?:sign up|subscribe)(?: (?:to|for))?(?: \S+){0,3}"
    r" (?:newsletters?|e-?mails?|updates|alerts)|(?:our |the |email |daily |weekly )?newsletters?"
    r"|subscribe(?: now)?|follow us(?: on \S+(?: \S+)?)?|tags|topics|categories"
    r"|comments?(?: \(\d+\))?|\d+ comments?|leave a (?:comment|reply)|post a comment"
    r"|join the (?:conversation|discussion)|skip to \S+(?: \S+)?|navigation(?: menu)?|menu"
    r"|most (?:read|popular|viewed|shared)|trending(?: now| stories)?|advertisements?"
    r"|about (?:the|this) author|sponsored(?: content| links| stories)?"
    r"|you (?:may|might) also like|recommended(?: for you| articles| stories| reading| posts)?"
    r"|popular(?: now| today| posts| articles| stories| on \S+(?: \S+)?)?|like this"
    r"|latest (?:news|posts|articles|stories)"
    r"|read later|save (?:for later|article|this article)|is this page useful\??"
    r"|help us improve(?: \S+){0,2}|explore the topic|updates to this page|page history"
    r"|get emails? about this page|report a problem(?: with this page)?"
    r"|listen to (?:this )?article)$",
    re.IGNORECASE,
)


#: A bold run this long at most, alone on the first line of a paragraph, is a run-in heading.
MAX_LABEL_WORDS = MAX_HEADING_WORDS


def run_in_heading(label: str) -> str | None:
    """The heading a paragraph's bold first line makes ("**Task scheduling**", a line break,
    then the prose it heads), without a closing colon; None when the bold run is no heading
    but the paragraph's first sentence ("**New data on colleges.**") or too long for one.

    Read as one paragraph, the label would be glued into the sentence after it ("Task
    scheduling Clients can schedule tasks…").
    """
    text = normalise_space(label).rstrip(":").rstrip()
    words = text.split()
    if (
        not words
        or len(words) > MAX_LABEL_WORDS
        or not any(ch.isalpha() for ch in text)
        or _last_char(text) in ".!?…;,"
    ):
        return None
    return text


def sections_from_blocks(
    blocks: Sequence[Block], title: str, *, headline_h1: bool = False
) -> tuple[Section, ...]:
    """Group headings and paragraphs into a tree of sections, nested by heading level.

    Text before the first heading is a section of its own (no title). The first H1 that
    repeats the document's title is the title, not an empty first section; with `headline_h1`
    (web pages, whose <title> often words the headline differently), so is an H1 before any
    prose. Headings that are
    page furniture go, with what they head: a heading with nothing beneath it, one heading
    only links, or one named like furniture ("Share this page") heading no real prose.
    """
    flat: list[Section] = []
    heading: str | None = None
    level = 0
    paragraphs: list[str] = []
    kinds: list[str] = []
    verbatim: list[str] = []
    links = 0
    started = title_seen = False

    def close() -> None:
        if not (started or paragraphs or verbatim):
            return
        if heading is None or not is_furniture(heading, paragraphs, links):
            flat.append(Section(heading, tuple(paragraphs), None, level, verbatim=tuple(verbatim)))
        else:
            # A marker (negative level): prune() drops the heading and moves its prose, and
            # that of any section under it, to the section before; lists of links go.
            prose = tuple(p for p, k in zip(paragraphs, kinds, strict=True) if k != "links")
            flat.append(Section(heading, prose, None, -level, verbatim=tuple(verbatim)))

    for kind, value, depth in blocks:
        if kind == "verbatim":
            verbatim.append(value)
            continue
        if kind in ("paragraph", "links"):
            paragraphs.append(value)
            kinds.append(kind)
            links += kind == "links"
            continue
        headline = headline_h1 and not (flat or paragraphs or started)
        if depth == 1 and not title_seen and (headline or _same_text(value, title)):
            title_seen = True
            continue
        close()
        heading, level, paragraphs, kinds, links, started = value, depth, [], [], 0, True
        verbatim = []
    close()
    return prune(nest_sections(flat))


def is_furniture(heading: str, paragraphs: Sequence[str], links: int) -> bool:
    """A heading over nothing but links, or one named like furniture ("Read more")."""
    return bool(paragraphs and links == len(paragraphs)) or furniture_name(heading)


def furniture_name(heading: str) -> bool:
    """Whether a heading is named like page furniture ("Share this page", "Related content")."""
    return bool(FURNITURE.match(normalise_space(heading).strip(" :.-–—|").casefold()))


@dataclass
class _Node:
    section: Section
    children: list[_Node]


def nest_sections(flat: Sequence[Section]) -> tuple[Section, ...]:
    """A flat run of sections with levels as a tree: each section holds the deeper ones after it.

    Untitled sections (level 0, the text before the first heading) never hold others.
    A negative level marks a furniture section: it is nested like any other (so the sections
    under it are found) and removed by prune().
    """
    roots: list[_Node] = []
    stack: list[_Node] = []
    for section in flat:
        node = _Node(section, [])
        depth = abs(section.level)
        while stack and abs(stack[-1].section.level) >= depth:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        if depth > 0:
            stack.append(node)

    def build(node: _Node) -> Section:
        return replace(node.section, sections=tuple(build(c) for c in node.children))

    return tuple(build(n) for n in roots)


def prune(sections: Sequence[Section]) -> tuple[Section, ...]:
    """The tree without furniture headings and without sections that hold no prose.

    A furniture section's prose (and its subsections') is not lost: it joins the section
    before it, so the document keeps all the text its reader extracted; so does the verbatim
    text (tables, code) of a section with no prose.
    """
    kept, loose = _prune(sections)
    if loose.paragraphs:
        kept = (loose, *kept)
    elif loose.verbatim and kept:  # every section kept holds prose: tables join the first
        kept = (replace(kept[0], verbatim=loose.verbatim + kept[0].verbatim), *kept[1:])
    return kept


def _prune(sections: Sequence[Section]) -> tuple[tuple[Section, ...], Section]:
    # Returns the kept sections and, as an untitled section, the prose and verbatim text of
    # furniture sections found before the first of them, for the caller to keep in the
    # section above.
    kept: list[Section] = []
    loose = Section(None, ())

    def keep_before(moved: Section) -> None:
        nonlocal loose
        if kept:
            kept[-1] = _append_to_last(kept[-1], moved)
        else:
            loose = _with(loose, moved)

    for section in sections:
        if section.level < 0:
            inside = tuple(section.walk())
            paragraphs = tuple(p for s in inside for p in s.paragraphs)
            keep_before(
                Section(None, paragraphs, verbatim=tuple(v for s in inside for v in s.verbatim))
            )
            continue
        children, carried = _prune(section.sections)
        section = replace(_with(section, carried), sections=children)
        if section.paragraphs or children:
            kept.append(section)
        elif section.verbatim:
            # A heading over a table or code alone heads no prose: it goes, the text stays.
            keep_before(Section(None, (), verbatim=section.verbatim))
    return tuple(kept), loose


def _with(section: Section, extra: Section) -> Section:
    return replace(
        section,
        paragraphs=section.paragraphs + extra.paragraphs,
        verbatim=section.verbatim + extra.verbatim,
    )


def _append_to_last(section: Section, extra: Section) -> Section:
    """`section` with `extra`'s paragraphs and verbatim text added at its end (in its last,
    deepest subsection)."""
    if not (extra.paragraphs or extra.verbatim):
        return section
    if section.sections:
        *rest, last = section.sections
        return replace(section, sections=(*rest, _append_to_last(last, extra)))
    return _with(section, extra)


def _same_text(a: str, b: str) -> bool:
    return normalise_space(a).casefold() == normalise_space(b).casefold()
