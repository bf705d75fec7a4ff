"""The run, top to bottom: read the sources, plan, summarise on an executor, assemble a Digest.

Each stage is its own module, in the order data flows (docs/architecture.md):
digest.reading → digest.run_plan → digest.summarising (digest.executing or digest.cluster
running the engine; digest.summary_tree shaping each entry) → the Digest below.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import UsageError
from digest.executing import EXTRACTIVE_NOTE, Executor, LocalExecutor
from digest.model import Digest, Document
from digest.options import Options
from digest.reading import Progress, Selection, as_sources, read_sources
from digest.run_plan import RunPlan, plan_run
from digest.summarising import Summarised, summarise
from digest.telling import tell_stories

if TYPE_CHECKING:
    from digest.cluster import RaySession
    from digest.sources.memory import Memory

__all__ = ["Options", "Progress", "Summarised", "make_digest", "summarise_read_documents"]


def make_digest(
    sources: Sequence[Path | str],
    options: Options | None = None,
    *,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | Selection | None = None,
    memory: Memory | None = None,
) -> Digest:
    """The library's main entry point: read `sources` (folders, files, feed and page URLs,
    OPML lists) and summarise them.

    `select(path)` picks which of the files found are included, `memory` which feed entries
    (see digest.state: RunState.selector and RunState.remote_memory).
    With `options.executor == "ray"` the files are read and the summaries made on a Ray
    cluster; the digest is the same as a local run's, byte for byte.
    """
    options = options or Options()
    paths = as_sources(sources)
    if not paths:
        raise UsageError("no sources given")
    plan = plan_run(options)  # every setting checked and decided before anything is read
    with ExitStack() as stack:
        session = _ray_session(plan, stack)
        documents, skipped, unreadable = read_sources(
            paths,
            max_bytes=options.max_bytes,
            progress=progress,
            select=select,
            web=options.web,
            memory=memory,
            session=session,
        )
        date = options.date or _dt.date.today()
        notices = tuple(u.reason for u in unreadable)
        if not documents:
            # Nothing to summarise: the model is not loaded at all.
            return Digest(
                date=date,
                guard=plan.guard,
                engine=options.engine,
                model=None,
                articles=(),
                skipped=tuple(skipped),
                notices=notices,
                unreadable=tuple(unreadable),
                order=options.order,
                max_words=options.max_words,
            )
        run = _summarise(documents, plan, progress, session, stack)
    stories = tell_stories(
        documents,
        run.articles,
        merge=options.merge,
        order=options.order,
        weights=options.weights,
        max_words=options.max_words,
    )
    # The engine's notices (auto fell back to extractive: why, and how to fix it) are for the
    # operator, who saw them on stderr; the readers get one neutral line.
    fallback = (EXTRACTIVE_NOTE,) if run.notices else ()
    return Digest(
        date=date,
        engine=run.engine,
        model=run.model,
        articles=run.articles,
        skipped=tuple(skipped),
        notices=notices + fallback,
        backend=run.backend,
        unreadable=tuple(unreadable),
        executor=run.executor,
        diagnostics=run.notices,
        stories=stories,
        order=options.order,
        max_words=options.max_words,
        guard=plan.guard,
        guarded=run.guarded,
    )


def summarise_read_documents(
    documents: Sequence[Document], options: Options, *, progress: Progress | None = None
) -> Summarised:
    """Summarise documents already read, as `digest make` does: the plan, the engine with its
    fallback, the quote-short-texts rule, the cache and the executor (`digest eval`)."""
    plan = plan_run(options)
    with ExitStack() as stack:
        return _summarise(documents, plan, progress, _ray_session(plan, stack), stack)


def _summarise(
    documents: Sequence[Document],
    plan: RunPlan,
    progress: Progress | None,
    session: RaySession | None,
    stack: ExitStack,
) -> Summarised:
    # When every text is short enough to be quoted, no model is worth loading for TL;DRs.
    plan = plan.for_documents(documents)
    executor = _executor(plan, session)
    stack.callback(executor.close)
    return summarise(documents, plan, executor, progress=progress)


def _ray_session(plan: RunPlan, stack: ExitStack) -> RaySession | None:
    if plan.executor != "ray":
        return None
    from digest.cluster import RaySession, RaySettings

    return stack.enter_context(RaySession(plan.ray or RaySettings()))


def _executor(plan: RunPlan, session: RaySession | None) -> Executor:
    if session is None:
        return LocalExecutor(plan.spec)
    from digest.cluster import RayExecutor

    return RayExecutor(session, plan.spec)
