"""What one article's entry has already said, so no sentence is said twice in it."""

from __future__ import annotations

import re

from digest.text import split_sentences

_WORD = re.compile(r"[^\W_]+")

#: A sentence whose word pairs are at least this share of one already said is a repeat:
#: the same sentence, or (from a model) the same sentence with a word or two changed.
REPEAT_SHARE = 0.8


def _words(sentence: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(sentence))


def _pairs(words: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))


class Said:
    """The sentences of one entry so far, in reading order: TL;DR, summary, then bullets."""

    def __init__(self) -> None:
        self._exact: set[tuple[str, ...]] = set()
        self._pairs: list[set[tuple[str, str]]] = []

    def repeats(self, sentence: str) -> bool:
        """Whether `sentence` says again what an earlier sentence of the entry said."""
        words = _words(sentence)
        if not words:
            return False  # punctuation alone: nothing said, nothing repeated
        if words in self._exact:
            return True
        pairs = _pairs(words)
        if len(pairs) < 3:
            return False  # too short to call a near-copy; only an exact copy counts
        return any(len(pairs & other) >= REPEAT_SHARE * len(pairs) for other in self._pairs)

    def add(self, text: str) -> None:
        for sentence in split_sentences(text):
            self._remember(sentence)

    def _remember(self, sentence: str) -> None:
        words = _words(sentence)
        if words:
            self._exact.add(words)
            self._pairs.append(_pairs(words))

    def unsaid(self, text: str) -> str:
        """`text` without the sentences already said (unchanged when it repeats none)."""
        sentences = split_sentences(text)
        fresh = [s for s in sentences if not self.repeats(s)]
        if len(fresh) == len(sentences):
            return text.strip()
        return " ".join(fresh)

    def say(self, text: str) -> str:
        """`text` without what was already said, and within itself without repeats; what is
        left counts as said from now on."""
        sentences = split_sentences(text)
        kept: list[str] = []
        for sentence in sentences:
            if not self.repeats(sentence):
                kept.append(sentence)
                self._remember(sentence)  # already one sentence: no need to split it again
        if len(kept) == len(sentences):
            return text.strip()
        return " ".join(kept)
