"""Summarising: documents → article summaries, from the cache where it holds them and from an
executor (this process, or Ray workers) for the rest, keyed exactly alike on both."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.engines.base import Kind
from digest.executing import Executor, Identity, plan_batches
from digest.model import ArticleSummary, Document
from digest.reading import Progress
from digest.run_plan import RunPlan
from digest.summary_tree import summarise_documents

if TYPE_CHECKING:
    from digest.cache import SummaryCache
    from digest.guard import Guard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summarised:
    """What summarising a batch of documents gave, and which engine gave it, where."""

    articles: tuple[ArticleSummary, ...]
    engine: str
    model: str | None
    backend: str | None
    notices: tuple[str, ...]
    executor: str = "local"
    #: Whether the faithfulness guard checked the summaries (not for extractive ones).
    guarded: bool = False
    #: part ("summary", "tldr", "section") → (model sentences checked, found unsupported)
    guard_counts: dict[str, tuple[int, int]] = field(default_factory=dict)


class Executed:
    """A Summariser over a started executor: each call's distinct texts go out in the batches
    plan_batches makes (the same on every executor); with a cache, cached texts are answered
    from it and each batch's summaries are stored the moment it comes back, so a killed run
    loses at most the batches in flight."""

    def __init__(
        self,
        executor: Executor,
        identity: Identity,
        batch_size: int,
        cache: SummaryCache | None = None,
        fingerprint: str = "",
    ) -> None:
        self.executor = executor
        self.batch_size = batch_size
        self.cache = cache
        self.fingerprint = fingerprint
        self.name, self.model, self.backend = identity.engine, identity.model, identity.backend
        self.hits = 0
        self.misses = 0

    def prepare(self) -> None:
        pass

    def summarise(
        self, texts: Sequence[str], *, kind: Kind, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        from digest.cache import Cached
        from digest.cache_keys import summary_key

        known: dict[str, str] = {}
        keys: dict[str, str] = {}
        if self.cache is not None:
            keys = {t: summary_key(self.fingerprint, kind, t) for t in texts}
            found = self.cache.get_many(list(keys.values()))
            known = {t: found[k].summary for t, k in keys.items() if k in found}
            self.hits += sum(1 for t in texts if t in known)
        # One engine call per distinct text: a text that occurs twice is summarised once.
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        self.misses += len(todo)
        if progress and len(texts) > len(todo):
            progress(len(texts) - len(todo))  # the cached texts, and repeats of uncached ones
        batches = [[todo[i] for i in batch] for batch in plan_batches(todo, self.batch_size)]
        done = self.executor.run(kind, batches, progress) if batches else iter(())
        for index, summaries in done:
            made = dict(zip(batches[index], summaries, strict=True))
            known.update(made)
            if self.cache is not None:
                stored = [
                    (keys[t], Cached(s, self.name, self.model, self.backend))
                    for t, s in made.items()
                ]
                self.cache.put_many(stored)
        return [known[t] for t in texts]


def summarise(
    documents: Sequence[Document],
    plan: RunPlan,
    executor: Executor,
    *,
    progress: Progress | None = None,
) -> Summarised:
    """Every document's entry: from the cache alone when it holds every summary (no engine is
    started), otherwise through `executor`, with the cache in front of it."""
    if plan.cache is None:
        return _executed(documents, plan, executor, None, progress)
    from digest.cache import SummaryCache

    with SummaryCache(plan.cache) as cache:
        result = _from_cache(documents, plan, cache, executor.name)
        if result is None:
            result = _executed(documents, plan, executor, cache, progress)
        if plan.cache_max_age is not None:
            # After summarising, so what this run used counts as used today.
            from digest.cache_maintenance import prune_if_due

            prune_if_due(cache, plan.cache_max_age)
        return result


def _from_cache(
    documents: Sequence[Document], plan: RunPlan, cache: SummaryCache, executor: str
) -> Summarised | None:
    """The whole run from the cache, under each backend it may be stored under; None at the
    first text it lacks."""
    from digest.cache import CacheMiss, CacheOnlySummariser

    first = plan.first
    for backend in plan.lookup:
        cached = CacheOnlySummariser(
            cache,
            plan.fingerprint(first, backend),
            first,
            # The run's own settings name the digest's engine, not whichever cached row
            # comes first.
            model=plan.model,
            backend=None if first == "extractive" else backend,
        )
        try:
            guard = _guard(plan, cached.name)
            articles = summarise_documents(
                documents, cached, quote_under_words=plan.quote_under_words, guard=guard
            )
        except CacheMiss as miss:
            log.debug("summary cache (%s): %s", backend or first, miss)
            continue
        log.info("all %d summaries came from the cache; no engine was loaded", cached.hits)
        if guard is not None:
            guard.log_counts()
        return Summarised(
            tuple(articles),
            cached.name,
            cached.model,
            cached.backend,
            (),
            executor,
            guarded=guard is not None,
            guard_counts=_counts(guard),
        )
    return None


def _executed(
    documents: Sequence[Document],
    plan: RunPlan,
    executor: Executor,
    cache: SummaryCache | None,
    progress: Progress | None,
) -> Summarised:
    identity = executor.start()
    # Logged here, on the driver, whichever executor built the engine: the operator's stderr
    # gets the why and the fix; the digest only a neutral line (digest.pipeline).
    for notice in identity.notices:
        log.warning("%s", notice)
    fingerprint = ""
    if cache is not None:
        # Keyed by the engine that actually runs: under auto, a model that fails to convert
        # runs on transformers, and its summaries must not pass for CTranslate2's.
        fingerprint = plan.fingerprint(*plan.used(identity.engine, identity.backend))
    summariser = Executed(executor, identity, plan.batch_size, cache, fingerprint)
    # The cache's notion of the engine: extractive when planned so or when auto fell back.
    guard = _guard(plan, plan.used(identity.engine, identity.backend)[0])
    articles = summarise_documents(
        documents,
        summariser,
        quote_under_words=plan.quote_under_words,
        progress=progress,
        guard=guard,
    )
    if guard is not None:
        guard.log_counts()
    if cache is not None:
        log.info(
            "summaries: %d from the cache, %d newly written", summariser.hits, summariser.misses
        )
    return Summarised(
        tuple(articles),
        identity.engine,
        identity.model,
        identity.backend,
        identity.notices,
        executor.name,
        guarded=guard is not None,
        guard_counts=_counts(guard),
    )


def _counts(guard: Guard | None) -> dict[str, tuple[int, int]]:
    if guard is None:
        return {}
    return {part: guard.counts.unsupported(part) for part in guard.counts.parts}


def _guard(plan: RunPlan, engine: str) -> Guard | None:
    """The run's guard, over what the engine wrote; none for extractive summaries (the
    source's own sentences: supported by construction) or with --guard off. The cache holds
    what the engine wrote, never the guard's output, so the guard's setting (and a better
    checker) apply to cached summaries exactly as to new ones."""
    if plan.guard == "off" or engine == "extractive":
        return None
    from digest.guard import Guard

    return Guard(plan.guard, plan.guard_model)
