"""The lexical faithfulness checker: is each summary sentence supported by its source text?"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from digest.wording import (
    NEGATIONS,
    STOPWORDS,
    Token,
    content_stems,
    number_values,
    stem,
    tokens,
)

#: Weights of the sentence risk (a logistic score over the features below), tuned on the
#: tuning half of the SummEval dev split only (scripts/tune_faithfulness.py; docs/quality.md).
WEIGHTS = {
    "bias": -1.833,
    "novel_numbers": 2.327,
    "novel_words": 0.000,
    "unsupported_share": 0.000,
    "novel_trigrams": 0.855,
    "negation_flip": 0.615,
    "uncopied": 0.000,
    "fragments": 3.450,
    "spread": 0.915,
    "unpaired": 0.962,
}
#: The signals of one sentence, in the order the tuning script fits them.
FEATURES = (
    "novel_numbers",
    "novel_words",
    "unsupported_share",
    "novel_trigrams",
    "negation_flip",
    "uncopied",
    "fragments",
    "spread",
    "unpaired",
)
#: A sentence with at least this share of its content words in no source passage is
#: unsupported whatever its risk; so is one with a number the source does not have.
UNSUPPORTED_SHARE = 0.5
#: A sentence whose risk is at least this is unsupported.
THRESHOLD = 0.5
#: A source sentence that covers at least this share of a flagged sentence's content words
#: may stand in for it (the sentence it paraphrased); below, the sentence is dropped.
REPLACE_SHARE = 0.5
#: The summary-level verdict (`digest eval --consistency`): the mean of three summary signals,
#: each standardised by its (mean, standard deviation) over the tuning half's summaries, and
#: the threshold at or over which the summary is inconsistent. Chosen by 4-fold grouped
#: cross-validation within the tuning half, then fitted on all of it
#: (scripts/tune_faithfulness.py --summary; docs/quality.md).
SUMMARY_SCALES = {
    "fragments_per_word": (0.1222, 0.1266),
    "unpaired": (0.1512, 0.2502),
    "unsupported_share": (0.0854, 0.1726),
}
SUMMARY_THRESHOLD = -0.2311


@dataclass(frozen=True)
class SentenceCheck:
    """One summary sentence's verdict against its source."""

    sentence: str
    supported: bool
    risk: float
    #: Why it is unsupported ("number 89th not in the source"); "" when supported.
    reason: str
    #: The source sentence (or two) it aligns with best, and the share of its content words
    #: they hold.
    aligned: str
    aligned_share: float
    features: dict[str, float] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SummaryCheck:
    sentences: tuple[SentenceCheck, ...]
    #: The summary-level signals (summary_features) and their standardised mean.
    features: dict[str, float] = field(repr=False, default_factory=dict)
    score: float = 0.0

    @property
    def supported(self) -> bool:
        """Every sentence passes: the guard's verdict, sentence by sentence."""
        return all(s.supported for s in self.sentences)

    @property
    def inconsistent(self) -> bool:
        """The summary-level verdict: its score at or over the threshold, or a sentence that
        breaks a rule (a number or a name the source lacks, most of its words unsupported)."""
        return self.score >= SUMMARY_THRESHOLD or any(
            s.features and certainly_unsupported(s.features) for s in self.sentences
        )

    @property
    def risk(self) -> float:
        return max((s.risk for s in self.sentences), default=0.0)

    @property
    def flagged(self) -> tuple[SentenceCheck, ...]:
        return tuple(s for s in self.sentences if not s.supported)


# A stop (and any closing quote or bracket), space, then a capital, a digit or an opening
# quote; not after a title or an initial ("Mr. Smith", "J. K. Rowling", "U.S. officials").
_PLAIN_END = re.compile(
    r"(?<=[.!?])(?<!\b[A-Z]\.)"
    + "".join(f"(?<!\\b{t}\\.)" for t in "Mr Ms Mrs Dr St Prof Gen Sen Rep Gov No vs Jr Sr".split())
    + r"[\"')\]”’]*\s+(?=[\"'(\[“‘]?[A-Z0-9])"
)


def quick_sentences(text: str) -> list[str]:
    """Sentences for checking: a paragraph break, or a stop and a capital, ends one. About
    fifty times faster than pysbd, which matters: the guard indexes every source it checks
    against (docs/benchmarks.md)."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        out.extend(s.strip() for s in _PLAIN_END.split(paragraph.strip()) if s.strip())
    return out


class Source:
    """A source text indexed once for checking any number of summary sentences against it."""

    def __init__(self, text: str, split: Callable[[str], list[str]] = quick_sentences) -> None:
        self.sentences = split(text)
        self.tokens = [tokens(s) for s in self.sentences]
        self.stems = [content_stems(t) for t in self.tokens]
        every = [t for ts in self.tokens for t in ts]
        self.all_stems = {stem(t.word) for t in every}
        self.numbers = number_values(every)
        # The words in order, with the sentence each is in, for the copied fragments.
        self.sequence = [t.word for t in every]
        self.all_trigrams = set(_ngrams(self.sequence, 3))
        self.sentence_of = [i for i, ts in enumerate(self.tokens) for _ in ts]
        self.positions: dict[str, list[int]] = {}
        for at, word in enumerate(self.sequence):
            self.positions.setdefault(word, []).append(at)
        # Content words that some source sentence negates ("did not score" → "score").
        self.negated_stems: set[str] = set()
        for ts in self.tokens:
            self.negated_stems |= _negated_stems(ts)
        # Which sentences hold each stem: alignment looks only at sentences sharing a word.
        self.index: dict[str, list[int]] = {}
        for i, stems in enumerate(self.stems):
            for s in stems:
                self.index.setdefault(s, []).append(i)

    def align(self, stems: set[str]) -> tuple[list[int], float]:
        """The source sentence, or pair, holding the most of `stems`, and the share held."""
        if not stems or not self.sentences:
            return [], 0.0
        counts: dict[int, int] = {}
        for s in stems:
            for i in self.index.get(s, ()):
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return [], 0.0
        ranked = sorted(counts, key=lambda i: (-counts[i], i))[:8]
        best, held = [ranked[0]], counts[ranked[0]]
        first = stems & self.stems[ranked[0]]
        for j in ranked[1:]:
            together = len(first | (stems & self.stems[j]))
            # A pair counts only where the second sentence adds enough to matter.
            if together > held + 1:
                best, held = [ranked[0], j], together
        return sorted(best), held / len(stems)


def _negated_stems(toks: Sequence[Token]) -> set[str]:
    """The stems of the content words a negation governs: the next three non-stop words."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if t.word in NEGATIONS:
            after = [u for u in toks[i + 1 : i + 6] if u.word not in STOPWORDS][:2]
            out.update(stem(u.word) for u in after)
    return out


def fragments(words: Sequence[str], source: Source) -> list[tuple[int, int]]:
    """The summary's words cut greedily into the longest runs copied from the source
    (Grusky et al.'s extractive fragments): (length, source sentence) per run."""
    runs = []
    i = 0
    seq = source.sequence
    while i < len(words):
        best, where = 0, -1
        for at in source.positions.get(words[i], ()):
            n = 1
            while i + n < len(words) and at + n < len(seq) and seq[at + n] == words[i + n]:
                n += 1
            if n > best:
                best, where = n, at
        if best:
            runs.append((best, source.sentence_of[where]))
            i += best
        else:
            i += 1
    return runs


#: How close (in words, in order) two content words must stand in the source to count as said
#: together.
NEAR = 8


def _near(first: str, second: str, source: Source) -> bool:
    after = source.positions.get(second, ())
    return any(0 < b - a <= NEAR for a in source.positions.get(first, ()) for b in after)


def _ngrams(words: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    return zip(*(words[i:] for i in range(n)), strict=False)


def sentence_features(sentence: str, source: Source) -> tuple[dict[str, float], str, list[int]]:
    """The signals of one sentence, the reason for the strongest, and its aligned sentences."""
    toks = tokens(sentence)
    words = [t.word for t in toks]
    stems = content_stems(toks)
    novel_numbers = [t for t in toks if t.number is not None and t.number not in source.numbers]
    novel = [
        t
        for t in toks
        if t.number is None and t.word not in STOPWORDS and stem(t.word) not in source.all_stems
    ]
    aligned, share = source.align(stems)
    trigrams = list(_ngrams(words, 3))
    novel_tri = (
        sum(1 for g in trigrams if g not in source.all_trigrams) / len(trigrams)
        if trigrams
        else 0.0
    )
    negated = any(w in NEGATIONS for w in words)
    flip = 0.0
    mine = _negated_stems(toks)
    if mine and not mine & source.negated_stems:
        flip = 1.0  # it negates what no source sentence negates
    elif aligned and share >= 0.6 and not negated:
        dropped = _negated_stems(source.tokens[aligned[0]]) & stems
        flip = 1.0 if dropped and len(aligned) == 1 else 0.0
    content = [t.word for t in toks if t.word not in STOPWORDS]
    pairs = list(zip(content, content[1:], strict=False))
    unpaired = sum(1 for a, b in pairs if not _near(a, b, source)) / len(pairs) if pairs else 0.0
    runs = fragments(words, source)
    long_runs = [n for n, _ in runs if n >= 3]
    copied = sum(long_runs) / len(words) if words else 1.0
    spread = len({at for n, at in runs if n >= 3})
    # A capitalised word not opening the sentence is most likely a name.
    names = [t for t in novel if t.text[:1].isupper() and t is not toks[0]]
    features = {
        "novel_numbers": float(len(novel_numbers)),
        "novel_words": float(len(novel)),
        "unsupported_share": 1.0 - share if stems else 0.0,
        "novel_trigrams": novel_tri,
        "negation_flip": flip,
        "uncopied": 1.0 - copied,
        "fragments": len(runs) / max(1, len(words)),
        "spread": float(max(0, spread - 1)),
        "unpaired": unpaired,
        "words": float(len(words)),
        "novel_names": float(len(names)),
    }
    reasons = []
    if novel_numbers:
        reasons.append(f"number {novel_numbers[0].text} not in the source")
    if names or novel:
        first = (names or novel)[0]
        reasons.append(f"{'name' if names else 'word'} {first.text} not in the source")
    if flip:
        reasons.append(
            "negation not in the source" if negated else "leaves out the source's negation"
        )
    if stems and share < 0.6:
        reasons.append(f"only {share:.0%} of its words in any one source passage")
    if spread > 2:
        reasons.append(f"pieced together from {spread} places in the source")
    if not words:
        reasons.append("no words to find in the source")
    return features, "; ".join(reasons[:2]), aligned


def certainly_unsupported(features: dict[str, float]) -> bool:
    """The verdicts that need no weighing: a number or a name the source lacks, most of the
    words found in no source passage, or no words at all (what a broken model writes)."""
    return (
        features["novel_numbers"] > 0
        or features["novel_names"] > 0
        or features["unsupported_share"] >= UNSUPPORTED_SHARE
        or features["words"] == 0
    )


def risk(features: dict[str, float]) -> float:
    z = WEIGHTS["bias"] + sum(WEIGHTS[k] * v for k, v in features.items() if k in WEIGHTS)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def check_sentence(sentence: str, source: Source) -> SentenceCheck:
    features, reason, aligned = sentence_features(sentence, source)
    score = risk(features)
    supported = score < THRESHOLD and not certainly_unsupported(features)
    share = 1.0 - features["unsupported_share"]
    return SentenceCheck(
        sentence,
        supported,
        score,
        "" if supported else (reason or "weakly supported by the source"),
        " ".join(source.sentences[i] for i in aligned),
        share,
        features,
    )


def summary_features(checks: Sequence[SentenceCheck], source: Source) -> dict[str, float]:
    """The summary-level signals: copied fragments per word over the whole summary (a
    summary pieced from many short runs is rewriting, and rewriting is where errors come
    in), and the worst sentence's share of adjacent content words never near each other in
    the source and share of content words no one source passage holds."""
    words = [t.word for c in checks for t in tokens(c.sentence)]
    runs = fragments(words, source)
    return {
        "fragments_per_word": len(runs) / len(words) if words else 0.0,
        "unpaired": max((c.features.get("unpaired", 0.0) for c in checks), default=0.0),
        "unsupported_share": max(
            (c.features.get("unsupported_share", 0.0) for c in checks), default=0.0
        ),
    }


def summary_score(features: dict[str, float]) -> float:
    """The mean of the standardised summary signals."""
    return sum((features[k] - mu) / sd for k, (mu, sd) in SUMMARY_SCALES.items()) / len(
        SUMMARY_SCALES
    )


def check_summary(
    summary: Sequence[str] | str,
    source: Source | str,
    split: Callable[[str], list[str]] = quick_sentences,
) -> SummaryCheck:
    """Check each sentence of `summary` (a text, or its sentences) against `source`, and
    the summary as a whole."""
    indexed = source if isinstance(source, Source) else Source(source, split)
    sentences = split(summary) if isinstance(summary, str) else list(summary)
    checks = tuple(check_sentence(s, indexed) for s in sentences if s.strip())
    features = summary_features(checks, indexed)
    return SummaryCheck(checks, features, summary_score(features))


def best_source_sentence(sentence: str, source: Source) -> str | None:
    """The one source sentence `sentence` paraphrased, when one holds enough of its words."""
    stems = content_stems(tokens(sentence))
    if not stems:
        return None
    best, held = None, 0.0
    for i, mine in enumerate(source.stems):
        share = len(stems & mine) / len(stems)
        if share > held:
            best, held = i, share
    if best is None or held < REPLACE_SHARE:
        return None
    return source.sentences[best]


__all__ = [
    "Source",
    "SentenceCheck",
    "SummaryCheck",
    "best_source_sentence",
    "check_sentence",
    "check_summary",
    "quick_sentences",
    "summary_features",
    "summary_score",
]
