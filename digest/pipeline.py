"""Documents → summaries → Digest: discovery, reading, engine choice and batching."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from digest.defaults import DEFAULT_MAX_BYTES, DEFAULT_MODEL
from digest.engines import Summariser, get_engine
from digest.errors import ModelUnavailable, SkipDocument, UsageError
from digest.model import ArticleSummary, Digest, Document, SectionSummary, Skipped
from digest.repeats import Said
from digest.sources import find_inputs, read_document

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


def summarise_documents(
    documents: Sequence[Document],
    engine: Summariser,
    *,
    quote_under_words: int = 60,
    progress: Progress | None = None,
) -> list[ArticleSummary]:
    """Summarise every article, then every section of every document, in batched passes.

    One article's entry never says a sentence twice: the TL;DR comes first, the summary
    paragraph leaves out what the TL;DR said, and each section bullet is made from what
    neither (nor an earlier bullet) said; a section with nothing new left gets no bullet.
    A document with fewer than two sections of prose has no bullets (its summary covers it),
    and a lone bullet continues the summary paragraph.
    """
    article_texts = [d.text for d in documents if d.words >= quote_under_words]
    generated = iter(
        engine.summarise(
            article_texts,
            kind="article",
            progress=_counted("articles", len(article_texts), progress),
        )
    )
    article_summaries = [
        next(generated) if d.words >= quote_under_words else d.text for d in documents
    ]
    tldrs = engine.summarise(article_summaries, kind="tldr")
    said = [Said() for _ in documents]
    paragraphs = []
    for d, tldr in enumerate(tldrs):
        said[d].add(tldr)
        paragraphs.append(said[d].say(article_summaries[d]))

    # Gathered across documents, so the engine sees every section in one batch and can sort
    # by length; each section loses the sentences its entry has already said before it is
    # summarised, so its bullet tells the reader something new.
    section_texts: list[str] = []
    section_slots: list[tuple[int, int]] = []
    quoted_sections: dict[tuple[int, int], str] = {}
    for d, document in enumerate(documents):
        prose = [s for s in document.sections if s.paragraphs]
        if len(prose) < 2:
            continue
        for s, section in enumerate(document.sections):
            if not section.paragraphs:
                continue
            text = said[d].unsaid(section.text)
            if len(text.split()) >= quote_under_words:
                section_texts.append(text)
                section_slots.append((d, s))
            elif text:
                quoted_sections[(d, s)] = text
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

    results = []
    for d, document in enumerate(documents):
        sections = []
        for s, section in enumerate(document.sections):
            quoted = (d, s) in quoted_sections
            summary = quoted_sections.get((d, s)) or section_summaries.get((d, s), "")
            # A model's bullet may still restate the summary: filtered as the input was.
            bullet = said[d].say(summary) if summary else ""
            if bullet:
                sections.append(
                    SectionSummary(section.kicker, section.title, bullet, section.words, quoted)
                )
        if len(sections) == 1:
            # A list of one is not a list (the templates show bullets from two up): the one
            # section with something new to say continues the summary paragraph instead.
            paragraphs[d] = " ".join(p for p in (paragraphs[d], sections[0].summary) if p)
            sections = []
        results.append(
            ArticleSummary(
                path=display_path(document.path),
                title=document.title,
                summary=paragraphs[d],
                tldr=tldrs[d],
                words=document.words,
                sections=tuple(sections),
                date=document.date,
                format=document.format,
            )
        )
    return results


@dataclass(frozen=True)
class Summarised:
    """What summarising a batch of documents gave, and which engine gave it."""

    articles: tuple[ArticleSummary, ...]
    engine: str
    model: str | None
    backend: str | None
    notices: tuple[str, ...]


def summarise_read_documents(
    documents: Sequence[Document], options: Options, *, progress: Progress | None = None
) -> Summarised:
    """Summarise documents already read, as `digest make` does: engine choice with its
    fallback, the quote-short-texts rule and the cache (`digest eval` relies on it)."""
    if not needs_model(documents, options):
        # Every text is short enough to be quoted: no model is worth loading for the TL;DRs.
        options = replace(options, engine="extractive")
    notices: list[str] = []
    if options.cache is not None:
        articles, engine, notices = _summarise_with_cache(
            documents, options, options.cache, progress
        )
    else:
        engine, notices = resolve_engine(options)
        articles = summarise_documents(
            documents, engine, quote_under_words=options.quote_under_words, progress=progress
        )
    return Summarised(tuple(articles), engine.name, engine.model, engine.backend, tuple(notices))


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
    date = options.date or _dt.date.today()
    if not documents:
        # Nothing to summarise: the model is not loaded at all.
        return Digest(date, options.engine, None, (), tuple(skipped))
    run = summarise_read_documents(documents, options, progress=progress)
    return Digest(
        date=date,
        engine=run.engine,
        model=run.model,
        articles=run.articles,
        skipped=tuple(skipped),
        notices=run.notices,
        backend=run.backend,
    )
