"""Documents → summaries → Digest: discovery, reading, engine choice and batching."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from digest.defaults import DEFAULT_CACHE_MAX_AGE_S, DEFAULT_MAX_BYTES, DEFAULT_MODEL
from digest.engines import Summariser, get_engine
from digest.errors import ModelUnavailable, SkipDocument, UsageError
from digest.folding import capped, fold
from digest.model import (
    ArticleSummary,
    Digest,
    Document,
    Section,
    SectionSummary,
    Skipped,
    Unreadable,
)
from digest.sources import (
    FORMATS,
    TooLarge,
    check_reader,
    find_inputs,
    is_feed_file,
    parse_bytes,
    read_bytes,
)
from digest.text import bound_text, join_sentences, normalise_space, strip_invisible
from digest.urls import is_url

if TYPE_CHECKING:
    from digest.cache import SummaryCache
    from digest.sources.web import Memory, WebOptions

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
    #: Seconds unused after which summaries and conversions beside `cache` are pruned (checked
    #: at most once a day); None keeps everything.
    cache_max_age: float | None = DEFAULT_CACHE_MAX_AGE_S
    #: Feeds and web pages: entries per feed, updated entries, HTTP limits (see sources.web).
    web: WebOptions | None = None


def display_path(path: Path) -> str:
    """Paths relative to the working folder where possible: shorter, and stable across machines."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


class Selection(Protocol):
    """What `select` may also be (digest.state's selector): besides the cheap test by path,
    a test by content, given the fingerprint of the bytes the pipeline has read anyway."""

    def __call__(self, path: Path) -> bool: ...

    def changed(self, path: Path, fingerprint: str) -> bool: ...


def fingerprint(data: bytes) -> str:
    """The sha256 of a file's bytes: "changed" means different content, not a newer mtime."""
    return hashlib.sha256(data).hexdigest()


def size_fingerprint(path: Path) -> str:
    """A file too large to read is known by its size and time instead of its content."""
    stat = path.stat()
    return f"size={stat.st_size} mtime_ns={stat.st_mtime_ns}"


def read_documents(
    sources: Sequence[Path | str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | Selection | None = None,
    web: WebOptions | None = None,
    memory: Memory | None = None,
) -> tuple[list[Document], list[Skipped]]:
    """Read every supported file under `sources`; bad inputs become Skipped, never errors.

    `select`, when given, picks which of the files found are read at all (--since). URLs,
    feed files and OPML lists are read by digest.sources.web, entry by entry, with `memory`
    deciding which entries are new; their documents come after the files'.
    (read_sources() also says which formats could not be read at all.)
    """
    documents, skipped, _ = read_sources(
        sources, max_bytes=max_bytes, progress=progress, select=select, web=web, memory=memory
    )
    return documents, skipped


def read_sources(
    sources: Sequence[Path | str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | Selection | None = None,
    web: WebOptions | None = None,
    memory: Memory | None = None,
) -> tuple[list[Document], list[Skipped], list[Unreadable]]:
    """Read every supported file under `sources`: documents, skipped files (one reason each)
    and the formats whose reader cannot work in this installation.

    `select`, when given, picks which of the files found are read at all (--since); when it
    also has `changed(path, fingerprint)`, that decides on content, from the bytes read here:
    each file is read once, and one over `max_bytes` not at all. A
    format whose reader fails to import is reported once, with the package to install; if
    every file found is of such formats (and there are no feeds), ReaderUnavailable is raised
    before reading any. Feeds, pages and OPML lists are read by digest.sources.web, with
    `memory` deciding which entries are new; their documents come after the files'.
    """
    files: list[Path] = []
    remote: list[Path | str] = []
    seen: set[str] = set()
    walked: set[str] = set()
    for source in sources:
        if is_url(source):
            remote.append(str(source))
            continue
        # One real file is read once, however many sources reach it.
        for path in find_inputs([Path(source)], seen=seen, walked=walked):
            (remote if is_feed_file(path) else files).append(path)
    documents, skipped, unreadable = _read_files(
        files, max_bytes=max_bytes, progress=progress, select=select, feeds=bool(remote)
    )
    if remote:
        from digest.sources.web import Everything, WebOptions, WebReader

        web = web or WebOptions()
        web = replace(web, http=replace(web.http, max_bytes=max_bytes))
        reader = WebReader(web, memory or Everything(), max_bytes=max_bytes, progress=progress)
        more, also_skipped = reader.read(remote)
        documents += more
        skipped += also_skipped
    return documents, skipped, unreadable


def _read_files(
    files: list[Path],
    *,
    max_bytes: int,
    progress: Progress | None,
    select: Callable[[Path], bool] | Selection | None,
    feeds: bool,
) -> tuple[list[Document], list[Skipped], list[Unreadable]]:
    formats = {FORMATS[path.suffix.lower()] for path in files}
    broken = {fmt: problem for fmt in sorted(formats) if (problem := check_reader(fmt))}
    if broken and formats <= broken.keys() and not feeds:
        raise next(iter(broken.values()))
    unreadable: list[Unreadable] = []
    for fmt, problem in broken.items():
        count = sum(1 for path in files if FORMATS[path.suffix.lower()] == fmt)
        notice = (
            f"{count} {problem.format} file{'' if count == 1 else 's'} not read: {problem.cause}; "
            f"install {problem.package}: {problem.install}"
        )
        log.warning("%s", notice)
        unreadable.append(Unreadable(fmt, count, notice))
    # Dropped before `select` sees them, so --since last still counts them as new once the
    # installation is mended.
    files = [path for path in files if FORMATS[path.suffix.lower()] not in broken]
    if select is not None:
        files = [path for path in files if select(path)]
    changed = getattr(select, "changed", None)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for done, path in enumerate(files, 1):
        try:
            document = _read_one(path, max_bytes, changed)
            if document is not None and document.words == 0:
                raise SkipDocument("headings but no prose")
            if document is not None:
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
    return documents, skipped, unreadable


def _read_one(
    path: Path, max_bytes: int, changed: Callable[[Path, str], bool] | None
) -> Document | None:
    """The file's Document; None when `changed` says its content is not new."""
    try:
        data = read_bytes(path, max_bytes=max_bytes)
    except TooLarge:
        # A file too large is never read, so its size and time stand for its content: one
        # left in the folder is reported by the first --since run, not by every one.
        if changed is not None and not changed(path, size_fingerprint(path)):
            return None
        raise
    if changed is not None and not changed(path, fingerprint(data)):
        return None
    return parse_bytes(data, path)


def model_id(options: Options) -> str:
    """The model the seq2seq engine would load: presets ("fast", "best") become hub ids, so a
    preset and its id share cache entries."""
    from digest.engines.settings import resolve_model

    return resolve_model(options.model or DEFAULT_MODEL)


def needs_model(documents: Sequence[Document], options: Options) -> bool:
    """Whether any text is long enough to be summarised rather than quoted."""
    return any(d.words >= options.quote_under_words for d in documents)


def engine_fingerprint(options: Options, engine: str, *, backend: str | None = None) -> str:
    """The cache's name for `engine` as `options` configure it (see digest.cache).

    The seq2seq backend is part of it (int8 CTranslate2 and transformers summaries differ
    slightly): `backend` where it is known (the engine has run), else the one this
    installation will most likely run, so it is known before any model is loaded.
    """
    from digest.cache import engine_fingerprint as fingerprint

    if engine == "extractive":
        return fingerprint("extractive")
    backend = backend or _expected_backend(options)
    return fingerprint(
        engine,
        model=model_id(options),
        generate=options.generate,
        options={**options.engine_options, "backend": backend},
    )


def _expected_backend(options: Options) -> str:
    from digest.engines.ctranslate2_backend import expected_backend

    return expected_backend(str(options.engine_options.get("backend", "auto")))


#: The backends that run the seq2seq engine (an engine of a test or plugin may name others).
_RUNNERS = ("transformers", "ctranslate2")


def _lookup_backends(options: Options) -> list[str | None]:
    """The backends whose cached summaries a run may use, most likely first.

    Under `auto` a model that does not convert runs on transformers every time, and its
    summaries are stored under that name: a re-run must find them without loading it again.
    """
    from digest.engines.ctranslate2_backend import expected_backend

    choice = str(options.engine_options.get("backend", "auto"))
    if choice == "auto" and expected_backend(choice) == "ctranslate2":
        return ["ctranslate2", "transformers"]
    return [None]


def _summarise_with_cache(
    documents: Sequence[Document], options: Options, cache_path: Path, progress: Progress | None
) -> tuple[list[ArticleSummary], Summariser, list[str]]:
    """Answer from the cache when it holds every summary; prepare an engine only otherwise."""
    from digest.cache import SummaryCache

    with SummaryCache(cache_path) as cache:
        result = _summarise_cached(documents, options, cache, progress)
        if options.cache_max_age is not None:
            # After summarising, so what this run used counts as used today.
            from digest.cache_maintenance import prune_if_due

            prune_if_due(cache, options.cache_max_age)
        return result


def _summarise_cached(
    documents: Sequence[Document], options: Options, cache: SummaryCache, progress: Progress | None
) -> tuple[list[ArticleSummary], Summariser, list[str]]:
    """From the cache alone when it holds every summary; otherwise prepare the engine."""
    from digest.cache import CacheMiss, CacheOnlySummariser, CachingSummariser

    # The engine `auto` tries first is seq2seq, so that is whose summaries are looked up.
    first = "seq2seq" if options.engine == "auto" else options.engine
    for backend in _lookup_backends(options) if first == "seq2seq" else [None]:
        fingerprint = engine_fingerprint(options, first, backend=backend)
        cached = CacheOnlySummariser(
            cache,
            fingerprint,
            first,
            # The run's own settings name the digest's engine, not whichever cached row
            # comes first.
            model=None if first == "extractive" else model_id(options),
            backend=None if first == "extractive" else backend or _expected_backend(options),
        )
        try:
            articles = summarise_documents(
                documents, cached, quote_under_words=options.quote_under_words
            )
        except CacheMiss as miss:
            log.debug("summary cache (%s): %s", backend or "expected backend", miss)
        else:
            log.info("all %d summaries came from the cache; no engine was loaded", cached.hits)
            return articles, cached, []
    engine, notices = resolve_engine(options)
    used = "extractive" if notices or options.engine == "extractive" else first
    # Keyed by the backend that actually runs: under auto, a model that fails to convert
    # runs on transformers, and its summaries must not pass for CTranslate2's.
    ran = engine.backend if used == "seq2seq" and engine.backend in _RUNNERS else None
    caching = CachingSummariser(engine, cache, engine_fingerprint(options, used, backend=ran))
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
    """A summary as shown: no invisible characters, within its bounds, and an unpunctuated
    paragraph (such as a quoted lead line) ending with a full stop, so it does not run into
    the next where the summary is shown on one line (a Markdown bullet)."""
    max_words, max_chars = SUMMARY_BOUNDS.get(kind, TITLE_BOUND)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", strip_invisible(text))]
    joined = join_sentences([p for p in paragraphs if p], separator="\n\n")
    return bound_text(joined, max_words, max_chars)


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
                path=document.origin or display_path(document.path),
                title=_title(document.title) or "",
                summary=article_summaries[d],
                tldr=_clean(tldrs[d], "tldr"),
                words=document.words,
                sections=sections,
                date=document.date,
                format=document.format,
                link=document.link,
                feed=_title(document.feed),
                author=_title(document.author),
                note=document.note,
                omitted_sections=sum(1 for _ in document.all_sections()) - len(kept[d]),
            )
        )
    return results


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
    """
    options = options or Options()
    paths = [s if is_url(s) else Path(s) for s in sources]
    if not paths:
        raise UsageError("no sources given")
    documents, skipped, unreadable = read_sources(
        paths,
        max_bytes=options.max_bytes,
        progress=progress,
        select=select,
        web=options.web,
        memory=memory,
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
        notices=tuple(u.reason for u in unreadable) + tuple(notices),
        backend=backend,
        unreadable=tuple(unreadable),
    )
