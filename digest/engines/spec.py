"""EngineSpec: what builds an engine, small and picklable, so any process can build it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digest.engines.base import Summariser


@dataclass(frozen=True)
class EngineSpec:
    """An engine as a value: its name, model, decoding settings, options and prompts.

    Built from options once (by the pipeline), then built into an engine wherever it runs: in
    this process, or in a Ray worker on another machine. `prompts` carries the prompt
    templates' sources (file name → text) when the engine runs where the driver's prompt
    folders may not exist; empty, the engine reads them from its own search path.
    `conversions` is the folder of CTranslate2 conversions the seq2seq engine uses (None: the
    user cache's); it is kept out of `options`, which the summary cache fingerprints, since
    where converted models live changes no summary.
    """

    engine: str
    model: str | None = None
    generate: tuple[tuple[str, Any], ...] = ()
    options: tuple[tuple[str, Any], ...] = ()
    prompts: tuple[tuple[str, str], ...] = ()
    conversions: str | None = None

    @classmethod
    def create(
        cls,
        engine: str,
        *,
        model: str | None = None,
        generate: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        conversions: str | Path | None = None,
    ) -> EngineSpec:
        return cls(
            engine,
            model,
            tuple(sorted((generate or {}).items())),
            tuple(sorted((options or {}).items())),
            conversions=None if conversions is None else str(conversions),
        )

    def named(self, engine: str) -> EngineSpec:
        """The same specification for another engine (auto's seq2seq, or its fallback)."""
        return replace(self, engine=engine)

    def with_options(self, **extra: Any) -> EngineSpec:
        """Options added where the engine runs (e.g. threads = the CPUs a worker was given)."""
        return replace(self, options=tuple(sorted({**dict(self.options), **extra}.items())))

    def with_prompts(self) -> EngineSpec:
        """The prompt templates this process would use, carried inside the specification."""
        from digest.prompts import read_templates

        return replace(self, prompts=tuple(sorted(read_templates().items())))

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments for get_engine (besides the name)."""
        if self.engine == "extractive":
            return {}
        arguments: dict[str, Any] = {
            "model": self.model,
            "generate": dict(self.generate),
            **dict(self.options),
        }
        if self.prompts:
            arguments["prompts"] = dict(self.prompts)
        if self.conversions is not None:
            arguments["conversions"] = self.conversions
        return arguments

    def build(self) -> Summariser:
        """The engine, built but not loaded (prepare() loads it)."""
        from digest.engines import get_engine

        return get_engine(self.engine, **self.arguments())
