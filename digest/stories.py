"""Group the documents of one run that report the same event into stories."""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from digest.model import Document


@dataclass(frozen=True)
class StoryParams:
    """The grouping's knobs, chosen on the dev half of ../shared/data/story-clusters, also run
    with 300 and 1,000 unrelated BBC articles added (a larger run must not merge more); the
    date window excepted (docs/quality.md, "Stories", says how each was chosen)."""

    #: A document is compared by its title and its first `lead_words` words of prose.
    lead_words: int = 600
    #: Weights of the cosine similarities: lead text, named entities, title. Entities only
    #: gate a pair (`shared_entities`): as a weight they raised the similarity of reports on
    #: one topic, and more so the larger the run.
    text_weight: float = 0.85
    entity_weight: float = 0.0
    title_weight: float = 0.15
    #: Two groups merge when the mean similarity of all their cross pairs reaches this...
    threshold: float = 0.16
    #: ...and at least one cross pair reaches this: a document joins a story through one
    #: report it clearly shares, not through weak likeness to all of them.
    link_threshold: float = 0.21
    #: Documents with known dates further apart than this are never in one story: reports
    #: of one event come out within a day or two; later ones are follow-ups (new events).
    max_days: int = 2
    #: Candidates: documents sharing at least `shared_terms` of each one's `top_terms`
    #: heaviest TF-IDF terms. Only candidates start a merge (no all-pairs matrix); another
    #: pair is scored only when the mean across two groups needs it.
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
    return [name for found in _ENTITY.findall(text) if (name := _name(found))]


@functools.lru_cache(maxsize=65_536)
def _name(found: str) -> str:
    """One capitalised run as an entity ("kessel_bridge"), or "" (names repeat: cached)."""
    words = found.replace("-", " ").split()
    while words and words[0].lower() in ENGLISH_STOP_WORDS:
        words.pop(0)
    if not words or len("".join(words)) <= 2:
        return ""
    return "_".join(w.lower().strip(".") for w in words)


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


@dataclass(frozen=True)
class _Views:
    """The run's documents as TF-IDF rows: `text` (the lead, L2-normalised) for blocking,
    `scored` whose row products are the pair scores (the lead, title and names rows, each
    L2-normalised and scaled by the square root of its weight, side by side), and each
    document's specific names as 1s."""

    text: sparse.csr_matrix
    scored: sparse.csr_matrix
    specific: sparse.csr_matrix


def _views(documents: Sequence[Document], params: StoryParams) -> _Views:
    leads = [f"{d.title}\n{_lead(d, params.lead_words)}" for d in documents]
    text, _ = _tfidf(leads, stop_words="english", max_df=0.5 if len(documents) > 20 else 1.0)
    named, names = _tfidf(
        [" ".join(entities(lead)) for lead in leads],
        token_pattern=r"\S+",
        lowercase=False,
    )
    titles, _ = _tfidf([d.title for d in documents], stop_words="english")
    weighted = [(params.text_weight, text), (params.title_weight, titles)]
    weighted.append((params.entity_weight, named))
    blocks = [np.sqrt(w) * normalize(m) for w, m in weighted if w]
    scored = sparse.hstack(blocks, format="csr") if blocks else sparse.csr_matrix(text.shape)
    return _Views(
        text=normalize(text),
        scored=sparse.csr_matrix(scored, dtype=np.float32),
        specific=_specific(named, names, params),
    )


def _scores(views: _Views, left: np.ndarray, right: np.ndarray, params: StoryParams) -> np.ndarray:
    """Similarity of each pair (left[n], right[n]): the weighted sum of its lead, title and
    names cosines; 0 where they share too few specific names."""
    score = _pair_cosines(views.scored, left, right)
    if params.shared_entities:
        shared = _pair_cosines(views.specific, left, right)
        score[shared < params.shared_entities] = 0.0
    return score


def _candidates(views: _Views, days: Sequence[int | None], params: StoryParams) -> np.ndarray:
    """Pairs (i < j, one per row) sharing enough of their heaviest terms, dated close enough."""
    keys = _top_terms(views.text, params.top_terms)
    shared = sparse.triu(keys @ keys.T, k=1).tocoo()
    chosen = shared.data >= params.shared_terms
    pairs = np.stack([shared.row[chosen], shared.col[chosen]], axis=1)
    near = [not _far_apart([days[i], days[j]], params.max_days) for i, j in pairs.tolist()]
    return pairs[np.array(near, dtype=bool)] if len(pairs) else pairs


def _similar(
    views: _Views, days: Sequence[int | None], params: StoryParams
) -> dict[tuple[int, int], float]:
    pairs = _candidates(views, days, params)
    score = _scores(views, pairs[:, 0], pairs[:, 1], params)
    listed = zip(pairs.tolist(), score.tolist(), strict=True)
    return {(i, j): float(s) for (i, j), s in listed if s > 0}


def pair_similarities(
    documents: Sequence[Document], params: StoryParams = StoryParams()
) -> dict[tuple[int, int], float]:
    """Similarity of each candidate pair (i < j) that may share a story; other pairs are only
    scored when two groups' mean similarity needs them."""
    if len(documents) < 2:
        return {}
    return _similar(_views(documents, params), [_day(d.date) for d in documents], params)


def group_stories(documents: Sequence[Document], params: StoryParams = StoryParams()) -> list[int]:
    """Each document's story number: 0 for the first document's story, then numbered in order
    of each story's first document. Deterministic for the same documents in the same order."""
    if len(documents) < 2:
        return [0] * len(documents)
    days = [_day(d.date) for d in documents]
    views = _views(documents, params)

    def others(missing: list[tuple[int, int]]) -> list[float]:
        left, right = np.array(missing).T
        return [float(s) for s in _scores(views, left, right, params)]

    return link_groups(_similar(views, days, params), days, params, others)


def link_groups(
    similar: Mapping[tuple[int, int], float],
    days: Sequence[int | None],
    params: StoryParams,
    others: Callable[[list[tuple[int, int]]], list[float]] | None = None,
) -> list[int]:
    """Group numbers of `len(days)` items from their pair similarities (i < j), numbered as
    `group_stories` numbers them. Pairs not in `similar` (not candidates) are scored by
    `others` when a mean needs them, once each; without it they count 0.

    Pairs are taken from the most similar down to `params.link_threshold`; the two groups a
    pair joins merge only when the mean similarity over all pairs across them reaches
    `params.threshold` and no two of their items are more than `max_days` apart. Average link
    keeps one strong pair from chaining two stories together; the link threshold keeps a
    document that is only loosely like every report of a story (same topic, another event)
    out of it."""
    group = list(range(len(days)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(days))}
    least = max(params.threshold, params.link_threshold)
    known = dict(similar)
    for (i, j), s in sorted(similar.items(), key=lambda item: (-item[1], item[0])):
        if s < least:
            break
        a, b = group[i], group[j]
        if a == b:
            continue
        if _far_apart([days[k] for k in members[a] + members[b]], params.max_days):
            continue
        cross = [(min(x, y), max(x, y)) for x in members[a] for y in members[b]]
        need = params.threshold * len(cross)
        total = sum(known.get(pair, 0.0) for pair in cross)
        missing = [pair for pair in cross if pair not in known]
        if total < need and missing and others:
            # Only scored when the pairs known so far fall short (scores are never negative).
            scored = others(missing)
            known.update(zip(missing, scored, strict=True))
            total += sum(scored)
        if total < need:
            continue
        keep, drop = min(a, b), max(a, b)
        for k in members[drop]:
            group[k] = keep
        members[keep] = sorted(members[keep] + members.pop(drop))
    numbers: dict[int, int] = {}
    return [numbers.setdefault(g, len(numbers)) for g in group]
