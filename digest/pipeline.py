"""Documents → summaries → Digest: discovery, reading, engine choice and batching."""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from digest.defaults import DEFAULT_MAX_BYTES, DEFAULT_MODEL
from digest.engines import Summariser, get_engine
from digest.errors import ModelUnavailable, SkipDocument, UsageError
from digest.folding import capped, fold
from digest.model import ArticleSummary, Digest, Document, Section, SectionSummary, Skipped
from digest.sources import find_inputs, read_document
from digest.text import bound_text, join_sentences, normalise_space, strip_invisible

log = logging.getLogger(__name__)

#: Called as progress(stage, done, total); stage is "read", "sections" or "articles".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Options:
    """Everything that shapes one digest run (the CLI fills it from flags, env and config)."""

    engine: str = "auto"
    model: str | None = None
    generate: Mapping[str, Any] = field(default_factory=dict)
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    date: _dt.date | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Sections (and articles) with fewer words than this are quoted, not summarised.
    quote_under_words: int = 60
    #: The summary cache (an SQLite file); None runs without one.
    cache: Path | None = None


def display_path(path: Path) -> str:
    """Paths relative to the working folder where possible: shorter, and stable across machines."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


def read_documents(
    sources: Sequence[Path],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | None = None,
) -> tuple[list[Document], list[Skipped]]:
    """Read every supported file under `sources`; bad inputs become Skipped, never errors.

    `select`, when given, picks which of the files found are read at all (--since).
    """
    files = find_inputs(sources)
    if select is not None:
        files = [path for path in files if select(path)]
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for done, path in enumerate(files, 1):
        try:
            document = read_document(path, max_bytes=max_bytes)
            if document.words == 0:
                raise SkipDocument("headings but no prose")
            documents.append(document)
        except SkipDocument as exc:
            log.warning("skipped %s: %s", display_path(path), exc)
            skipped.append(Skipped(display_path(path), str(exc)))
        except Exception as exc:  # noqa: BLE001 - a reader bug must not cost the other files
            reason = f"could not be parsed ({type(exc).__name__}: {exc})"
            log.warning("skipped %s: %s", display_path(path), reason)
            log.debug("reader failure on %s", path, exc_info=True)
            skipped.append(Skipped(display_path(path), reason))
        if progress:
            progress("read", done, len(files))
    return documents, skipped


def model_id(options: Options) -> str:
    """The model the seq2seq engine would load: presets ("fast", "best") become hub ids, so a
    preset and its id share cache entries."""
    from digest.engines.settings import resolve_model

    return resolve_model(options.model or DEFAULT_MODEL)


def needs_model(documents: Sequence[Document], options: Options) -> bool:
    """Whether any text is long enough to be summarised rather than quoted."""
    return any(d.words >= options.quote_under_words for d in documents)


def engine_fingerprint(options: Options, engine: str) -> str:
    """The cache's name for `engine` as `options` configure it (see digest.cache).

    The seq2seq backend is part of it (int8 CTranslate2 and transformers summaries differ
    slightly), as this installation resolves it, so it is known before any model is loaded
    and a run's lookups and writes agree.
    """
    from digest.cache import engine_fingerprint as fingerprint
    from digest.engines.ctranslate2_backend import expected_backend

    if engine == "extractive":
        return fingerprint("extractive")
    backend = expected_backend(str(options.engine_options.get("backend", "auto")))
    return fingerprint(
        engine,
        model=model_id(options),
        generate=options.generate,
        options={**options.engine_options, "backend": backend},
    )


def _summarise_with_cache(
    documents: Sequence[Document], options: Options, cache_path: Path, progress: Progress | None
) -> tuple[list[ArticleSummary], Summariser, list[str]]:
    """Answer from the cache when it holds every summary; prepare an engine only otherwise."""
    from digest.cache import CacheMiss, CacheOnlySummariser, CachingSummariser, SummaryCache

    with SummaryCache(cache_path) as cache:
        # The engine `auto` tries first is seq2seq, so that is whose summaries are looked up.
        first = "seq2seq" if options.engine == "auto" else options.engine
        cached = CacheOnlySummariser(cache, engine_fingerprint(options, first), first)
        try:
            articles = summarise_documents(
                documents, cached, quote_under_words=options.quote_under_words
            )
        except CacheMiss as miss:
            log.debug("summary cache: %s; preparing the engine", miss)
        else:
            log.info("all %d summaries came from the cache; no engine was loaded", cached.hits)
            return articles, cached, []
        engine, notices = resolve_engine(options)
        used = "extractive" if notices or options.engine == "extractive" else first
        caching = CachingSummariser(engine, cache, engine_fingerprint(options, used))
        articles = summarise_documents(
            documents, caching, quote_under_words=options.quote_under_words, progress=progress
        )
        log.info("summaries: %d from the cache, %d newly written", caching.hits, caching.misses)
        return articles, engine, notices


def resolve_engine(options: Options) -> tuple[Summariser, list[str]]:
    """Load the requested engine; `auto` falls back to extractive with a visible notice."""
    model = model_id(options)
    if options.engine not in ("auto", "seq2seq"):
        engine = get_engine(options.engine)
        engine.prepare()
        return engine, []
    engine = get_engine(
        "seq2seq", model=model, generate=options.generate, **dict(options.engine_options)
    )
    try:
        engine.prepare()
    except ModelUnavailable as exc:
        if options.engine == "seq2seq":
            raise
        # Every ModelUnavailable message starts "model …", naming the model and the fix.
        notice = f"Summaries are extractive because the seq2seq {exc}."
        log.warning("%s", notice)
        fallback = get_engine("extractive")
        fallback.prepare()
        return fallback, [notice]
    return engine, []


def _counted(stage: str, total: int, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    return advance


#: Hard bounds (words, characters) on what the digest shows, whatever the engine or the input
#: gives: a digest's size depends on how many documents it holds, not on what is in them.
SUMMARY_BOUNDS = {"section": (150, 1100), "article": (300, 2200), "tldr": (60, 420)}
TITLE_BOUND = (25, 200)


def _clean(text: str, kind: str) -> str:
    """A summary as shown: one paragraph (an unpunctuated paragraph, such as a quoted lead
    line, ends with a full stop rather than running into the next), no invisible characters,
    within its bounds."""
    max_words, max_chars = SUMMARY_BOUNDS.get(kind, TITLE_BOUND)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", strip_invisible(text))]
    return bound_text(join_sentences([p for p in paragraphs if p]), max_words, max_chars)


def _title(text: str | None) -> str | None:
    return (
        None if text is None else bound_text(normalise_space(strip_invisible(text)), *TITLE_BOUND)
    )


@dataclass(frozen=True)
class _SummaryTree:
    """Turns one document's section tree into SectionSummary objects."""

    summaries: Mapping[int, str]  # id(section) → engine summary
    kept: set[int]  # id(section) of the sections in the (capped) summary tree
    quote_under_words: int

    def summarise(
        self, section: Section, *, folded: bool = False, whole: tuple[str, bool] | None = None
    ) -> SectionSummary:
        if whole is not None:
            summary, quoted = whole
        elif id(section) in self.summaries:
            summary, quoted = _clean(self.summaries[id(section)], "section"), False
        else:
            summary, quoted = _clean(section.all_text, "section"), True
        return SectionSummary(
            _title(section.kicker),
            _title(section.title),
            summary,
            section.all_words,
            quoted,
            level=section.level,
            sections=tuple(self.summarise(c) for c in section.sections if id(c) in self.kept),
            folded=folded,
        )


def summarise_documents(
    documents: Sequence[Document],
    engine: Summariser,
    *,
    quote_under_words: int = 60,
    progress: Progress | None = None,
) -> list[ArticleSummary]:
    """Summarise every section of every document, then every article, in two batched passes.

    A section is summarised over its whole subtree (its own paragraphs and every section
    under it), so a top-level bullet speaks for everything it folds; see docs/structure.md.
    """
    # Gather first, so the engine sees every section of every document in one batch and can
    # sort by length across documents; a single-section document is summarised once, as an article.
    folds = [fold(d.sections) for d in documents]
    kept: list[set[int]] = []
    section_texts: list[str] = []
    section_slots: list[int] = []
    for folded in folds:
        order = sorted(folded.shown)
        kept.append(capped(folded.sections, order))
        for top in folded.sections:
            for section in top.walk():
                # A lone top-level section is the whole article: the article summary serves.
                whole = section is top and len(folded.sections) < 2
                if id(section) in kept[-1] and section.all_words >= quote_under_words and not whole:
                    section_texts.append(section.all_text)
                    section_slots.append(id(section))
    section_summaries = dict(
        zip(
            section_slots,
            engine.summarise(
                section_texts,
                kind="section",
                progress=_counted("sections", len(section_texts), progress),
            ),
            strict=True,
        )
    )

    article_texts = [d.text for d in documents if d.words >= quote_under_words]
    generated = iter(
        engine.summarise(
            article_texts,
            kind="article",
            progress=_counted("articles", len(article_texts), progress),
        )
    )
    article_summaries = [
        _clean(next(generated) if d.words >= quote_under_words else d.text, "article")
        for d in documents
    ]
    tldrs = engine.summarise(article_summaries, kind="tldr")

    results = []
    for d, document in enumerate(documents):
        folded = folds[d]
        tree = _SummaryTree(section_summaries, kept[d], quote_under_words)
        sections = tuple(
            tree.summarise(section, folded=i not in folded.shown)
            if len(folded.sections) > 1
            else tree.summarise(
                section, whole=(article_summaries[d], document.words < quote_under_words)
            )
            for i, section in enumerate(folded.sections)
            if id(section) in kept[d]
        )
        results.append(
            ArticleSummary(
                path=display_path(document.path),
                title=_title(document.title) or "",
                summary=article_summaries[d],
                tldr=_clean(tldrs[d], "tldr"),
                words=document.words,
                sections=sections,
                date=document.date,
                format=document.format,
                omitted_sections=sum(1 for _ in document.all_sections()) - len(kept[d]),
            )
        )
    return results


def make_digest(
    sources: Sequence[Path | str],
    options: Options | None = None,
    *,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | None = None,
) -> Digest:
    """The library's main entry point: read `sources` (folders or files) and summarise them.

    `select(path)` picks which of the files found are included (see digest.state).
    """
    options = options or Options()
    paths = [Path(s) for s in sources]
    if not paths:
        raise UsageError("no sources given")
    documents, skipped = read_documents(
        paths, max_bytes=options.max_bytes, progress=progress, select=select
    )
    notices: list[str] = []
    if documents and not needs_model(documents, options):
        # Every text is short enough to be quoted: no model is worth loading for the TL;DRs.
        options = replace(options, engine="extractive")
    if documents and options.cache is not None:
        articles, engine, notices = _summarise_with_cache(
            documents, options, options.cache, progress
        )
        engine_name, model, backend = engine.name, engine.model, engine.backend
    elif documents:
        engine, notices = resolve_engine(options)
        articles = summarise_documents(
            documents, engine, quote_under_words=options.quote_under_words, progress=progress
        )
        engine_name, model, backend = engine.name, engine.model, engine.backend
    else:
        # Nothing to summarise: the model is not loaded at all.
        articles = []
        engine_name, model, backend = options.engine, None, None
    return Digest(
        date=options.date or _dt.date.today(),
        engine=engine_name,
        model=model,
        articles=tuple(articles),
        skipped=tuple(skipped),
        notices=tuple(notices),
        backend=backend,
    )
