"""Group the documents of one run that report the same event into stories."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from digest.model import Document


@dataclass(frozen=True)
class StoryParams:
    """The grouping's knobs (tuned on the dev half of ../shared/data/story-clusters)."""

    #: A document is compared by its title and its first `lead_words` words of prose.
    lead_words: int = 600
    #: Weights of the three cosine similarities: lead text, named entities, title.
    text_weight: float = 0.5
    entity_weight: float = 0.35
    title_weight: float = 0.15
    #: Two groups merge when the mean similarity of all their cross pairs reaches this.
    #: Chosen on dev precision-first: the highest value that keeps the most recall while
    #: precision stays at 0.95 or more.
    threshold: float = 0.16
    #: Documents with known dates further apart than this are never in one story.
    max_days: int = 5
    #: Candidates: documents sharing at least `shared_terms` of each one's `top_terms`
    #: heaviest TF-IDF terms. Only candidate pairs are scored (no all-pairs matrix).
    top_terms: int = 25
    shared_terms: int = 2
    #: A pair counts only when its documents share at least `shared_entities` specific
    #: names: one of two words or more ("Kessel Bridge", "Ilse Brandt"), or one found in at
    #: most `rare_share` of the run's documents (at least `rare_min`). Shared common names
    #: alone ("Putin", "Ukraine") make a topic, not an event.
    shared_entities: int = 1
    rare_share: float = 0.05
    rare_min: int = 3


_WORD = r"(?:[A-Z][a-z]+(?:['’][a-z]+)?|[A-Z]{2,}|[A-Z]\.)"
_ENTITY = re.compile(rf"{_WORD}(?:[ -]{_WORD})*")


def entities(text: str) -> list[str]:
    """Capitalised word sequences ("White House", "ILO"), a cheap stand-in for named entities;
    leading function words ("The", "In") are dropped, and what is left of one letter is not
    kept."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().replace("-", " ").split()
        while words and words[0].lower() in ENGLISH_STOP_WORDS:
            words.pop(0)
        if words and len("".join(words)) > 2:
            found.append("_".join(w.lower().strip(".") for w in words))
    return found


def _day(date: str | None) -> int | None:
    try:
        return _dt.date.fromisoformat((date or "")[:10]).toordinal()
    except ValueError:
        return None


def _far_apart(days: Sequence[int | None], max_days: int) -> bool:
    """Whether the known days among `days` span more than `max_days`."""
    known = [day for day in days if day is not None]
    return bool(known) and max(known) - min(known) > max_days


def _lead(document: Document, words: int) -> str:
    return " ".join(document.text.split()[:words])


def _tfidf(texts: list[str], **options: object) -> tuple[sparse.csr_matrix, list[str]]:
    """The TF-IDF matrix of `texts` and the name of each of its columns."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **options)
    try:
        matrix = sparse.csr_matrix(vectorizer.fit_transform(texts))
    except ValueError:  # no term at all (empty documents)
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32), [""]
    return matrix, vectorizer.get_feature_names_out().tolist()


def _top_terms(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Each row's `k` heaviest terms, as 1s (the blocking keys)."""
    rows, cols = [], []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        data = matrix.data[start:end]
        keep = np.argsort(-data, kind="stable")[:k]
        rows.extend([i] * len(keep))
        cols.extend(matrix.indices[start:end][keep].tolist())
    ones = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((ones, (rows, cols)), shape=matrix.shape)


def _pair_cosines(matrix: sparse.csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosines of the (L2-normalised) rows left[n] and right[n], in chunks."""
    out = np.zeros(len(left), dtype=np.float32)
    for start in range(0, len(left), 50_000):
        a = matrix[left[start : start + 50_000]]
        b = matrix[right[start : start + 50_000]]
        out[start : start + 50_000] = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return out


def _specific(named: sparse.csr_matrix, names: list[str], params: StoryParams) -> sparse.csr_matrix:
    """The entity matrix as 1s, only in the columns of specific entities."""
    ones = named.copy()
    ones.data[:] = 1.0
    counts = np.asarray(ones.sum(axis=0)).ravel()
    rare = counts <= max(params.rare_min, params.rare_share * named.shape[0])
    multi = np.array(["_" in name for name in names], dtype=bool)
    return sparse.csr_matrix(ones.multiply((rare | multi)[None, :].astype(np.float32)))


def pair_similarities(
    documents: Sequence[Document], params: StoryParams = StoryParams()
) -> dict[tuple[int, int], float]:
    """Similarity of each candidate pair (i < j) that may share a story; other pairs count 0."""
    if len(documents) < 2:
        return {}
    leads = [f"{d.title}\n{_lead(d, params.lead_words)}" for d in documents]
    text, _ = _tfidf(leads, stop_words="english", max_df=0.5 if len(documents) > 20 else 1.0)
    named, names = _tfidf(
        [" ".join(entities(lead)) for lead in leads],
        token_pattern=r"\S+",
        lowercase=False,
    )
    titles, _ = _tfidf([d.title for d in documents], stop_words="english")
    keys = _top_terms(text, params.top_terms)
    shared = sparse.triu(keys @ keys.T, k=1).tocoo()
    chosen = shared.data >= params.shared_terms
    left, right = shared.row[chosen], shared.col[chosen]
    days = [_day(d.date) for d in documents]
    apart = np.array(
        [
            _far_apart([days[i], days[j]], params.max_days)
            for i, j in zip(left.tolist(), right.tolist(), strict=True)
        ],
        dtype=bool,
    )
    left, right = left[~apart], right[~apart]
    if params.shared_entities:
        specific = _specific(named, names, params)
        keep = _pair_cosines(specific, left, right) >= params.shared_entities
        left, right = left[keep], right[keep]
    score = (
        params.text_weight * _pair_cosines(normalize(text), left, right)
        + params.entity_weight * _pair_cosines(normalize(named), left, right)
        + params.title_weight * _pair_cosines(normalize(titles), left, right)
    )
    return {
        (i, j): float(s)
        for i, j, s in zip(left.tolist(), right.tolist(), score.tolist(), strict=True)
        if s > 0
    }


def group_stories(documents: Sequence[Document], params: StoryParams = StoryParams()) -> list[int]:
    """Each document's story number: 0 for the first document's story, then numbered in order
    of each story's first document. Deterministic for the same documents in the same order.

    Pairs are taken from the most similar down; the two groups they join merge only when the
    mean similarity over all pairs across them (pairs never scored count 0) reaches
    `params.threshold`, and no two of their documents are more than `max_days` apart: one
    strong link cannot chain two different stories together (average link)."""
    similar = pair_similarities(documents, params)
    days = [_day(d.date) for d in documents]
    group = list(range(len(documents)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(documents))}
    for (i, j), s in sorted(similar.items(), key=lambda item: (-item[1], item[0])):
        a, b = group[i], group[j]
        if a == b or s < params.threshold:
            continue
        cross = [(min(x, y), max(x, y)) for x in members[a] for y in members[b]]
        if sum(similar.get(pair, 0.0) for pair in cross) / len(cross) < params.threshold:
            continue
        if _far_apart([days[k] for k in members[a] + members[b]], params.max_days):
            continue
        keep, drop = min(a, b), max(a, b)
        for k in members[drop]:
            group[k] = keep
        members[keep] = sorted(members[keep] + members.pop(drop))
    numbers: dict[int, int] = {}
    return [numbers.setdefault(g, len(numbers)) for g in group]
