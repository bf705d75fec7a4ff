"""How long each kind of summary should be, in words, whichever engine writes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """A summary's length for a text of `n` words: `scale` × n^¼ words, within [least, most],
    in at most `max_sentences` sentences.

    The fourth root grows slowly on purpose: a 700-word news story gets about 60 words (the
    length of the human summaries in ../shared/data/news-writers, 48 words, and of LEAD-3, 70),
    a 1,500-word post about 75, a 20,000-word report no more than `most`. A digest is read at
    a glance; ROUGE against long extractive references (BBC) would reward longer.
    """

    scale: float
    least: int
    most: int
    max_sentences: int

    def words(self, n: int) -> int:
        return round(min(self.most, max(self.least, self.scale * max(0, n) ** 0.25)))


#: Article: 40-90 words for news (docs/quality.md measures 12 × n^¼ on the dev halves).
#: Section: one or two sentences. TL;DR: one sentence, whatever its input.
BUDGETS: dict[str, Budget] = {
    "article": Budget(scale=12.0, least=35, most=120, max_sentences=5),
    "section": Budget(scale=6.0, least=15, most=45, max_sentences=2),
    "tldr": Budget(scale=0.0, least=1, most=40, max_sentences=1),
}

#: Tokens per English word for subword tokenizers (BART, T5 and Pegasus all come out near
#: 1.3 on news): turns a word budget into a seq2seq model's token limits.
TOKENS_PER_WORD = 1.3
