"""Documents → summaries → Digest: discovery, reading, engine choice and batching."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from digest.defaults import DEFAULT_CACHE_MAX_AGE_S, DEFAULT_MAX_BYTES, DEFAULT_MODEL
from digest.engines import Summariser, get_engine
from digest.engines.spec import EngineSpec
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
from digest.repeats import Said
from digest.sources import (
    FORMATS,
    TooLarge,
    check_reader,
    display_path,
    find_inputs,
    is_feed_file,
    parse_bytes,
    read_bytes,
)
from digest.text import bound_text, join_sentences, normalise_space, strip_invisible
from digest.urls import is_url

if TYPE_CHECKING:
    from digest.cache import SummaryCache
    from digest.cluster import RaySession, RaySettings
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
    #: "local" (this process) or "ray" (reading and summarising on a Ray cluster).
    executor: str = "local"
    #: Where and how wide a Ray run is (None: digest.cluster.RaySettings' defaults).
    ray: RaySettings | None = None
    #: Feeds and web pages: entries per feed, updated entries, HTTP limits (see sources.web).
    web: WebOptions | None = None


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


def read_file(
    path: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    changed: Callable[[Path, str], bool] | None = None,
) -> Document | str | None:
    """The document at `path`, the one-line reason it is skipped, or None when `changed` says
    its content is not new; never raises for bad input (a Ray worker runs this too, and a
    reader bug must not cost the other files)."""
    try:
        document = _read_one(path, max_bytes, changed)
        if document is not None and document.words == 0:
            raise SkipDocument("headings but no prose")
        return document
    except SkipDocument as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        log.debug("reader failure on %s", path, exc_info=True)
        return f"could not be parsed ({type(exc).__name__}: {exc})"


def _is_new(path: Path, max_bytes: int, changed: Callable[[Path, str], bool]) -> bool:
    """`changed` decided on the driver, for a run whose files are read by Ray workers."""
    try:
        return changed(path, fingerprint(read_bytes(path, max_bytes=max_bytes)))
    except TooLarge:
        return changed(path, size_fingerprint(path))
    except SkipDocument:
        return True  # the worker's read reports why


def read_documents(
    sources: Sequence[Path | str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    select: Callable[[Path], bool] | Selection | None = None,
    web: WebOptions | None = None,
    memory: Memory | None = None,
    session: RaySession | None = None,
) -> tuple[list[Document], list[Skipped]]:
    """Read every supported file under `sources`; bad inputs become Skipped, never errors.

    `select`, when given, picks which of the files found are read at all (--since). URLs,
    feed files and OPML lists are read by digest.sources.web, entry by entry, with `memory`
    deciding which entries are new; their documents come after the files'.
    (read_sources() also says which formats could not be read at all.)
    """
    documents, skipped, _ = read_sources(
        sources,
        max_bytes=max_bytes,
        progress=progress,
        select=select,
        web=web,
        memory=memory,
        session=session,
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
    session: RaySession | None = None,
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
    With a Ray `session`, the files are read as Ray tasks (on storage the workers share).
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
        files,
        max_bytes=max_bytes,
        progress=progress,
        select=select,
        feeds=bool(remote),
        session=session,
    )
    if remote:
        from digest.sources.web import Everything, WebOptions, WebReader

        web = web or WebOptions()
        web = replace(web, http=replace(web.http, max_bytes=max_bytes))
        reader = WebReader(web, memory or Everything(), progress=progress)
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
    session: RaySession | None = None,
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
    results: Iterable[Document | str | None]
    if session is not None:
        if changed is not None:
            # The run's state lives here, not on the workers: what is new is decided first
            # (so a Ray run reads each selected file here once more).
            files = [path for path in files if _is_new(path, max_bytes, changed)]
        # Absolute: a worker's working folder is not the driver's.
        wanted = [path.absolute() for path in files]
        results = session.read(wanted, partial(read_file, max_bytes=max_bytes))
    else:
        results = (read_file(path, max_bytes, changed) for path in files)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for done, (path, result) in enumerate(zip(files, results, strict=True), 1):
        if result is None:
            pass  # not new (--since last)
        elif isinstance(result, str):
            log.warning("skipped %s: %s", display_path(path), result)
            skipped.append(Skipped(display_path(path), result))
        else:
            documents.append(result if result.path == path else replace(result, path=path))
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
    auto = str(options.engine_options.get("backend", "auto")) == "auto"
    if auto and _expected_backend(options) == "ctranslate2":
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


#: What the planning pass answers for an article summary the cluster has yet to write; its
#: TL;DR then comes back with it. Recognised by identity, never by value.
_PENDING = "\x00pending"


class _Planner:
    """A Summariser that answers from the cache where it can and notes every other text:
    summarise_documents run with it lists exactly what a local run would summarise."""

    name = "cache"
    model: str | None = None
    backend: str | None = None

    def __init__(
        self,
        cache: SummaryCache | None,
        fingerprint: str,
        known: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.cache = cache
        self.fingerprint = fingerprint
        self.known: dict[tuple[str, str], str] = dict(known or {})
        self.wanted: dict[tuple[str, str], None] = {}  # ordered, each text once
        self.totals = {"section": 0, "article": 0}
        self.identity: tuple[str, str | None, str | None] | None = None
        self.ray_identity: tuple[str, str | None, str | None] | None = None

    def prepare(self) -> None:
        pass

    def summarise(
        self, texts: Sequence[str], *, kind: str, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        from digest.cache import summary_key

        if kind in self.totals:
            self.totals[kind] += len(texts)
        asked = [t for t in texts if t is not _PENDING and (kind, t) not in self.known]
        keys = {t: summary_key(self.fingerprint, kind, t) for t in asked}
        found = self.cache.get_many(list(keys.values())) if self.cache else {}
        for text in asked:
            cached = found.get(keys[text])
            if cached is not None:
                self.known[(kind, text)] = cached.summary
                self.identity = (cached.engine, cached.model, cached.backend)
            else:
                self.wanted[(kind, text)] = None
        return [
            self.known.get((kind, t), _PENDING if kind == "article" else "")
            if t is not _PENDING
            else t
            for t in texts
        ]


class _Answers:
    """A Summariser over summaries already made (the cache's and the cluster's)."""

    name = "answers"
    model: str | None = None
    backend: str | None = None

    def __init__(self, known: Mapping[tuple[str, str], str]) -> None:
        self.known = known

    def prepare(self) -> None:
        pass

    def summarise(
        self, texts: Sequence[str], *, kind: str, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        return [self.known[(kind, t)] for t in texts]


def _summarise_on_ray(
    documents: Sequence[Document], options: Options, session: RaySession, progress: Progress | None
) -> tuple[list[ArticleSummary], tuple[str, str | None, str | None], list[str]]:
    """The driver consults the cache, the cluster summarises only the misses (an article's
    TL;DR with it), the driver stores each batch of answers as it arrives, and the digest is
    assembled by the same code as a local run's."""
    from digest.cache import SummaryCache

    cache = SummaryCache(options.cache) if options.cache is not None else None
    try:
        first = "seq2seq" if options.engine == "auto" else options.engine
        likely = _lookup_backends(options)[0] if first == "seq2seq" else None
        known: dict[tuple[str, str], str] = {}
        identity: tuple[str, str | None, str | None] = (options.engine, None, None)
        notices: dict[str, None] = {}
        made = 0
        # Two rounds: articles (and TL;DRs) first, then the sections, whose bullets are made
        # from what the article summaries leave unsaid (digest.repeats).
        for _ in range(2):
            planner = _Planner(cache, engine_fingerprint(options, first, backend=likely), known)
            summarise_documents(documents, planner, quote_under_words=options.quote_under_words)
            known = dict(planner.known)
            identity = planner.identity or identity
            if not planner.wanted:
                break
            made += len(planner.wanted)
            _run_on_ray(planner, options, session, progress, known, notices, cache)
            identity = planner.ray_identity or identity
        log.info("summaries: %d made on Ray", made)
        if cache is not None and options.cache_max_age is not None:
            from digest.cache_maintenance import prune_if_due

            prune_if_due(cache, options.cache_max_age)
    finally:
        if cache is not None:
            cache.close()
    articles = summarise_documents(
        documents, _Answers(known), quote_under_words=options.quote_under_words
    )
    return articles, identity, list(notices)


def _run_on_ray(
    planner: _Planner,
    options: Options,
    session: RaySession,
    progress: Progress | None,
    known: dict[tuple[str, str], str],
    notices: dict[str, None],
    cache: SummaryCache | None,
) -> None:
    """Summarise what `planner` wanted on the cluster, into `known` (and the cache as each
    batch of answers arrives); the engine that ran is left in `planner.ray_identity`."""
    from digest.cache import Cached, summary_key
    from digest.cluster import Request

    requests = [Request(kind, text) for kind, text in planner.wanted]
    done = {
        kind: total - sum(1 for k, _ in planner.wanted if k == kind)
        for kind, total in planner.totals.items()
    }
    fingerprints: dict[str, str] = {}
    for answers in session.summarise(engine_spec(options), build_engine, requests):
        rows = []
        for answer in answers:
            request = requests[answer.index]
            planner.ray_identity = (answer.engine, answer.model, answer.backend)
            notices.update(dict.fromkeys(answer.notices))
            # Keyed by the backend that actually ran, as a local run keys them.
            ran = answer.backend if answer.backend in _RUNNERS else None
            name = f"{answer.engine}/{ran}"
            if name not in fingerprints:
                fingerprints[name] = engine_fingerprint(options, answer.engine, backend=ran)
            fingerprint = fingerprints[name]
            stored = Cached(answer.summary, answer.engine, answer.model, answer.backend)
            known[(request.kind, request.text)] = answer.summary
            rows.append((summary_key(fingerprint, request.kind, request.text), stored))
            if request.kind == "article":
                known[("tldr", answer.summary)] = answer.tldr
                tldr = Cached(answer.tldr, answer.engine, answer.model, answer.backend)
                rows.append((summary_key(fingerprint, "tldr", answer.summary), tldr))
            if request.kind in done:
                done[request.kind] += 1
        if cache is not None:
            cache.put_many(rows)
        if progress:
            arrived = {requests[a.index].kind for a in answers}
            for kind, stage in (("section", "sections"), ("article", "articles")):
                if kind in arrived:
                    progress(stage, done[kind], planner.totals[kind])


def engine_spec(options: Options) -> EngineSpec:
    """The engine `options` ask for, as a specification any process can build it from."""
    if options.engine not in ("auto", "seq2seq"):
        return EngineSpec.create(options.engine)
    return EngineSpec.create(
        options.engine,
        model=model_id(options),
        generate=options.generate,
        options=options.engine_options,
    )


def resolve_engine(options: Options) -> tuple[Summariser, list[str]]:
    """Load the requested engine; `auto` falls back to extractive with a visible notice."""
    return build_engine(engine_spec(options))


def build_engine(spec: EngineSpec) -> tuple[Summariser, list[str]]:
    """Build and load the engine `spec` describes (here, or in a Ray worker); `auto` falls
    back to extractive with a visible notice when the seq2seq model cannot be had."""
    if spec.engine not in ("auto", "seq2seq"):
        engine = get_engine(spec.engine, **spec.arguments())
        engine.prepare()
        return engine, []
    engine = get_engine("seq2seq", **spec.named("seq2seq").arguments())
    try:
        engine.prepare()
    except ModelUnavailable as exc:
        if spec.engine == "seq2seq":
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


def _keep_pending(text: str, kind: str) -> str:
    """`_clean(text)`, except that the Ray planner's placeholder stays itself."""
    return text if text is _PENDING else _clean(text, kind)


def _title(text: str | None) -> str | None:
    return (
        None if text is None else bound_text(normalise_space(strip_invisible(text)), *TITLE_BOUND)
    )


@dataclass(frozen=True)
class _SummaryTree:
    """Turns one document's section tree into SectionSummary objects, in reading order, each
    saying only what the entry has not said yet (digest.repeats)."""

    summaries: Mapping[int, str]  # id(section) → engine summary
    texts: Mapping[int, str]  # id(section) → its text less what the TL;DR and summary said
    kept: set[int]  # id(section) of the sections in the (capped) summary tree
    said: Said

    def summarise(self, section: Section, *, folded: bool = False) -> SectionSummary | None:
        """The section's summary and its children's, or None when none has anything new."""
        if id(section) in self.summaries:
            summary, quoted = _clean(self.summaries[id(section)], "section"), False
        else:
            text = self.texts.get(id(section), "")
            summary, quoted = (_clean(text, "section") if text else ""), True
        # A model's bullet may still restate what was said: filtered as the input was.
        summary = self.said.say(summary) if summary else ""
        children = tuple(
            child
            for c in section.sections
            if id(c) in self.kept and (child := self.summarise(c)) is not None
        )
        if not summary and not children:
            return None
        return SectionSummary(
            _title(section.kicker),
            _title(section.title),
            summary,
            section.all_words,
            quoted,
            level=section.level,
            sections=children,
            folded=folded,
        )


def summarise_documents(
    documents: Sequence[Document],
    engine: Summariser,
    *,
    quote_under_words: int = 60,
    progress: Progress | None = None,
) -> list[ArticleSummary]:
    """Summarise every article, then every section of every document, in batched passes.

    One article's entry never says a sentence twice: the TL;DR comes first, the summary
    paragraph leaves out what the TL;DR said, and each section bullet (over its whole subtree,
    see docs/structure.md) is made from what neither said, then loses what an earlier bullet
    said; a section with nothing new left gets no bullet. A document with fewer than two
    top-level sections has no bullets (its summary covers it), and a lone bullet continues
    the summary paragraph.
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
        _keep_pending(next(generated) if d.words >= quote_under_words else d.text, "article")
        for d in documents
    ]
    tldrs = [_keep_pending(t, "tldr") for t in engine.summarise(article_summaries, kind="tldr")]
    said = [Said() for _ in documents]
    paragraphs = []
    for d, tldr in enumerate(tldrs):
        said[d].add(tldr)
        paragraphs.append(said[d].say(article_summaries[d]))
    # On Ray, a first planning pass has no article summaries yet (_PENDING): those documents'
    # sections wait for the next pass, as their bullets depend on what the summary says.
    waiting = {d for d, tldr in enumerate(tldrs) if tldr is _PENDING}

    # Gathered across documents, so the engine sees every section in one batch and can sort
    # by length; each section loses the sentences the TL;DR and summary said before it is
    # summarised, so its bullet tells the reader something new.
    folds = [fold(d.sections) for d in documents]
    kept: list[set[int]] = []
    texts: list[dict[int, str]] = []
    section_texts: list[str] = []
    section_slots: list[int] = []
    for d, folded in enumerate(folds):
        order = sorted(folded.shown)
        kept.append(capped(folded.sections, order))
        texts.append({})
        if len(folded.sections) < 2 or d in waiting:
            continue  # a lone top-level section is the whole article: the summary serves
        for top in folded.sections:
            for section in top.walk():
                if id(section) not in kept[-1]:
                    continue
                text = said[d].unsaid(section.all_text)
                texts[-1][id(section)] = text
                if len(text.split()) >= quote_under_words:
                    section_texts.append(text)
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

    results = []
    for d, document in enumerate(documents):
        folded = folds[d]
        sections: tuple[SectionSummary, ...] = ()
        if len(folded.sections) > 1:
            tree = _SummaryTree(section_summaries, texts[d], kept[d], said[d])
            sections = tuple(
                summary
                for i, section in enumerate(folded.sections)
                if id(section) in kept[d]
                and (summary := tree.summarise(section, folded=i not in folded.shown)) is not None
            )
        if len(sections) == 1 and not sections[0].sections:
            # A list of one is not a list (the templates show bullets from two up): the one
            # section with something new to say continues the summary paragraph instead.
            paragraphs[d] = " ".join(p for p in (paragraphs[d], sections[0].summary) if p)
            sections = ()
        results.append(
            ArticleSummary(
                path=document.origin or display_path(document.path),
                title=_title(document.title) or "",
                summary=paragraphs[d],
                tldr=tldrs[d],
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


@dataclass(frozen=True)
class Summarised:
    """What summarising a batch of documents gave, and which engine gave it."""

    articles: tuple[ArticleSummary, ...]
    engine: str
    model: str | None
    backend: str | None
    notices: tuple[str, ...]


def summarise_read_documents(
    documents: Sequence[Document],
    options: Options,
    *,
    progress: Progress | None = None,
    session: Any = None,
) -> Summarised:
    """Summarise documents already read, as `digest make` does: engine choice with its
    fallback, the quote-short-texts rule, the cache and (given a Ray `session`) the Ray
    executor (`digest eval` relies on it)."""
    if not needs_model(documents, options):
        # Every text is short enough to be quoted: no model is worth loading for the TL;DRs.
        options = replace(options, engine="extractive")
    notices: list[str] = []
    if session is not None:
        articles, (name, model, backend), notices = _summarise_on_ray(
            documents, options, session, progress
        )
        return Summarised(tuple(articles), name, model, backend, tuple(notices))
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
    select: Callable[[Path], bool] | Selection | None = None,
    memory: Memory | None = None,
) -> Digest:
    """The library's main entry point: read `sources` (folders, files, feed and page URLs,
    OPML lists) and summarise them.

    `select(path)` picks which of the files found are included, `memory` which feed entries
    (see digest.state: RunState.selector and RunState.remote_memory).
    With `options.executor == "ray"` the reading and summarising run on a Ray cluster;
    the digest is the same as a local run's.
    """
    options = options or Options()
    paths = [s if is_url(s) else Path(s) for s in sources]
    if not paths:
        raise UsageError("no sources given")
    if options.executor != "ray":
        return _make_digest(paths, options, progress, select, memory, None)
    from digest.cluster import RaySession, RaySettings

    with RaySession(options.ray or RaySettings()) as session:
        return _make_digest(paths, options, progress, select, memory, session)


def _make_digest(
    paths: Sequence[Path | str],
    options: Options,
    progress: Progress | None,
    select: Callable[[Path], bool] | None,
    memory: Memory | None,
    session: RaySession | None,
) -> Digest:
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
    unreadable_notices = tuple(u.reason for u in unreadable)
    if not documents:
        # Nothing to summarise: the model is not loaded at all.
        return Digest(
            date=date,
            engine=options.engine,
            model=None,
            articles=(),
            skipped=tuple(skipped),
            notices=unreadable_notices,
            unreadable=tuple(unreadable),
        )
    run = summarise_read_documents(documents, options, progress=progress, session=session)
    return Digest(
        date=date,
        engine=run.engine,
        model=run.model,
        articles=run.articles,
        skipped=tuple(skipped),
        notices=unreadable_notices + run.notices,
        backend=run.backend,
        unreadable=tuple(unreadable),
        executor=options.executor,
    )
