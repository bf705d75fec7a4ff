"""The engine seam: one small contract every summariser implements, and a registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.engines.base import Kind, Summariser
from digest.errors import UsageError

__all__ = ["ENGINE_NAMES", "Kind", "Summariser", "check_engine_name", "get_engine"]

ENGINE_NAMES = ("auto", "extractive", "seq2seq")


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
