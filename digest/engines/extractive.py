"""The built-in extractive engine: central, early, non-redundant sentences quoted as written."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from digest.engines.base import Kind
from digest.text import join_sentences, split_sentences

# Unicode letters and digits, so accented, Cyrillic or Greek words count as words too.
_WORD = re.compile(r"[^\W_]+")

# Function words carry no topic; leaving them out keeps "the" and "said" from making every
# sentence look similar to every other. English only: other languages still work, just with
# their function words weighed down by IDF alone.
_STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    said says say mr mrs ms one two also however would could may might must shall us
    """.split()
)


@dataclass(frozen=True)
class Budget:
    """How much of a text one kind of summary keeps.

    `ratio` is the share of the text's words to aim for; `min_sentences` and `max_sentences`
    bound the result. A text the budget would keep whole (for one, a text of no more than
    `min_sentences` sentences) is quoted unchanged rather than re-summarised.
    """

    ratio: float
    min_sentences: int
    max_sentences: int


#: The article budget is a digest's, not a benchmark's: ROUGE on BBC News keeps rising with
#: length (ROUGE-2 66.6 at 0.3, 72.3 at 0.4, 74.5 at 0.5) because its references are long, but
#: a reader wants a paragraph. 25% and at most 8 sentences (about 97 words on BBC articles)
#: still scores 62.3 ROUGE-2 against LEAD-3's 36.0 (docs/quality.md).
BUDGETS: dict[str, Budget] = {
    "section": Budget(ratio=0.3, min_sentences=1, max_sentences=3),
    "article": Budget(ratio=0.25, min_sentences=3, max_sentences=8),
    "tldr": Budget(ratio=0.0, min_sentences=1, max_sentences=1),
}


@dataclass(frozen=True)
class Weights:
    """The scoring knobs, few on purpose.

    position: how much the lead-first prior counts against centrality (0 = centrality only).
    redundancy: the MMR trade-off; a candidate's score loses this share of its highest cosine
    similarity to a sentence already chosen, so a summary does not say one thing twice.
    damping: the random-walk damping of the LexRank-style centrality (PageRank's usual 0.85).
    """

    position: float = 0.1
    redundancy: float = 0.2
    damping: float = 0.85


#: Measured on BBC News (docs/quality.md): for the article summary, ROUGE-2 against the
#: references is flat for position 0-0.1 and redundancy 0-0.2 and falls beyond, so both stay
#: small (they guard against repeats and off-topic openings the references do not punish).
#: For the TL;DR, a strong lead prior brings the sentence much closer to the headline (ROUGE-1
#: against the title 14.5 at 0.1, 19.2 at 0.5) while a lead that shares no words with the rest
#: can still lose. Sections sit between: a section's first sentence usually states its topic
#: (not measured; there are no section-level references).
WEIGHTS: dict[str, Weights] = {
    "section": Weights(position=0.3),
    "article": Weights(position=0.1),
    "tldr": Weights(position=0.5),
}

#: Cosine similarity above which a sentence counts as a repeat of one already chosen.
NEAR_DUPLICATE = 0.9


def _terms(sentence: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(sentence))
    # A crude plural fold ("profits" ~ "profit") helps two sentences on one topic meet.
    return [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in words
        if w not in _STOP_WORDS and not w.isdigit()
    ]


class _Vectors:
    """Sentence term-frequency vectors, L2-normalised, as flat sparse arrays (row, term, weight)."""

    def __init__(self, sentences: Sequence[str]) -> None:
        vocabulary: dict[str, int] = {}
        bags: list[dict[int, int]] = []
        for sentence in sentences:
            bag: dict[int, int] = {}
            for term in _terms(sentence):
                index = vocabulary.setdefault(term, len(vocabulary))
                bag[index] = bag.get(index, 0) + 1
            bags.append(bag)
        # No IDF on purpose: within one text the words that recur across sentences are its
        # topic, and a sentence-level IDF would discount exactly those (it cost 0.02 ROUGE-2 on
        # the BBC dev split); the stop-word list does the job IDF does across a corpus.
        rows, terms, weights = [], [], []
        for row, bag in enumerate(bags):
            for index, count in bag.items():
                rows.append(row)
                terms.append(index)
                # Sublinear, so one word repeated in a sentence does not make it the centre.
                weights.append(1.0 + math.log(count))
        n = len(sentences)
        self.n = n
        self.size = len(vocabulary)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.terms = np.asarray(terms, dtype=np.int64)
        weight = np.asarray(weights, dtype=np.float64)
        norms = np.sqrt(np.bincount(self.rows, weights=weight * weight, minlength=n))
        self.empty = norms == 0
        self.weights = weight / norms[self.rows] if len(weight) else weight
        # The same vectors as dicts, for the few pairwise cosines the MMR step needs.
        self.dicts: list[dict[int, float]] = [{} for _ in range(n)]
        for i, t, value in zip(rows, terms, self.weights.tolist(), strict=True):
            self.dicts[i][t] = value

    def times(self, u: np.ndarray) -> np.ndarray:
        """(V Vᵀ − I) u without building the n×n similarity matrix: linear in the text's size."""
        if not len(self.weights):
            return np.zeros(self.n)
        spread = np.bincount(self.terms, weights=self.weights * u[self.rows], minlength=self.size)
        back = np.bincount(self.rows, weights=self.weights * spread[self.terms], minlength=self.n)
        return back - np.where(self.empty, 0.0, u)

    def cosine(self, i: int, j: int) -> float:
        a, b = self.dicts[i], self.dicts[j]
        if len(a) > len(b):
            a, b = b, a
        return sum(w * b.get(t, 0.0) for t, w in a.items())


def centrality(vectors: _Vectors, damping: float) -> np.ndarray:
    """LexRank with continuous edge weights: the stationary walk over cosine similarities."""
    n = vectors.n
    degree = vectors.times(np.ones(n))
    # A sentence like nothing else (no shared words) sends its walk anywhere, as PageRank's
    # dangling nodes do.
    dangling = degree <= 1e-12
    safe = np.where(dangling, 1.0, degree)
    rank = np.full(n, 1.0 / n)
    for _ in range(50):
        spread = vectors.times(np.where(dangling, 0.0, rank / safe))
        updated = (1 - damping) / n + damping * (spread + rank[dangling].sum() / n)
        if np.abs(updated - rank).sum() < 1e-9:
            rank = updated
            break
        rank = updated
    return np.asarray(rank)


def score_sentences(vectors: _Vectors, weights: Weights) -> np.ndarray:
    """Each sentence's importance in [0, 1]: centrality blended with a lead-first prior."""
    central = centrality(vectors, weights.damping)
    top = central.max() if len(central) else 0.0
    central = central / top if top > 0 else central
    # 1/sqrt(position) falls fast after the lead and then flattens, as the BBC data do.
    prior = 1.0 / np.sqrt(np.arange(1, vectors.n + 1))
    return np.asarray((1 - weights.position) * central + weights.position * prior)


def select_sentences(sentences: Sequence[str], budget: Budget, weights: Weights) -> list[int]:
    """Indices (in document order) of the sentences to keep under `budget`."""
    n = len(sentences)
    if n <= budget.min_sentences:
        return list(range(n))
    lengths = [len(s.split()) for s in sentences]
    target = budget.ratio * sum(lengths)
    vectors = _Vectors(sentences)
    scores = score_sentences(vectors, weights)
    # Only the best few candidates compete in the MMR loop, so a text of thousands of
    # sentences costs max_sentences × pool cosines, not n².
    pool = sorted(range(n), key=lambda i: (-scores[i], i))[: 4 * budget.max_sentences]
    chosen: list[int] = []
    words = 0
    closest = [0.0] * n
    while pool and len(chosen) < budget.max_sentences:
        best = max(pool, key=lambda i: (scores[i] - weights.redundancy * closest[i], -i))
        if len(chosen) >= budget.min_sentences and abs(words + lengths[best] - target) >= abs(
            words - target
        ):
            break
        chosen.append(best)
        words += lengths[best]
        pool.remove(best)
        for i in pool:
            closest[i] = max(closest[i], vectors.cosine(i, best))
        # A near-copy of a chosen sentence (a pull quote, a repeated standfirst) never earns its
        # place, however central it looks.
        pool = [i for i in pool if closest[i] < NEAR_DUPLICATE]
    return sorted(chosen)


class ExtractiveSummariser:
    """Summaries made of the text's own sentences; no model, no download, deterministic."""

    name = "extractive"
    model: str | None = None
    backend: str | None = None

    def __init__(
        self,
        weights: Mapping[str, Weights] | None = None,
        budgets: Mapping[str, Budget] | None = None,
    ) -> None:
        self.weights = dict(WEIGHTS if weights is None else weights)
        self.budgets = dict(BUDGETS if budgets is None else budgets)

    def prepare(self) -> None:
        """Nothing to load; warm the sentence splitter so the first text is not the slow one."""
        split_sentences("Ready.")

    def summarise_one(self, text: str, *, kind: Kind) -> str:
        sentences = split_sentences(text)
        if not sentences:
            return ""
        budget = self.budgets[kind]
        keep = select_sentences(sentences, budget, self.weights[kind])
        if kind != "tldr" and len(keep) == len(sentences):
            # No longer than its own summary would be: quote it rather than re-summarise it.
            return text
        # join_sentences ends an unpunctuated lead (a headline line) so it reads as a sentence.
        return join_sentences([sentences[i] for i in keep])

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: Kind,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        summaries = []
        for text in texts:
            summaries.append(self.summarise_one(text, kind=kind))
            if progress is not None:
                progress(1)
        return summaries
