"""`digest schedule`: the printed crontab line really runs in cron's bare environment, and
--install/--remove edit the crontab idempotently.

The user's real crontab is never touched: a fake `crontab` script placed first on PATH keeps
"the crontab" in a file ($FAKE_CRONTAB), speaking the same `-l` / `-` protocol as cron's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from fake_engine import write_articles

from digest.errors import UsageError
from digest.schedule import parse_at, tag_for

DIGEST = Path(sys.executable).parent / "digest"

FAKE_CRONTAB = """#!/bin/sh
# Test double for crontab(1): "the user's crontab" is the file $FAKE_CRONTAB.
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"
      else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB" ;;
  *) echo "fake crontab: unsupported: $*" >&2; exit 2 ;;
esac
"""

LINE = re.compile(r"^(\d+) (\d+) \* \* \* (?P<command>.+) # (?P<tag>digest:[0-9a-f]{12})$")


@pytest.mark.parametrize(
    ("text", "expected"), [("06:30", (6, 30)), ("6:05", (6, 5)), ("23:59", (23, 59))]
)
def test_parse_at(text: str, expected: tuple[int, int]) -> None:
    assert parse_at(text) == expected


@pytest.mark.parametrize("text", ["24:00", "6:3", "0630", "noon", ""])
def test_parse_at_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--at"):
        parse_at(text)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A working folder with articles, a bin/ holding the fake crontab, and no real crontab."""
    if not DIGEST.is_file():
        pytest.skip(f"no installed digest script at {DIGEST}")
    write_articles(tmp_path / "in", 3)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "crontab").write_text(FAKE_CRONTAB)
    (bin_ / "crontab").chmod(0o755)
    return tmp_path


def digest(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `digest` script, as a user would run it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environ["PATH"] = f"{cwd / 'bin'}:{environ.get('PATH', '')}"
    environ["FAKE_CRONTAB"] = str(cwd / "crontab.txt")
    environ.update(env)
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def cron_run(line: str) -> subprocess.CompletedProcess[str]:
    """What cron does with a line: the command, with `\\%` unescaped, via /bin/sh in an empty
    environment (cron adds only HOME, LOGNAME, SHELL and PATH=/usr/bin:/bin)."""
    match = LINE.match(line)
    assert match, line
    command = match.group("command").replace(r"\%", "%")
    return subprocess.run(
        ["env", "-i", "/bin/sh", "-c", command],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_printed_line_runs_in_crons_bare_environment(home: Path) -> None:
    result = digest(
        home, "schedule", "in", "--at", "06:30", "-o", "out", "-e", "extractive",
        "--cache-dir", "cache", "--date", "2026-11-24",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    match = LINE.match(line)
    assert match and match.group(1, 2) == ("30", "6"), line
    command = match.group("command")
    assert match.group("tag") == tag_for(home / "out")
    assert "LANG=C.UTF-8" in command and "HF_HUB_OFFLINE=1" in command
    argv = shlex.split(command.split(" && ")[-1].split(" >> ")[0])
    assert argv[argv.index("make") - 1] == str(DIGEST)
    for relative in ("in", "out", "cache"):
        assert str(home / relative) in argv, f"{relative} was not made absolute: {argv}"
    assert "--quiet" in argv

    ran = cron_run(line)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")
    written = home / "out" / "digest-2026-11-24.md"
    assert written.is_file() and "3 articles" in written.read_text(encoding="utf-8")
    # -q: the log holds the path written and nothing else on a good night.
    assert (home / "out" / "digest.log").read_text() == f"{written}\n"
    assert (home / "cache" / "summaries.sqlite3").is_file()


def test_config_file_travels_with_the_line(home: Path) -> None:
    (home / "digest.toml").write_text(
        'sources = ["in"]\nout = "nightly"\nengine = "extractive"\nformats = ["md", "json"]\n'
        'since = "last"\ncache_dir = "cache"\n',
        encoding="utf-8",
    )
    result = digest(home, "schedule", "--at", "21:15")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert f"--config {home / 'digest.toml'}" in line and line.startswith("15 21 ")
    assert f"--out {home / 'nightly'}" in line
    ran = cron_run(line)
    assert ran.returncode == 0, (home / "nightly" / "digest.log").read_text()
    assert len(list((home / "nightly").glob("digest-*.json"))) == 1


def test_install_replace_and_remove(home: Path) -> None:
    crontab = home / "crontab.txt"
    crontab.write_text("MAILTO=me@example.org\n0 1 * * * /usr/bin/backup\n")
    args = ("schedule", "in", "-o", "out", "-e", "extractive", "--install")
    first = digest(home, *args, "--at", "06:30")
    assert first.returncode == 0, first.stderr
    assert "added a line" in first.stderr
    again = digest(home, *args, "--at", "07:45")
    assert again.returncode == 0 and "replaced the line" in again.stderr
    other = digest(home, "schedule", "in", "-o", "other", "--at", "05:00", "--install")
    assert other.returncode == 0, other.stderr

    lines = crontab.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.org", "0 1 * * * /usr/bin/backup"]
    assert [line.split()[:2] for line in lines[2:]] == [["45", "7"], ["0", "5"]]
    assert lines[2] == again.stdout.strip()

    removed = digest(home, "schedule", "-o", "out", "--remove")
    assert removed.returncode == 0 and "removed 1 line" in removed.stderr
    assert crontab.read_text().splitlines() == [*lines[:2], lines[3]]
    none_left = digest(home, "schedule", "-o", "out", "--remove")
    assert none_left.returncode == 0 and "removed 0 line" in none_left.stderr


def test_install_into_an_empty_crontab(home: Path) -> None:
    result = digest(home, "schedule", "in", "--at", "06:30", "--install")
    assert result.returncode == 0, result.stderr
    assert (home / "crontab.txt").read_text() == result.stdout


def test_without_a_crontab_command_install_fails_cleanly(home: Path) -> None:
    (home / "bin" / "crontab").unlink()
    result = digest(home, "schedule", "in", "--at", "06:30", "--install", PATH=str(home / "bin"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("digest: error: the crontab command")


def test_environment_cron_will_not_see_is_pointed_out(home: Path) -> None:
    result = digest(home, "schedule", "in", "--at", "06:30", DIGEST_ENGINE="extractive")
    assert result.returncode == 0
    assert "cron will not see DIGEST_ENGINE" in result.stderr
    assert "extractive" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("in", "--at", "25:00"),
        ("--at", "06:30"),
        ("in",),
        ("in", "--at", "06:30", "--engine", "nonsense"),
        ("in", "--at", "06:30", "--since", "whenever"),
        ("in", "--at", "06:30", "-f", "html", "--site-url", "javascript:alert(1)"),
        ("in", "--at", "06:30", "--no-such-option"),
    ],
)
def test_mistakes_are_caught_now_not_at_night(home: Path, args: tuple[str, ...]) -> None:
    result = digest(home, "schedule", *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


def test_every_path_in_the_line_is_quoted_for_the_shell(home: Path) -> None:
    """A virtualenv (and sources, output and log) under folders with a space, a quote and a $:
    the line still runs in cron's bare /bin/sh, and nothing in it is expanded."""
    odd = home / "it's $HOME and `x` 100%"
    venv_bin = odd / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    script = venv_bin / "digest"
    script.write_bytes(DIGEST.read_bytes())  # its #! names the real interpreter
    script.chmod(0o755)
    write_articles(odd / "in", 2)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environ["PATH"] = f"{home / 'bin'}:{environ.get('PATH', '')}"
    result = subprocess.run(
        [str(script), "schedule", str(odd / "in"), "--at", "05:00", "-o", str(odd / "out"),
         "-e", "extractive", "--cache-dir", str(odd / "cache"), "--date", "2026-11-24"],
        cwd=odd, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    ran = cron_run(line)
    assert (ran.returncode, ran.stderr) == (0, ""), (odd / "out" / "digest.log").read_text()
    words = shlex.split(LINE.match(line).group("command").replace(r"\%", "%"))  # type: ignore[union-attr]
    assert f"PATH={venv_bin}:/usr/bin:/bin" in words, words
    written = odd / "out" / "digest-2026-11-24.md"
    assert (odd / "out" / "digest.log").read_text() == f"{written}\n"
    assert not (home / "out").exists() and not (Path("/") / "out").exists()
