"""stderr presentation: a bar on a terminal, timestamped plain lines for cron."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli import app
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


def test_a_handler_someone_attached_survives_the_command_line(tmp_path: Path) -> None:
    """A Python caller that listens on the digest logger keeps hearing it after `digest make`
    ran in the same process; repeated runs add no second stderr handler."""
    logger = logging.getLogger("digest")
    mine = logging.Handler()
    logger.addHandler(mine)
    configure_logging(0, io.StringIO())
    configure_logging(-1, io.StringIO())
    assert mine in logger.handlers
    assert len([h for h in logger.handlers if h.get_name() == "digest.console"]) == 1


def test_caplog_hears_the_digest_logger_after_an_in_process_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In-process CLI runs switch the digest logger's propagation off: the records of the run
    itself, and of anything after it in the same test, must still be captured."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["make", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", "--no-cache"]
    )
    assert result.exit_code == 3, result.output
    assert any(
        "skipped" in r.getMessage() and "empty file" in r.getMessage() for r in caplog.records
    )
    logging.getLogger("digest.render").warning("a warning after the run")
    assert "a warning after the run" in caplog.text
