"""Options: everything a caller (the CLI, a script) says about one digest run."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.defaults import (
    DEFAULT_CACHE_MAX_AGE_S,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_WORDS,
    DEFAULT_ORDER,
)

if TYPE_CHECKING:
    from digest.cluster import RaySettings
    from digest.sources.web import WebOptions


@dataclass(frozen=True)
class Options:
    """Everything that shapes one digest run (the CLI fills it from flags, env and config).

    Nothing here is decided yet: digest.run_plan resolves it once, at the start of a run.
    """

    engine: str = "auto"
    model: str | None = None
    #: What runs the seq2seq model: "auto", "transformers" or "ctranslate2".
    backend: str = "auto"
    generate: Mapping[str, Any] = field(default_factory=dict)
    #: Further keyword options of the seq2seq engine (threads, batch_size, device, …).
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    date: _dt.date | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Sections (and articles) with fewer words than this are quoted, not summarised.
    quote_under_words: int = 60
    #: The summary cache (an SQLite file); None runs without one.
    cache: Path | None = None
    #: Where converted CTranslate2 models live; None: beside `cache` (its folder's ct2/),
    #: else the user cache folder's ct2/.
    conversions: Path | None = None
    #: Seconds unused after which summaries and conversions beside `cache` are pruned (checked
    #: at most once a day); None keeps everything.
    cache_max_age: float | None = DEFAULT_CACHE_MAX_AGE_S
    #: "local" (this process) or "ray" (reading and summarising on a Ray cluster).
    executor: str = "local"
    #: Where and how wide a Ray run is (None: digest.cluster.RaySettings' defaults).
    ray: RaySettings | None = None
    #: Feeds and web pages: entries per feed, updated entries, HTTP limits (see sources.web).
    #: Used as given; None bounds downloads by `max_bytes`.
    web: WebOptions | None = None
    #: Documents of one run that report the same event become one story entry (digest.stories).
    merge: bool = True
    #: The entries' order: "rank" (most independent sources, then newest, then `weights`),
    #: "date" (newest first) or "feed" (as read, grouped by feed).
    order: str = DEFAULT_ORDER
    #: The reading budget in words of prose (TL;DRs, summaries, bullets); 0: no limit.
    max_words: int = DEFAULT_MAX_WORDS
    #: Outlet (name or host, any case) → weight, breaking ties in "rank" order (default 1).
    weights: Mapping[str, float] = field(default_factory=dict)
    #: The faithfulness guard over model-written summaries: "fix" (unsupported sentences
    #: replaced by the source sentence they paraphrased, or dropped), "flag" (kept and
    #: marked) or "off" (digest.guard).
    guard: str = "fix"
    #: An NLI or factual-consistency model (hub id or local folder) the guard consults
    #: besides its lexical checker, when it loads.
    guard_model: str | None = None

    def __post_init__(self) -> None:
        if "backend" in self.engine_options:
            # One place for each setting: a second spelling would be read back differently.
            raise TypeError("Options: give the backend as Options(backend=...), not engine_options")
