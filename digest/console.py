"""What the CLI shows on stderr: a progress bar on a terminal, timestamped log lines off one."""

from __future__ import annotations

import logging
import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

STAGE_LABELS = {
    "read": "Reading",
    "feeds": "Fetching feeds and pages",
    "fetch": "Fetching articles",
    "sections": "Summarising sections",
    "articles": "Summarising articles",
}


def configure_logging(verbosity: int, stream: TextIO | None = None) -> None:
    """-q → warnings only, default → info, -v → debug. Off a terminal every line is timestamped
    (cron mails stderr, and a dated line is what you want in that mail or a log file)."""
    stream = stream or sys.stderr
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(stream)
    if stream.isatty():
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        )
    if verbosity < 0 or not stream.isatty():
        # Hugging Face draws its own tqdm bars ("Loading weights", downloads) straight to
        # stderr; cron mail and -q want none of them. Set before transformers is imported.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    root = logging.getLogger("digest")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # Libraries we call are chatty at INFO; their warnings still come through.
    for noisy in ("trafilatura", "htmldate", "transformers", "huggingface_hub", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class ProgressReporter:
    """A `pipeline.Progress` callback: a bar on a TTY, a log line per finished stage elsewhere."""

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = enabled and self.stream.isatty()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._log = logging.getLogger("digest.progress")
        self._quiet = not enabled

    def __enter__(self) -> ProgressReporter:
        if self.bar:
            # Imported here so non-interactive runs never pay for rich's import.
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            progress.start()
            self._progress = progress
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        label = STAGE_LABELS.get(stage, stage)
        if self._progress is not None:
            if stage not in self._tasks:
                self._tasks[stage] = self._progress.add_task(label, total=total)
            self._progress.update(self._tasks[stage], completed=done, total=total)
        elif done == total and not self._quiet:
            self._log.info("%s: %d/%d done", label, done, total)
