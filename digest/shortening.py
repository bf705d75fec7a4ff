"""Entries shorter than their sources: an article's entry within its share of the article."""

from __future__ import annotations

from dataclasses import replace

from digest.model import ArticleSummary, SectionSummary
from digest.text import dangling_lead_in, split_sentences

#: Articles shorter than this keep their entry as made (a short text is quoted or nearly so).
SHARE_FROM_WORDS = 300
#: An entry is at most this share of its article's words…
SHARE = 0.4
#: …and at most this share from LONG_WORDS on; in between it stays at LONG_SHARE × LONG_WORDS
#: (300 words), so a longer article never gets a shorter entry.
LONG_WORDS = 1500
LONG_SHARE = 0.2


def words(text: str | None) -> int:
    """Words as a reader counts them: runs of text with a letter or digit in them (a dash or a
    bullet is not a word)."""
    return sum(1 for token in (text or "").split() if any(c.isalnum() for c in token))


def allowance(article_words: int) -> int | None:
    """The most words an entry of an article this long may have; None below SHARE_FROM_WORDS."""
    if article_words < SHARE_FROM_WORDS:
        return None
    return int(min(SHARE * article_words, max(LONG_SHARE * LONG_WORDS, LONG_SHARE * article_words)))


def _label(section: SectionSummary) -> int:
    return words(section.kicker) + words(section.title)


def _covered(sections: tuple[SectionSummary, ...]) -> int:
    """Words of a "Covers" line: the titles (or kickers) it names."""
    return sum(words(s.title or s.kicker) for s in sections)


def entry_size(entry: ArticleSummary) -> int:
    """The words an entry shows: TL;DR, summary, and (with two sections or more) each bullet's
    label and text, the titles its "Covers" line names, and the "Also covers" titles."""
    size = words(entry.tldr) + words(entry.summary)
    if len(entry.sections) < 2:
        return size
    for section in entry.shown_sections:
        size += _label(section) + words(section.summary) + _covered(section.sections)
    return size + _covered(entry.folded_sections)


def _one_sentence(section: SectionSummary) -> SectionSummary:
    """The bullet cut to its first sentence that stands alone (not a lead-in to a list)."""
    sentences = split_sentences(section.summary)
    if len(sentences) < 2:
        return section
    first = next((s for s in sentences if not dangling_lead_in(s)), sentences[0])
    return replace(section, summary=first, quoted=False)


def shorten(entry: ArticleSummary) -> ArticleSummary:
    """`entry` within its allowance (digest.shortening.allowance), giving up as little as it
    can, in this order: every bullet to one sentence; then bullets folded into the "Also
    covers" line by title, the longest first (one with sections under it keeps its label and
    their titles, without its sentence); then the summary's last sentences. The TL;DR and
    every heading stay (a folded section is still named)."""
    limit = allowance(entry.words)
    if limit is None or entry_size(entry) <= limit:
        return entry
    sections = entry.sections
    if len(sections) >= 2:
        sections = tuple(s if s.folded else _one_sentence(s) for s in sections)
        entry = replace(entry, sections=sections)
        # The longest bullets go first: more headings keep a sentence beneath them.
        longest = sorted(range(len(sections)), key=lambda i: (-words(sections[i].summary), -i))
        for i in longest:
            if entry_size(entry) <= limit:
                break
            if sections[i].folded:
                continue
            # A bullet with sections under it stays, by its label, to keep their titles on
            # its "Covers" line; the others are named on the "Also covers" line.
            nested = bool(sections[i].sections)
            listed = replace(sections[i], summary="", quoted=False, folded=not nested)
            sections = sections[:i] + (listed,) + sections[i + 1 :]
            entry = replace(entry, sections=sections)
    sentences = split_sentences(entry.summary)
    while len(sentences) > 1 and entry_size(entry) > limit:
        sentences.pop()
        entry = replace(entry, summary=" ".join(sentences))
    return entry
