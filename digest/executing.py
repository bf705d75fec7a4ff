"""Executing: texts → summaries through an engine, in batches planned once for every executor;
the engine's construction (with auto's fallback) and the local executor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from digest.engines import Summariser, get_engine
from digest.engines.base import Kind
from digest.engines.spec import EngineSpec
from digest.errors import ModelUnavailable

log = logging.getLogger(__name__)

#: The digest's one line when `auto` fell back to extractive: what the reader gets, not why
#: (the why and the fix are the engine's notice, logged on the operator's stderr).
EXTRACTIVE_NOTE = "Summaries are extractive: sentences chosen from each article."


@dataclass(frozen=True)
class Identity:
    """Which engine an executor runs, as the digest names it, and what it had to say."""

    engine: str
    model: str | None
    backend: str | None
    notices: tuple[str, ...] = ()


def plan_batches(texts: Sequence[str], size: int) -> list[list[int]]:
    """Indices of `texts` in engine calls of at most `size`, shortest texts first.

    Every executor runs exactly these calls: an engine's output may depend on what shares
    its batch (padding, int8 kernels), so the same batches give the same digest anywhere.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[start : start + size] for start in range(0, len(order), max(1, size))]


class Executor(Protocol):
    """Where an engine runs: started once (the engine built and loaded), then given batches."""

    name: str

    def start(self) -> Identity:
        """Build and load the engine (raise ModelUnavailable if it cannot be had)."""

    def run(
        self, kind: Kind, batches: Sequence[Sequence[str]], progress: Callable[[int], None] | None
    ) -> Iterator[tuple[int, list[str]]]:
        """(batch index, its summaries) for every batch, each once, in any order."""

    def close(self) -> None:
        """Let go of whatever the engine holds (processes, memory)."""


def build_engine(spec: EngineSpec) -> tuple[Summariser, list[str]]:
    """Build and load the engine `spec` describes (here, or in a Ray worker); `auto` falls
    back to extractive when the seq2seq model cannot be had, with a notice for the operator
    (why, and how to fix it; the driver logs it, see digest.summarising)."""
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
        fallback = get_engine("extractive")
        fallback.prepare()
        return fallback, [notice]
    return engine, []


class LocalExecutor:
    """The engine in this process, built on start (a run answered by the cache never starts
    it, so never imports torch)."""

    name = "local"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.engine: Summariser | None = None
        self.identity: Identity | None = None

    def start(self) -> Identity:
        if self.identity is None:
            engine, notices = build_engine(self.spec)
            self.engine = engine
            self.identity = Identity(engine.name, engine.model, engine.backend, tuple(notices))
        return self.identity

    def run(
        self, kind: Kind, batches: Sequence[Sequence[str]], progress: Callable[[int], None] | None
    ) -> Iterator[tuple[int, list[str]]]:
        self.start()
        assert self.engine is not None
        for index, texts in enumerate(batches):
            yield index, self.engine.summarise(list(texts), kind=kind, progress=progress)

    def close(self) -> None:
        self.engine = None
