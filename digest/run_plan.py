"""Planning: a run's options and documents → one frozen RunPlan every later stage reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.defaults import DEFAULT_MODEL
from digest.engines import check_engine_name
from digest.engines.spec import EngineSpec
from digest.model import Document
from digest.options import Options

if TYPE_CHECKING:
    from digest.cluster import RaySettings

#: The backends that run the seq2seq engine (an engine of a test or plugin may name others).
RUNNERS = ("transformers", "ctranslate2")
#: Texts per batch handed to an engine (per call, on any executor) when the engine decodes in
#: batches of 32 (transformers on a CPU) or does not batch at all (extractive).
BATCH = 32
#: ... and when it decodes in larger ones (CTranslate2: measured faster at 64 on 2 cores too).
LARGE_BATCH = 64


@dataclass(frozen=True)
class RunPlan:
    """What a run does, decided once: which engine and model, the backend expected to run it
    (and so whose cached summaries count), how texts are batched, where the cache and the
    converted models live, and where the work runs.

    Fingerprints (the cache's name for an engine as configured, see digest.cache) are made
    on first use and kept: a run takes each at most once, however many documents it has.
    """

    #: "auto", "seq2seq" or "extractive" ("extractive" when no text is long enough to
    #: summarise: no model is worth loading for quotes).
    engine: str
    #: The model id (presets resolved, so "fast" and "t5-small" share cache entries); None for
    #: the extractive engine.
    model: str | None
    #: The backend expected to run the model (None for the extractive engine).
    backend: str | None
    #: The backends whose cached summaries this run may use, most likely first: under auto, a
    #: model that does not convert runs on transformers every time, and its summaries are
    #: stored under that name.
    lookup: tuple[str | None, ...]
    #: The engine as a value any process (this one, a Ray worker) can build it from.
    spec: EngineSpec
    #: Texts per engine call, on every executor: the same batches give the same summaries.
    batch_size: int
    quote_under_words: int
    cache: Path | None
    conversions: Path
    cache_max_age: float | None
    executor: str
    ray: RaySettings | None
    #: The faithfulness guard's mode and its optional consistency model (digest.guard).
    guard: str = "fix"
    guard_model: str | None = None
    _fingerprints: dict[tuple[str, str | None], str] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def first(self) -> str:
        """The engine whose summaries are looked up first: auto tries seq2seq first."""
        return "seq2seq" if self.engine == "auto" else self.engine

    def for_documents(self, documents: Sequence[Document]) -> RunPlan:
        """This plan for `documents`: extractive when no text is long enough to summarise
        (quotes need no model), else unchanged."""
        if self.engine == "extractive" or needs_model(documents, self.quote_under_words):
            return self
        return replace(
            self,
            engine="extractive",
            model=None,
            backend=None,
            lookup=(None,),
            spec=EngineSpec.create("extractive"),
            batch_size=BATCH,
        )

    def used(self, engine: str, backend: str | None) -> tuple[str, str | None]:
        """The cache's (engine, backend) for an engine that has loaded and says what it is:
        extractive when auto fell back, keyed by the backend that actually runs (int8
        CTranslate2 and transformers summaries differ slightly)."""
        if self.first == "extractive" or engine == "extractive":
            return "extractive", None
        return self.first, backend if backend in RUNNERS else None

    def fingerprint(self, engine: str, backend: str | None = None) -> str:
        """The cache's name for `engine` on `backend` (None: the expected one), made once."""
        key = (engine, None if engine == "extractive" else backend or self.backend)
        if key not in self._fingerprints:
            from digest.cache_keys import engine_fingerprint

            if engine == "extractive":
                made = engine_fingerprint("extractive")
            else:
                made = engine_fingerprint(
                    engine,
                    model=self.model,
                    generate=dict(self.spec.generate),
                    options=_fingerprinted_options(self.spec, key[1]),
                )
            self._fingerprints[key] = made
        return self._fingerprints[key]


def _fingerprinted_options(spec: EngineSpec, backend: str | None) -> dict[str, Any]:
    return {**dict(spec.options), "backend": backend}


def needs_model(documents: Sequence[Document], quote_under_words: int) -> bool:
    """Whether any text is long enough to be summarised rather than quoted."""
    return any(d.words >= quote_under_words for d in documents)


def expand(path: Path | str) -> Path:
    """`~` and relative paths made absolute once, as cron passes them (unexpanded)."""
    return Path(path).expanduser().absolute()


def plan_run(options: Options) -> RunPlan:
    """The run's plan, from its options: every choice checked (a UsageError names a bad one)
    and resolved, before anything is read. See RunPlan.for_documents for the one decision
    that waits for the documents."""
    from digest.cluster import check_executor
    from digest.engines.conversions import conversions_folder
    from digest.engines.ctranslate2_backend import check_backend_name
    from digest.engines.settings import check_decoding, check_model_path
    from digest.errors import UsageError
    from digest.guard import check_guard_mode
    from digest.ranking import check_order

    engine = check_engine_name(options.engine)
    check_model_path(options.model)
    check_decoding(engine, options.generate)
    check_order(options.order)
    if options.max_words < 0:
        raise UsageError("max_words: 0 (no limit) or more")
    cache = expand(options.cache) if options.cache is not None else None
    conversions = (
        expand(options.conversions)
        if options.conversions is not None
        else conversions_folder(cache.parent if cache is not None else None)
    )
    common: dict[str, Any] = dict(
        quote_under_words=options.quote_under_words,
        cache=cache,
        conversions=conversions,
        cache_max_age=options.cache_max_age,
        executor=check_executor(options.executor),
        ray=options.ray,
        guard=check_guard_mode(options.guard),
        guard_model=options.guard_model or None,
    )
    if engine == "extractive":
        spec = EngineSpec.create("extractive")
        return RunPlan(engine, None, None, (None,), spec, BATCH, **common)
    from digest.engines.ctranslate2_backend import expected_backend
    from digest.engines.settings import resolve_model

    chosen = check_backend_name(options.backend)
    backend = expected_backend(chosen)
    lookup: tuple[str | None, ...] = (backend,)
    if chosen == "auto" and backend == "ctranslate2":
        lookup = ("ctranslate2", "transformers")
    engine_options = dict(options.engine_options)
    if chosen != "auto":
        engine_options["backend"] = chosen  # auto is the engine's own default
    spec = EngineSpec.create(
        engine,
        model=resolve_model(options.model or DEFAULT_MODEL),
        generate=options.generate,
        options=engine_options,
        conversions=conversions,
    )
    batch_size = int(engine_options.get("batch_size") or 0) or (
        LARGE_BATCH if backend == "ctranslate2" else BATCH
    )
    return RunPlan(engine, spec.model, backend, lookup, spec, batch_size, **common)
