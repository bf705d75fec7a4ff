"""A fake summariser for tests, and a `digest` stand-in that runs the real CLI with it.

Run as `python tests/fake_engine.py make SRC... [options]` (any digest arguments). The
environment steers it, so a test can drive real subprocesses (kill them, run two at once):

  FAKE_ENGINE         "fake" (default): every engine name builds a FakeSummariser;
                      "real": the real engines, with builds counted
  FAKE_ENGINE_DELAY   seconds each text takes, so a run can be caught mid-way
  FAKE_ENGINE_CALLS   a file: one line "KIND COUNT" appended as each summarise() call ends
  FAKE_ENGINE_HOLD    a file: while it exists (at most 2 minutes), each summarise() call
                      waits before it returns, so a run holds its lock until a test lets go
  FAKE_ENGINE_FORBID  "1": building any engine fails the run (proves a run was fully cached)
  FAKE_ENGINE_REPORT  a file: JSON written at exit: whether torch/transformers were imported,
                      and how many engines were built
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from digest.errors import ModelUnavailable


class FakeSummariser:
    """Deterministic and instant: "<kind>: <first eight words>" (four for a TL;DR)."""

    backend = "fake"

    def __init__(
        self,
        name: str = "fake",
        model: str | None = None,
        *,
        delay: float = 0.0,
        calls: list[tuple[str, int]] | None = None,
        unavailable: bool = False,
    ) -> None:
        self.name = name
        self.model = model
        self.delay = delay
        self.calls = calls if calls is not None else []
        self.unavailable = unavailable
        self.prepared = False

    def prepare(self) -> None:
        if self.unavailable:
            raise ModelUnavailable("fake model is offline")
        self.prepared = True

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        self.calls.append((kind, len(texts)))
        out = []
        for text in texts:
            if self.delay:
                time.sleep(self.delay)
            # A TL;DR shorter than the summary it comes from, so it is not a near-copy of it
            # (an entry never says one sentence twice; digest.repeats).
            words = 4 if kind == "tldr" else 8
            out.append(f"{kind}: {' '.join(text.split()[:words])}")
            if progress:
                progress(1)
        log_file = os.environ.get("FAKE_ENGINE_CALLS")
        if log_file:
            # Written when the batch is done, so a test can tell how far a run has got.
            with open(log_file, "a", encoding="utf-8") as handle:
                handle.write(f"{kind} {len(texts)}\n")
        hold = os.environ.get("FAKE_ENGINE_HOLD")
        deadline = time.monotonic() + 120
        while hold and os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.05)
        return out


RUNNER = os.path.abspath(__file__)
_WORDS = (
    "council harbour budget river school orchestra winter railway garden museum library "
    "festival bridge market hospital station"
).split()


def write_articles(folder: Any, count: int, *, start: int = 0) -> list[Any]:
    """`count` plain-text articles of about 120 words each, different from one another."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(start, start + count):
        sentences = [
            f"The {_WORDS[(n + i) % len(_WORDS)]} report number {n} adds point {i} to the "
            f"story of the {_WORDS[(n * 3 + i) % len(_WORDS)]} and its neighbours."
            for i in range(8)
        ]
        path = folder / f"article-{n:03d}.txt"
        path.write_text(f"Story {n}\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def runner_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess run: this one, minus anything that steers digest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "FAKE_ENGINE"))}
    env.update(extra)
    return env


_built = 0


def _install() -> None:
    import digest.executing

    real = digest.executing.get_engine
    mode = os.environ.get("FAKE_ENGINE", "fake")

    def get_engine(name: str, *, model: str | None = None, **kwargs: Any) -> Any:
        global _built
        if os.environ.get("FAKE_ENGINE_FORBID") == "1":
            raise AssertionError(f"engine {name!r} built in a run that should be fully cached")
        _built += 1
        if mode == "real":
            return real(name, model=model, **kwargs)
        delay = float(os.environ.get("FAKE_ENGINE_DELAY", "0"))
        return FakeSummariser(name, model if name != "extractive" else None, delay=delay)

    digest.executing.get_engine = get_engine


def _report() -> None:
    path = os.environ.get("FAKE_ENGINE_REPORT")
    if path:
        report = {
            "torch": "torch" in sys.modules,
            "transformers": "transformers" in sys.modules,
            "engines_built": _built,
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle)


def main(argv: list[str]) -> int:
    _install()
    from digest.cli import app

    try:
        app(args=argv, prog_name="digest", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        _report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
