"""Run in every Ray worker of the test session (worker_process_setup_hook): test engines.

`--model gated:DIR` builds the extractive engine behind a gate: its first summarise() in a
worker process writes the process id to DIR/pids and waits until DIR/open exists, so a test
can kill a worker while it holds a batch, then let the run go on. `--model pids:DIR` builds
the extractive engine, writing "PID KIND" to DIR/batches for every batch it summarises. A
model folder whose name starts "unconvertible" fails CTranslate2's conversion (so auto runs
it on transformers). Every other model builds the real engines. DIR is written with "|" for
"/" (hook_model): a --model with slashes names a folder, and one that does not exist is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def hook_model(kind: str, folder: Path) -> str:
    """The --model naming a test engine over `folder`, its slashes written as "|": a name
    with slashes is a model folder to digest, and one that does not exist is refused."""
    return f"{kind}:{str(folder).replace('/', '|')}"


def hook_folder(spelled: str) -> Path:
    return Path(spelled.replace("|", "/"))


class GatedSummariser:
    name = "extractive"
    model: str | None = None
    backend: str | None = None

    def __init__(self, folder: Path) -> None:
        from digest.engines.extractive import ExtractiveSummariser

        self.folder = folder
        self.inner = ExtractiveSummariser()
        self.waited = False

    def prepare(self) -> None:
        self.inner.prepare()

    def summarise(
        self, texts: Sequence[str], *, kind: Any, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        if not self.waited:
            self.waited = True
            with open(self.folder / "pids", "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()}\n")
            deadline = time.monotonic() + 300
            while not (self.folder / "open").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return self.inner.summarise(texts, kind=kind, progress=progress)


class RecordingSummariser(GatedSummariser):
    def summarise(
        self, texts: Sequence[str], *, kind: Any, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        with open(self.folder / "batches", "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {kind}\n")
        return self.inner.summarise(texts, kind=kind, progress=progress)


def install() -> None:
    import digest.executing

    real = digest.executing.get_engine

    def get_engine(name: str, *, model: str | None = None, **options: Any) -> Any:
        if model and model.startswith("gated:"):
            return GatedSummariser(hook_folder(model.removeprefix("gated:")))
        if model and model.startswith("pids:"):
            return RecordingSummariser(hook_folder(model.removeprefix("pids:")))
        return real(name, model=model, **options)

    digest.executing.get_engine = get_engine  # type: ignore[assignment]
    try:
        from digest.engines import ctranslate2_backend
    except ImportError:
        return
    from digest.errors import ModelUnavailable

    load = ctranslate2_backend.load

    def refusing(checkpoint: Any, **kwargs: Any) -> Any:
        if Path(checkpoint.source).name.startswith("unconvertible"):
            raise ModelUnavailable(f"model {checkpoint.source} could not be converted")
        return load(checkpoint, **kwargs)

    ctranslate2_backend.load = refusing  # type: ignore[assignment]
