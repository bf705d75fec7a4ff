"""The built-in extractive engine: central, early, non-redundant sentences quoted as written."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from digest.budgets import BUDGETS, Budget
from digest.engines.base import Kind
from digest.text import dangling_lead_in, join_sentences, split_sentences

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
    thank thanks welcome hello hi yes yeah okay ok good morning evening afternoon tonight
    today well right really know think going get got like lot thing things
    """.split()
)


@dataclass(frozen=True)
class Weights:
    """The scoring knobs, few on purpose (docs/quality.md shows what each was measured at).

    decay: the lead prior, exp(-decay × position): news and blog posts put their point first.
    redundancy: a candidate loses this share of its score per unit of its highest cosine
    similarity to a sentence already chosen, so a summary does not say one thing twice.
    damping: the random-walk damping of the LexRank-style centrality (PageRank's usual 0.85).
    on_topic: the share of the top centrality a sentence needs to count as a position for
    the lead prior.
    full_words: sentences shorter than this (a speaker's label aside) lose score in
    proportion ("Yes.", a dateline, "Thank you for having me.").
    question_penalty: a question (a Q&A's "Q:", a rhetorical opener) keeps this share: a
    summary states, it does not ask.
    furniture_penalty: a sentence about the web page rather than the story ("Sign in to
    save articles", "Share this on Twitter", "All rights reserved") keeps this share.
    long_words / long_penalty: a sentence over `long_words` words keeps this share (the TL;DR).
    """

    decay: float = 0.3
    redundancy: float = 0.3
    damping: float = 0.85
    on_topic: float = 0.15
    full_words: int = 16
    question_penalty: float = 0.25
    furniture_penalty: float = 0.1
    long_words: int = 10_000
    long_penalty: float = 1.0


#: Tuned on the dev halves of news-writers and 18F (docs/quality.md). The TL;DR is chosen
#: from the article summary with a steeper lead prior: the summary's first sentence unless it
#: is short, a question, off-topic or over 40 words.
WEIGHTS: dict[str, Weights] = {
    "section": Weights(),
    "article": Weights(),
    "tldr": Weights(decay=1.5, long_words=40, long_penalty=0.3),
}

#: Cosine similarity above which a sentence counts as a repeat of one already chosen.
NEAR_DUPLICATE = 0.9

# Page furniture a copied web page brings along: a sentence that asks the reader to sign in,
# share, subscribe or accept cookies is about the page, never the story.
_FURNITURE = re.compile(
    r"\b(?:sign (?:in|up)|log ?in|subscribe|newsletter|cookies?|click here|share (?:this|on)|"
    r"follow us|all rights reserved|copyright|advertisement|read more|skip to)\b",
    re.IGNORECASE,
)
# A speaker's label at the start of a line of a transcript or interview ("Q:", "ANDERSON:").
_SPEAKER = re.compile(r"^(?:Q|A|[A-Z][A-Z .'-]{1,30}):\s")


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


def score_sentences(sentences: Sequence[str], vectors: _Vectors, weights: Weights) -> np.ndarray:
    """Each sentence's importance: lead prior × centrality × plain-sentence cues.

    Multiplying (rather than adding) lets a lead win only where it is also on topic: an
    opening that shares no words with the rest (a cookie notice, a dateline, "Good morning")
    scores near nothing however early it comes.
    """
    n = vectors.n
    central = centrality(vectors, weights.damping)
    # Every sentence gets (1 - damping)/n from the random jump alone; only what is above it
    # says the sentence is like the others.
    central = np.maximum(central - (1 - weights.damping) / n, 0.0)
    top = central.max() if n else 0.0
    central = central / top if top > 0 else np.ones(n)
    # The lead prior counts only sentences on the text's topic: a page that opens with a
    # menu, a cookie notice or a greeting still has its first real sentence as its lead.
    on_topic = central >= weights.on_topic
    position = np.concatenate(([0], np.cumsum(on_topic)[:-1]))
    prior = np.exp(-weights.decay * position)
    cues = np.ones(n)
    for i, sentence in enumerate(sentences):
        words = len(_SPEAKER.sub("", sentence).split())
        # Short sentences say little ("Thank you.", "Menu.", a dateline): their weight ramps
        # up to full at `full_words`.
        cues[i] *= min(1.0, words / weights.full_words)
        if words > weights.long_words:
            cues[i] *= weights.long_penalty
        if sentence.rstrip("\"'”’)]").endswith("?"):
            cues[i] *= weights.question_penalty
        if _FURNITURE.search(sentence):
            cues[i] *= weights.furniture_penalty
    return np.asarray(prior * central * cues)


def select_sentences(sentences: Sequence[str], budget: Budget, weights: Weights) -> list[int]:
    """Indices (in document order) of the sentences to keep under `budget`."""
    n = len(sentences)
    lengths = [len(s.split()) for s in sentences]
    target = budget.words(sum(lengths))
    if n <= 1 or (n <= budget.max_sentences and sum(lengths) <= target):
        return list(range(n))
    # A transcript's speaker labels ("HOST:") recur in every line: they are not its topic.
    vectors = _Vectors([_SPEAKER.sub("", s) for s in sentences])
    scores = score_sentences(sentences, vectors, weights)
    # Only the best few candidates compete in the MMR loop, so a text of thousands of
    # sentences costs max_sentences × pool cosines, not n².
    # A lead-in ("Three important reasons:") says nothing without the list after it, which
    # the summary would not carry: it is not a candidate, unless there is nothing else.
    candidates = [i for i in range(n) if not dangling_lead_in(sentences[i])] or list(range(n))
    pool = sorted(candidates, key=lambda i: (-scores[i], i))[: 4 * budget.max_sentences + 8]
    chosen: list[int] = []
    words = 0
    closest = [0.0] * n
    while pool and len(chosen) < budget.max_sentences:
        best = max(pool, key=lambda i: (scores[i] * (1 - weights.redundancy * closest[i]), -i))
        if chosen and abs(words + lengths[best] - target) >= abs(words - target):
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
