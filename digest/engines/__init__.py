"""The engine seam: one small contract every summariser implements, and a registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from digest.errors import UsageError

Kind = Literal["section", "article", "tldr"]
ENGINE_NAMES = ("auto", "extractive", "seq2seq")


class Summariser(Protocol):
    """A batch of texts in, one summary per text out, in the same order.

    `kind` tells the engine what the summary is for: a section bullet, the whole-article
    summary, or a one-sentence TL;DR (whose input is the article summary). `progress`, when
    given, is called with the number of texts finished since the last call.
    """

    name: str
    model: str | None
    backend: str | None

    def prepare(self) -> None:
        """Load whatever is expensive; raise ModelUnavailable if it cannot be had."""

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: Kind,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]: ...


def check_engine_name(name: str) -> str:
    """`name` if it is an engine `--engine` accepts, else a UsageError listing them."""
    if name not in ENGINE_NAMES:
        raise UsageError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}")
    return name


def get_engine(
    name: str,
    *,
    model: str | None = None,
    generate: Mapping[str, Any] | None = None,
    **options: Any,
) -> Summariser:
    """Build (but do not load) the engine called `name`; "auto" is resolved by the pipeline."""
    if name == "extractive":
        from digest.engines.extractive import ExtractiveSummariser

        return ExtractiveSummariser()
    if name == "seq2seq":
        # Imported here so the extractive path and --help never import torch.
        from digest.engines.seq2seq import Seq2SeqSummariser

        return Seq2SeqSummariser(model=model, generate=dict(generate or {}), **options)
    check_engine_name(name)
    raise UsageError(f"engine {name!r} is resolved by the pipeline, not built directly")
