"""The summary tree: each document's TL;DR, summary and section bullets, in three passes
over the engine (articles, TL;DRs, sections), nothing said twice, every text within bounds."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from digest.engines.base import Summariser
from digest.folding import capped, fold
from digest.model import ArticleSummary, Document, GuardNote, Section, SectionSummary
from digest.outlets import outlet_of
from digest.reading import Progress
from digest.repeats import Said
from digest.shortening import shorten
from digest.sources import display_path
from digest.text import (
    CUT_MARK,
    bound_text,
    dangling_lead_in,
    join_sentences,
    normalise_space,
    split_sentences,
    strip_invisible,
    without_trailing_lead_in,
)

if TYPE_CHECKING:
    from digest.guard import Guard


def _counted(stage: str, total: int, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    return advance


#: Hard bounds (words, characters) on what the digest shows, whatever the engine or the input
#: gives: a digest's size depends on how many documents it holds, not on what is in them.
SUMMARY_BOUNDS = {"section": (150, 1100), "article": (300, 2200), "tldr": (60, 420)}
#: Titles and kickers: room for an interview's long question heading (the 18F posts' longest
#: is 50 words, 310 characters), so a question is not cut off before its question mark.
TITLE_BOUND = (60, 400)


def _clean(text: str, kind: str) -> str:
    """A summary as shown: no invisible characters, within its bounds, an unpunctuated
    paragraph (such as a quoted lead line) ending with a full stop, so it does not run into
    the next where the summary is shown on one line (a Markdown bullet), and never ending on
    a colon whose list is not there ("Three important reasons:"), whatever the engine chose."""
    max_words, max_chars = SUMMARY_BOUNDS.get(kind, TITLE_BOUND)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", strip_invisible(text))]
    joined = join_sentences([p for p in paragraphs if p], separator="\n\n")
    return bound_text(without_trailing_lead_in(joined), max_words, max_chars)


def _title(text: str | None) -> str | None:
    return (
        None if text is None else bound_text(normalise_space(strip_invisible(text)), *TITLE_BOUND)
    )


def _whole(section: Section, text: str, shown: str) -> bool:
    """Whether `shown`, made from `text`, is the section's whole text: not one of its sentences
    left out (as said before) and not cut to the section's bound."""
    cut = CUT_MARK.strip()
    return bool(text) and text == section.all_text.strip() and shown.count(cut) == text.count(cut)


@dataclass(frozen=True)
class _SummaryTree:
    """Turns one document's section tree into SectionSummary objects, in reading order, each
    saying only what the entry has not said yet (digest.repeats)."""

    summaries: Mapping[int, str]  # id(section) → engine summary
    texts: Mapping[int, str]  # id(section) → its text less what the TL;DR and summary said
    kept: set[int]  # id(section) of the sections in the (capped) summary tree
    said: Said

    def summarise(self, section: Section, *, folded: bool = False) -> SectionSummary | None:
        """The section's summary and its children's, or None when none has anything new."""
        if id(section) in self.summaries:
            summary, quoted = _clean(self.summaries[id(section)], "section"), False
        else:
            text = self.texts.get(id(section), "")
            summary = _clean(text, "section") if text else ""
            # Quoted only when whole: no sentence left out as said before, nothing cut.
            quoted = _whole(section, text, summary)
        # A model's bullet may still restate what was said: filtered as the input was.
        said = self.said.say(summary) if summary else ""
        quoted, summary = quoted and said == summary.strip(), said
        titled = section.title is not None or section.kicker is not None
        if not summary and titled:
            # Everything the bullet would say was said before (by the summary, or by the
            # bullet of a parent whose text is mostly this section's): the heading keeps its
            # place, with a sentence of its own not yet said if it has one.
            summary, quoted = self._unsaid_sentence(section), False
        children = tuple(
            child
            for c in section.sections
            if id(c) in self.kept and (child := self.summarise(c)) is not None
        )
        if not summary and not children and not titled:
            return None
        return SectionSummary(
            _title(section.kicker),
            _title(section.title),
            summary,
            section.all_words,
            quoted,
            level=section.level,
            sections=children,
            folded=folded,
        )

    def _unsaid_sentence(self, section: Section) -> str:
        """The first sentence of the section's text the entry has not said, one that stands
        alone (not a lead-in to a list); "" when there is none."""
        text = self.texts.get(id(section), "")
        for sentence in split_sentences(text):
            if not self.said.repeats(sentence) and not dangling_lead_in(sentence):
                return self.said.say(_clean(sentence, "section"))
        return ""


def _listed(section: SectionSummary) -> SectionSummary:
    """A top-level section with nothing left to say, listed by title only ("Also covers")."""
    return section if section.summary or section.sections else replace(section, folded=True)


def _title_only(section: SectionSummary) -> tuple[SectionSummary, ...]:
    """A lone top-level section whose text the summary paragraph carries: kept by title only
    (folded, no summary) when it has a title, so the JSON still lists every heading."""
    if section.title is None and section.kicker is None:
        return ()
    return (replace(section, summary="", quoted=False, folded=True),)


#: What a summary the guard emptied says instead: the source's opening, up to this many words.
LEAD_WORDS = 60


def _guarded(
    guard: Guard,
    summary: str,
    source: str,
    kind: str,
    notes: list[GuardNote],
    section: str | None = None,
) -> str:
    """`summary` as the guard leaves it, its notes added to `notes`. A summary every sentence
    of which was dropped becomes the source's opening sentences: an entry is never empty."""
    part = "summary" if kind == "article" else kind
    fixed, found = guard.apply(summary, source, part, section)
    notes.extend(found)
    if not found:
        return summary
    if not fixed.strip():
        lead: list[str] = []
        for sentence in split_sentences(source):
            lead.append(sentence)
            if sum(len(s.split()) for s in lead) >= (LEAD_WORDS if kind != "tldr" else 1):
                break
        fixed = join_sentences(lead)
    return _clean(fixed, kind)


def summarise_documents(
    documents: Sequence[Document],
    engine: Summariser,
    *,
    quote_under_words: int = 60,
    progress: Progress | None = None,
    guard: Guard | None = None,
) -> list[ArticleSummary]:
    """Summarise every article, then every section of every document, in batched passes.

    One article's entry never says a sentence twice: the TL;DR comes first, the summary
    paragraph leaves out what the TL;DR said, and each section bullet (over its whole subtree,
    see docs/structure.md) is made from what neither said, then loses what an earlier bullet
    said; a section with nothing new left gets no bullet. A document with fewer than two
    top-level sections has no bullets (its summary covers it), and a lone bullet continues
    the summary paragraph.

    With a `guard` (and an engine that writes its own sentences: extractive summaries are the
    source's sentences), every summary, TL;DR and section bullet the engine wrote is checked
    against the text it was made from before anything is built on it (digest.guard).
    """
    if guard is not None and (guard.mode == "off" or engine.name == "extractive"):
        guard = None
    notes: list[list[GuardNote]] = [[] for _ in documents]
    article_texts = [d.text for d in documents if d.words >= quote_under_words]
    generated = iter(
        engine.summarise(
            article_texts,
            kind="article",
            progress=_counted("articles", len(article_texts), progress),
        )
    )
    article_summaries = [
        _clean(next(generated) if d.words >= quote_under_words else d.text, "article")
        for d in documents
    ]
    written = [d.words >= quote_under_words for d in documents]
    if guard is not None:
        for d, document in enumerate(documents):
            if written[d]:
                article_summaries[d] = _guarded(
                    guard, article_summaries[d], document.text, "article", notes[d]
                )
    tldrs = [_clean(t, "tldr") for t in engine.summarise(article_summaries, kind="tldr")]
    if guard is not None:
        for d, document in enumerate(documents):
            if written[d]:
                tldrs[d] = _guarded(guard, tldrs[d], document.text, "tldr", notes[d])
    said = [Said() for _ in documents]
    paragraphs = []
    for d, tldr in enumerate(tldrs):
        said[d].add(tldr)
        paragraphs.append(said[d].say(article_summaries[d]))
    # Gathered across documents, so the engine sees every section in one batch and can sort
    # by length; each section loses the sentences the TL;DR and summary said before it is
    # summarised, so its bullet tells the reader something new.
    folds = [fold(d.sections) for d in documents]
    kept: list[set[int]] = []
    texts: list[dict[int, str]] = []
    section_texts: list[str] = []
    section_slots: list[int] = []
    section_owner: dict[int, tuple[int, Section]] = {}
    for d, folded in enumerate(folds):
        order = sorted(folded.shown)
        kept.append(capped(folded.sections, order))
        texts.append({})
        if len(folded.sections) < 2:
            continue  # a lone top-level section is the whole article: the summary serves
        for top in folded.sections:
            for section in top.walk():
                if id(section) not in kept[-1]:
                    continue
                text = said[d].unsaid(section.all_text)
                texts[-1][id(section)] = text
                if len(text.split()) >= quote_under_words:
                    section_texts.append(text)
                    section_slots.append(id(section))
                    section_owner[id(section)] = (d, section)
    section_summaries = dict(
        zip(
            section_slots,
            engine.summarise(
                section_texts,
                kind="section",
                progress=_counted("sections", len(section_texts), progress),
            ),
            strict=True,
        )
    )
    if guard is not None:
        for slot, text in zip(section_slots, section_texts, strict=True):
            d, section = section_owner[slot]
            title = _title(section.title or section.kicker)
            section_summaries[slot] = _guarded(
                guard, section_summaries[slot], text, "section", notes[d], title
            )

    results = []
    for d, document in enumerate(documents):
        folded = folds[d]
        sections: tuple[SectionSummary, ...] = ()
        if len(folded.sections) > 1:
            tree = _SummaryTree(section_summaries, texts[d], kept[d], said[d])
            sections = tuple(
                _listed(summary)
                for i, section in enumerate(folded.sections)
                if id(section) in kept[d]
                and (summary := tree.summarise(section, folded=i not in folded.shown)) is not None
            )
        if len(sections) == 1 and not sections[0].sections:
            # A list of one is not a list (the templates show bullets from two up): the one
            # section with something new to say continues the summary paragraph instead, and
            # only its title stays (in the JSON).
            paragraphs[d] = " ".join(p for p in (paragraphs[d], sections[0].summary) if p)
            sections = _title_only(sections[0])
        elif len(folded.sections) == 1:
            # The article summary covers a lone top-level section; its title stays (in the JSON).
            (top,) = folded.sections
            lone = SectionSummary(
                _title(top.kicker), _title(top.title), "", top.all_words, level=top.level
            )
            sections = _title_only(lone)
        # Within its share of the article's words (digest.shortening): a digest that is most
        # of its sources saves the reader nothing.
        results.append(
            shorten(
                ArticleSummary(
                    path=document.origin or display_path(document.path),
                    title=_title(document.title) or "",
                    summary=paragraphs[d],
                    tldr=tldrs[d],
                    words=document.words,
                    sections=sections,
                    date=document.date,
                    format=document.format,
                    link=document.link,
                    feed=_title(document.feed),
                    author=_title(document.author),
                    note=document.note,
                    outlet=outlet_of(document),
                    omitted_sections=sum(1 for _ in document.all_sections()) - len(kept[d]),
                    guard=tuple(notes[d]),
                )
            )
        )
    return results
