"""What's new: --since last (content changed since the folder's last digest), ages and dates."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_engine import RUNNER, runner_env, write_articles

from digest.errors import UsageError
from digest.state import STATE_FILENAME, parse_since

NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("text", "cutoff"),
    [
        ("24h", NOW - dt.timedelta(hours=24)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        ("1.5h", NOW - dt.timedelta(minutes=90)),
        ("2026-11-01T06:00+00:00", dt.datetime(2026, 11, 1, 6, tzinfo=dt.timezone.utc)),
    ],
)
def test_ages_and_times(text: str, cutoff: dt.datetime) -> None:
    since = parse_since(text, now=NOW)
    assert since is not None and since.cutoff == cutoff and not since.last


def test_a_bare_date_is_local_midnight() -> None:
    since = parse_since("2026-11-01")
    assert since is not None and since.cutoff is not None
    assert since.cutoff == dt.datetime(2026, 11, 1).astimezone()


@pytest.mark.parametrize("text", ["last", "LAST", " last "])
def test_last(text: str) -> None:
    assert parse_since(text) is not None and parse_since(text).last  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_rule(text: str | None) -> None:
    assert parse_since(text) is None


@pytest.mark.parametrize("text", ["yesterday", "24", "24x", "2026-13-01", "-3d"])
def test_nonsense_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_since(text)


# --- through the command, in real processes ---------------------------------------------------


def make(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RUNNER, "make", "in", "-o", "out", "--no-cache", "-q", *args],
        cwd=cwd,
        env=runner_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def titles(path: Path) -> list[str]:
    return [a["title"] for a in json.loads(path.read_text(encoding="utf-8"))["documents"]]


def test_since_last_takes_new_and_changed_documents_only(tmp_path: Path) -> None:
    paths = write_articles(tmp_path / "in", 3)
    first = make(tmp_path, "--since", "last", "--date", "2026-11-01", "-f", "json")
    assert first.returncode == 0, first.stderr
    assert titles(tmp_path / "out/digest-2026-11-01.json") == ["Story 0", "Story 1", "Story 2"]

    paths[1].write_text(paths[1].read_text().replace("Story 1", "Story 1, revised"))
    os.utime(paths[2], None)  # touched, same content: not new
    write_articles(tmp_path / "in", 1, start=7)
    second = make(tmp_path, "--since", "last", "--date", "2026-11-02", "-f", "json")
    assert second.returncode == 0, second.stderr
    assert titles(tmp_path / "out/digest-2026-11-02.json") == ["Story 1, revised", "Story 7"]

    third = make(tmp_path, "--since", "last", "--date", "2026-11-03")
    assert third.returncode == 0 and third.stderr == ""
    text = (tmp_path / "out/digest-2026-11-03.md").read_text(encoding="utf-8")
    assert "0 articles" in text and "Nothing to summarise this time." in text

    fourth = make(tmp_path, "--since", "last", "--date", "2026-11-04", "--skip-empty")
    assert (fourth.returncode, fourth.stdout, fourth.stderr) == (0, "", "")
    assert not (tmp_path / "out/digest-2026-11-04.md").exists()


def test_a_run_without_since_counts_as_the_last_digest(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    assert make(tmp_path, "--date", "2026-11-01").returncode == 0
    state = json.loads((tmp_path / "out" / STATE_FILENAME).read_text(encoding="utf-8"))
    assert sorted(Path(p).name for p in state["files"]) == ["article-000.txt", "article-001.txt"]
    result = make(tmp_path, "--since", "last", "--date", "2026-11-02", "--skip-empty")
    assert result.returncode == 0 and result.stdout == ""


def test_nothing_new_keeps_the_same_days_digest(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    assert make(tmp_path, "--since", "last", "--date", "2026-11-01").returncode == 0
    morning = (tmp_path / "out/digest-2026-11-01.md").read_bytes()
    again = make(tmp_path, "--since", "last", "--date", "2026-11-01")
    assert (again.returncode, again.stdout) == (0, "")
    assert (tmp_path / "out/digest-2026-11-01.md").read_bytes() == morning


def test_new_documents_later_the_same_day_get_their_own_digest(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    assert (
        make(tmp_path, "--since", "last", "--date", "2026-11-01", "-f", "md,json").returncode == 0
    )
    morning = (tmp_path / "out/digest-2026-11-01.json").read_bytes()
    write_articles(tmp_path / "in", 1, start=5)
    again = make(tmp_path, "--since", "last", "--date", "2026-11-01", "-f", "md,json")
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["out/digest-2026-11-01-2.md", "out/digest-2026-11-01-2.json"]
    assert (tmp_path / "out/digest-2026-11-01.json").read_bytes() == morning
    assert titles(tmp_path / "out/digest-2026-11-01-2.json") == ["Story 5"]
    # Without --since a digest is the whole picture, so it replaces the day's file.
    full = make(tmp_path, "--date", "2026-11-01", "-f", "json")
    assert full.stdout.split() == ["out/digest-2026-11-01.json"]
    assert titles(tmp_path / "out/digest-2026-11-01.json") == ["Story 0", "Story 1", "Story 5"]


def test_a_failed_run_leaves_the_documents_new(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    assert make(tmp_path, "--since", "last", "--date", "2026-11-01").returncode == 0
    state_before = (tmp_path / "out" / STATE_FILENAME).read_bytes()
    write_articles(tmp_path / "in", 1, start=5)
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "digest.md.j2").write_text("{{ no_such_variable.attribute }}", encoding="utf-8")
    failed = make(tmp_path, "--since", "last", "--date", "2026-11-02", "--templates", "templates")
    # README: exit 1, "failed: nothing was written (a broken template, …)".
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout == "" and not (tmp_path / "out/digest-2026-11-02.md").exists()
    assert (tmp_path / "out" / STATE_FILENAME).read_bytes() == state_before
    retried = make(tmp_path, "--since", "last", "--date", "2026-11-02", "-f", "json")
    assert retried.returncode == 0, retried.stderr
    assert titles(tmp_path / "out/digest-2026-11-02.json") == ["Story 5"]


def test_unreadable_state_means_everything_is_new(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / STATE_FILENAME).write_text("{not json", encoding="utf-8")
    result = make(tmp_path, "--since", "last", "-f", "json", "--date", "2026-11-01")
    assert result.returncode == 0
    assert "every document counts as new" in result.stderr
    assert titles(tmp_path / "out/digest-2026-11-01.json") == ["Story 0", "Story 1"]


def test_ages_and_dates_select_by_modification_time(tmp_path: Path) -> None:
    old, recent = write_articles(tmp_path / "in", 2)
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    result = make(tmp_path, "--since", "24h", "-f", "json", "--date", "2026-11-01")
    assert result.returncode == 0, result.stderr
    assert titles(tmp_path / "out/digest-2026-11-01.json") == ["Story 1"]

    four_days_ago = (dt.date.today() - dt.timedelta(days=4)).isoformat()
    result = make(tmp_path, "--since", four_days_ago, "-f", "json", "--date", "2026-11-02")
    assert result.returncode == 0, result.stderr
    assert titles(tmp_path / "out/digest-2026-11-02.json") == ["Story 0", "Story 1"]
    assert make(tmp_path, "--since", "soon").returncode == 2
