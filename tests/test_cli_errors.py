"""The README's promises about failure: one line on stderr, the documented exit code, and
nothing half-done on disk, whatever went wrong and whether DIGEST_DEBUG is set."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_engine import runner_env, write_articles
from typer.testing import CliRunner

from digest import cli
from digest.locking import output_lock

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "DIGEST_DEBUG",
        "DIGEST_CONFIG",
        "DIGEST_WAIT",
        "DIGEST_EMAIL_TO",
        "DIGEST_ENGINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def make(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> object:
    write_articles(tmp_path / "src", 2)
    # -q: only warnings and errors on stderr, so the error line is all there is.
    args = ["make", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "-e", "extractive", "-q"]
    return runner.invoke(cli.app, [*args, "--no-cache", "--date", "2026-11-24", *extra], env=env)


def assert_one_line(result: object, code: int) -> str:
    """The run exited with `code`, printed nothing on stdout and one error line on stderr."""
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("digest: error: "), lines
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--wait", "soon"), ["--wait", "valid"]),
        (("--verbose=3",), ["--verbose"]),
        (("--bogus",), ["--bogus"]),
        (("--smtp-port", "twenty-five"), ["--smtp-port"]),
        (("-f", "pdf"), ["unknown format pdf"]),
        (("--max-size", "lots"), ["--max-size", "lots"]),
        (("--date", "tomorrow"), ["--date"]),
        (("--engine", "magic"), ["unknown engine"]),
        (("--since", "a while"), ["--since"]),
        (("-g", "beams"), ["beams"]),
    ],
)
def test_bad_option_values_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], words: list[str]
) -> None:
    line = assert_one_line(make(tmp_path, *args), 2)
    assert all(w in line for w in words), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        # The key as the file spells it, with its value: not the flag or its variable.
        ('wait = "soon"\n', ["wait = 'soon': "]),
        ('skip-empty = "maybe"\n', ["skip-empty = 'maybe': "]),
        ('verbose = "lots"\n', ["verbose = 'lots': "]),
        ("sources = 5\n", ["sources"]),
        ("formats = { md = true }\n", ["formats", "not a table"]),
    ],
)
def test_wrongly_typed_config_values_name_the_file_and_exit_2(
    tmp_path: Path, toml: str, words: list[str]
) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(toml, encoding="utf-8")
    write_articles(tmp_path / "src", 1)
    extra = [] if toml.startswith("sources") else [str(tmp_path / "src")]
    result = runner.invoke(cli.app, ["make", *extra, "-o", str(tmp_path / "out")])
    line = assert_one_line(result, 2)
    assert str(config) in line and all(w in line for w in words), line


def test_a_bad_option_value_in_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "digest", "make", "x", "--wait", "soon"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=runner_env(),
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("digest: error: Invalid value for '--wait'")
    assert len(result.stderr.splitlines()) == 1


def test_a_broken_template_leaves_no_format_behind(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email.html.j2").write_text("{{ digest.nothing.here }}", encoding="utf-8")
    result = make(tmp_path, "-f", "md,json,eml", "--templates", str(templates))
    assert_one_line(result, 1)
    assert not list((tmp_path / "out").glob("digest-*")), "exit 1 promises nothing written"


def test_a_missing_source_is_reported_before_the_output_folder_exists(tmp_path: Path) -> None:
    write_articles(tmp_path / "src", 1)
    result = runner.invoke(
        cli.app, ["make", str(tmp_path / "src"), "missing", "-o", str(tmp_path / "out")]
    )
    line = assert_one_line(result, 2)
    assert "no such file or folder: missing" in line
    assert not (tmp_path / "out").exists()


def debug_run(tmp_path: Path, *extra: str) -> object:
    return make(tmp_path, *extra, env={"DIGEST_DEBUG": "1"})


def assert_traceback_then_line(result: object, code: int, *, traceback: bool = True) -> str:
    """DIGEST_DEBUG adds the traceback; the exit code and the last line stay as documented."""
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert ("Traceback (most recent call last)" in stderr) is traceback, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("digest: error: "), stderr
    return str(last)


def test_debug_keeps_exit_2_for_usage_errors(tmp_path: Path) -> None:
    assert "unknown format" in assert_traceback_then_line(debug_run(tmp_path, "-f", "pdf"), 2)
    assert "--wait" in assert_traceback_then_line(debug_run(tmp_path, "--wait", "soon"), 2)


def test_debug_keeps_exit_4_for_a_locked_folder(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out"):
        result = debug_run(tmp_path, "--wait", "0")
    assert "still writing" in assert_traceback_then_line(result, 4)


def test_without_debug_a_locked_folder_is_one_line_and_exit_4(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out"):
        assert "still writing" in assert_one_line(make(tmp_path, "--wait", "0"), 4)


def test_debug_keeps_exit_5_for_a_failed_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")
    from loopback_smtp import HOST, free_port

    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    port = str(free_port())  # nothing listens there
    result = debug_run(
        tmp_path, "--email-to", "a@example.org", "--smtp-host", HOST, "--smtp-port", port
    )
    # The delivery error is returned, not raised, once the files are written: no traceback.
    assert "kept" in assert_traceback_then_line(result, 5, traceback=False)
    assert (tmp_path / "out" / "digest-2026-11-24.eml").exists()


def test_ctrl_c_is_exit_1_with_one_line_and_nothing_written(tmp_path: Path) -> None:
    """README: exit 1 for a failed run, Ctrl-C included (typer's own code would be 130)."""
    from fake_engine import RUNNER

    write_articles(tmp_path / "in", 6)
    calls = tmp_path / "calls.txt"
    proc = subprocess.Popen(
        [sys.executable, RUNNER, "make", "in", "-o", "out", "--no-cache", "-q"],
        cwd=tmp_path,
        env=runner_env(FAKE_ENGINE_DELAY="0.5", FAKE_ENGINE_CALLS=str(calls)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not calls.exists() and proc.poll() is None:
        time.sleep(0.05)  # until the engine has finished its first batch: mid-run
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (1, "")
    assert err.strip().splitlines() == ["digest: error: interrupted"]
    assert not list((tmp_path / "out").glob("digest-*"))


def test_the_readme_documents_every_exit_code_the_code_uses() -> None:
    import re

    from digest import errors

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d) \|", table, flags=re.M)}
    assert documented == {0, 1, 2, 3, 4, 5}
    used = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DigestError)
    }
    assert used | {0, 3} <= documented  # 0 and 3 come from Published.exit_code
    assert "Errors are one line on stderr (`digest: error: …`)" in readme
