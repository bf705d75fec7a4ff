"""One entry for a story told by several sources: sentences chosen across them, none twice."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from digest.budgets import BUDGETS
from digest.model import ArticleSummary, SectionSummary
from digest.repeats import Said
from digest.summary_tree import SUMMARY_BOUNDS
from digest.text import bound_text, split_sentences

_WORD = re.compile(r"[^\W_]+")

#: Two sentences whose word 3-grams overlap this much (Jaccard) say the same thing: wire copy
#: reprinted by several outlets with a word or two changed.
NEAR_DUPLICATE = 0.6
#: Words the merged summary may add per source beyond the first, up to the article bound:
#: a story reported by five outlets earns a little more room than one reported once.
WORDS_PER_SOURCE = 15


def trigrams(sentence: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(sentence)]
    if len(words) < 3:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def near_duplicate(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> bool:
    """Whether two sentences' 3-gram sets overlap by NEAR_DUPLICATE or more (Jaccard)."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= NEAR_DUPLICATE


class Told:
    """The sentences a merged entry has said so far: no exact copy, no near-duplicate
    (3-gram Jaccard), and no restatement digest.repeats already catches within one entry."""

    def __init__(self) -> None:
        self._grams: list[set[tuple[str, ...]]] = []
        self._said = Said()

    def repeats(self, sentence: str) -> bool:
        grams = trigrams(sentence)
        return (
            not grams
            or self._said.repeats(sentence)
            or any(near_duplicate(grams, other) for other in self._grams)
        )

    def tell(self, sentence: str) -> bool:
        """Say `sentence` unless it repeats; whether it was said."""
        if self.repeats(sentence):
            return False
        self._grams.append(trigrams(sentence))
        self._said.add(sentence)
        return True


def best_source(articles: Sequence[ArticleSummary]) -> int:
    """The index of the source an entry is built on: the fullest report (most words), the
    earliest given on a tie."""
    return max(range(len(articles)), key=lambda i: (articles[i].words, -i))


def merge_entry(articles: Sequence[ArticleSummary], outlets: int) -> ArticleSummary:
    """The entry of a story told by `articles` (the lead first) from `outlets` distinct
    outlets: the lead's title, date and link; its TL;DR; a summary of sentences taken in turn
    from each source's TL;DR and summary, skipping any the entry has already said; and the
    lead's section titles only (their bullets would retell the story once more)."""
    lead = articles[0]
    if len(articles) == 1:
        return lead
    told = Told()
    tldr = " ".join(s for s in split_sentences(lead.tldr) if told.tell(s))
    most, max_chars = SUMMARY_BOUNDS["article"]
    room = min(
        most,
        BUDGETS["article"].words(lead.words) + WORDS_PER_SOURCE * (max(outlets, 1) - 1),
    )
    queues = [split_sentences(a.summary) + split_sentences(a.tldr) for a in articles]
    chosen: list[str] = []
    used = 0
    while any(queues):
        for queue in queues:
            while queue:
                sentence = queue.pop(0)
                if told.repeats(sentence):
                    continue
                words = len(sentence.split())
                if chosen and used + words > room:
                    queue.clear()  # no room for this source's next sentence: it is done
                    break
                told.tell(sentence)
                chosen.append(sentence)
                used += words
                break
    summary = bound_text(" ".join(chosen), most, max_chars)
    return replace(
        lead,
        tldr=tldr or lead.tldr,
        summary=summary,
        sections=tuple(_title_only(s) for s in lead.sections if s.title or s.kicker),
        # Sentences come from every source: so do the guard's notes on them (a flagged
        # sentence keeps its mark whichever report it was taken from).
        guard=tuple(note for a in articles for note in a.guard),
    )


def _title_only(section: SectionSummary) -> SectionSummary:
    return replace(section, summary="", quoted=False, folded=True, sections=())
