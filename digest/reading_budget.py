"""The reading budget: full entries for the top stories until it is spent, then one line each,
then a count of the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from digest.model import ArticleSummary, Story
from digest.text import bound_text

#: A one-line entry's TL;DR is cut to this many words.
LINE_TLDR_WORDS = 25
#: One-line entries after the full ones; the rest are counted ("… and 37 more") and listed
#: in the JSON. A hundred headlines is about what a reader scans in a minute or two.
MAX_LINES = 100


def words(text: str) -> int:
    return len(text.split())


def entry_words(entry: ArticleSummary) -> int:
    """The prose of an entry as shown: TL;DR, summary and its bullets (shown from two
    sections up; nested sections are named, not summarised, in the digest)."""
    bullets = entry.shown_sections if len(entry.sections) > 1 else ()
    return words(entry.tldr) + words(entry.summary) + sum(words(s.summary) for s in bullets)


def line_tldr(tldr: str) -> str:
    """A TL;DR cut for a one-line entry: at most LINE_TLDR_WORDS words, the cut mark included."""
    return bound_text(tldr, LINE_TLDR_WORDS - 1, 400)


def fit_budget(stories: Sequence[Story], max_words: int) -> list[Story]:
    """Each story marked "full", "line" or "more" in the order given, so that the prose shown
    (full entries' TL;DR, summary and bullets; one-line TL;DRs) is within `max_words`
    (0: no limit, every story in full).

    Full entries go to the top stories until the next one does not fit; the first story is
    always shown in full when it fits in the budget plus a tenth (a budget smaller than the
    top story still shows it). One-line entries get a cut TL;DR while it fits, then a title
    alone; after MAX_LINES of them, the rest are "more"."""
    if max_words <= 0:
        return [replace(s, shown="full", line_tldr="") for s in stories]
    left = max_words
    out: list[Story] = []
    full = True
    tldrs = True
    lines = 0
    for story in stories:
        cost = entry_words(story.entry)
        if full and (cost <= left or (not out and cost <= max_words * 1.1)):
            out.append(replace(story, shown="full", line_tldr=""))
            left -= cost
            continue
        full = False
        if lines >= MAX_LINES:
            out.append(replace(story, shown="more", line_tldr=""))
            continue
        lines += 1
        short = line_tldr(story.entry.tldr) if tldrs else ""
        if short and words(short) <= left:
            left -= words(short)
        else:
            tldrs, short = False, ""
        out.append(replace(story, shown="line", line_tldr=short))
    return out
