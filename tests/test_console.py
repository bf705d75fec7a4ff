"""stderr presentation: a bar on a terminal, timestamped plain lines for cron."""

from __future__ import annotations

import io
import logging
import re

from digest.console import ProgressReporter, configure_logging


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal() -> None:
    stream = FakeTerminal()
    with ProgressReporter(enabled=True, stream=stream) as progress:
        for done in range(1, 4):
            progress("sections", done, 3)
    assert "Summarising sections" in stream.getvalue()


def test_plain_log_line_per_stage_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(0, stream)
    with ProgressReporter(enabled=True, stream=stream) as progress:
        for done in range(1, 4):
            progress("read", done, 3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO Reading: 3/3 done", lines[0])
    assert "\x1b[" not in stream.getvalue()


def test_quiet_shows_warnings_only() -> None:
    stream = io.StringIO()
    configure_logging(-1, stream)
    logging.getLogger("digest.pipeline").info("hidden")
    logging.getLogger("digest.pipeline").warning("skipped x: empty file")
    assert (
        stream.getvalue().count("\n") == 1 and "WARNING skipped x: empty file" in stream.getvalue()
    )
