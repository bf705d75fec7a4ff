"""digest.toml: defaults for `make`, with precedence command line > DIGEST_* > file > built-in."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import digest.publishing
from digest.cli import app
from digest.pipeline import Options
from digest.publishing import Published, PublishOptions
from digest.state import Since

runner = CliRunner()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """What `make` resolved its options to: the library's publish() is replaced by a recorder."""
    record: dict[str, Any] = {}

    def fake_publish(
        sources: list[Path], options: Options, publishing: PublishOptions, **_: Any
    ) -> Published:
        record.clear()
        record.update(
            sources=list(sources),
            engine=options.engine,
            model=options.model,
            date=options.date,
            max_bytes=options.max_bytes,
            cache=options.cache,
            out=publishing.out,
            formats=publishing.formats,
            written_formats=publishing.written_formats,
            since=publishing.since,
            skip_empty=publishing.skip_empty,
            wait=publishing.wait,
            mail=publishing.mail,
        )
        return Published()

    monkeypatch.setattr(digest.publishing, "publish", fake_publish)
    monkeypatch.chdir(tmp_path)
    for name in (
        "DIGEST_ENGINE",
        "DIGEST_MODEL",
        "DIGEST_CONFIG",
        "DIGEST_SINCE",
        "DIGEST_EMAIL_TO",
        "DIGEST_EMAIL_FROM",
        "DIGEST_SMTP_HOST",
        "DIGEST_CACHE_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    return record


def invoke(*args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env=env or None)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_cli_then_environment_then_file_then_default(
    seen: dict[str, Any], tmp_path: Path
) -> None:
    assert invoke("make", "x").exit_code == 0
    assert seen["engine"] == "auto"
    write(tmp_path / "digest.toml", 'engine = "extractive"\n')
    assert invoke("make", "x").exit_code == 0
    assert seen["engine"] == "extractive"
    assert invoke("make", "x", DIGEST_ENGINE="seq2seq").exit_code == 0
    assert seen["engine"] == "seq2seq"
    result = invoke("make", "x", "--engine", "auto", DIGEST_ENGINE="seq2seq")
    assert result.exit_code == 0, result.output
    assert seen["engine"] == "auto"


def test_every_documented_key(seen: dict[str, Any], tmp_path: Path) -> None:
    write(
        tmp_path / "conf" / "nightly.toml",
        """
sources = ["articles", "/srv/feeds"]
out = "digests"
engine = "seq2seq"
model = "fast"
formats = ["md", "json"]
since = "last"
skip-empty = true
wait = 30
cache_dir = "~/digest-cache"
no_cache = false
max_size = "1MB"
quiet = true
""",
    )
    result = invoke("--config", "conf/nightly.toml", "make")
    assert result.exit_code == 0, result.output
    conf = tmp_path / "conf"
    # Paths in the file are relative to the file, not to wherever digest is started.
    assert seen["sources"] == [conf / "articles", Path("/srv/feeds")]
    assert seen["out"] == conf / "digests"
    assert (seen["engine"], seen["model"], seen["formats"]) == ("seq2seq", "fast", ("md", "json"))
    assert (seen["since"], seen["skip_empty"], seen["wait"]) == (Since(last=True), True, 30.0)
    assert seen["cache"] == Path.home() / "digest-cache" / "summaries.sqlite3"
    assert seen["max_bytes"] == 1_000_000


def test_command_line_sources_replace_the_files(seen: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "digest.toml", 'sources = ["a", "b"]\n')
    assert invoke("make", "c").exit_code == 0
    assert seen["sources"] == [Path("c")]


def test_feed_urls_in_the_file_stay_urls(seen: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "conf" / "digest.toml", 'sources = ["https://e.org/feed.xml", "news"]\n')
    assert invoke("--config", "conf/digest.toml", "make").exit_code == 0
    assert seen["sources"] == ["https://e.org/feed.xml", tmp_path / "conf" / "news"]


def test_toml_dates_and_since(seen: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "digest.toml", "since = 2026-11-01\ndate = 2026-11-24\n")
    assert invoke("make", "x").exit_code == 0
    assert seen["since"].cutoff == datetime.datetime(2026, 11, 1).astimezone()
    assert str(seen["date"]) == "2026-11-24"


def test_config_from_environment_and_explicit_beats_the_working_folder(
    seen: dict[str, Any], tmp_path: Path
) -> None:
    write(tmp_path / "digest.toml", 'engine = "extractive"\n')
    other = write(tmp_path / "elsewhere.toml", 'engine = "seq2seq"\n')
    assert invoke("make", "x", DIGEST_CONFIG=str(other)).exit_code == 0
    assert seen["engine"] == "seq2seq"
    assert invoke("--config", str(other), "make", "x").exit_code == 0
    assert seen["engine"] == "seq2seq"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "blue"\n', "unknown key 'colour'"),
        ("[email]\nto = 'me@example.org'\n", "unknown key 'email'"),
        ('engine = "extractive"\nengine = "auto"\n', "not valid TOML"),
        ("out = [\n", "not valid TOML"),
        ('at = "06:30"\n', "unknown key 'at'"),
    ],
)
def test_mistakes_in_the_file_are_usage_errors(
    seen: dict[str, Any], tmp_path: Path, text: str, message: str
) -> None:
    config = write(tmp_path / "digest.toml", text)
    result = invoke("make", "x")
    assert result.exit_code == 2
    assert message in result.output and str(config) in result.output
    assert seen == {}


def test_missing_config_file_is_a_usage_error(seen: dict[str, Any]) -> None:
    result = invoke("--config", "nope.toml", "make", "x")
    assert result.exit_code == 2 and "no such file: nope.toml" in result.output


def _make_params() -> set[str]:
    command = typer.main.get_command(app).commands["make"]  # type: ignore[attr-defined]
    return {p.name for p in command.params}


def test_email_keys_reach_the_email_options(seen: dict[str, Any], tmp_path: Path) -> None:
    write(
        tmp_path / "digest.toml",
        'email_to = "to@example.org"\nemail_from = "from@example.org"\n'
        'smtp_host = "mail.example.org"\nsmtp_security = "starttls"\n',
    )
    result = invoke("make", "x")
    assert result.exit_code == 0, result.output
    mail = seen["mail"]
    assert [str(a) for a in mail.recipients] == ["to@example.org"]
    assert str(mail.sender) == "from@example.org"
    assert (mail.settings.host, mail.settings.security, mail.settings.port) == (
        "mail.example.org",
        "starttls",
        587,
    )
    assert "eml" in seen["written_formats"]  # sending implies the .eml (the library says so)


def test_unknown_key_in_a_real_process(tmp_path: Path) -> None:
    write(tmp_path / "digest.toml", 'engine = "extractive"\nspeed = "ludicrous"\n')
    result = subprocess.run(
        [sys.executable, "-m", "digest", "make", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("digest: error: ") and "unknown key 'speed'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
