"""What a new user trips over first: --config after the command, digest.toml mistakes named as
written, settings that cannot take effect refused, schedule offline, and what prune freed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_engine import write_articles
from typer.testing import CliRunner

from digest import cli
from digest.cli_errors import config_first
from digest.engines.settings import check_model_path
from digest.errors import UsageError
from digest.pipeline import Options, make_digest

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with two articles in in/ and no DIGEST_* settings."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DIGEST_"):
            monkeypatch.delenv(name)
    write_articles(tmp_path / "in", 2)
    return tmp_path


def one_error_line(result: object) -> str:
    (line,) = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert line.startswith("digest: error: "), line
    return line


# -- --config after the command


@pytest.mark.parametrize(
    "args",
    [
        ["make", "in", "--config", "conf/settings.toml"],
        ["make", "--config=conf/settings.toml", "in"],
        ["--config", "conf/settings.toml", "make", "in"],
    ],
)
def test_config_is_accepted_after_the_command_too(folder: Path, args: list[str]) -> None:
    (folder / "conf").mkdir()
    (folder / "conf" / "settings.toml").write_text('engine = "extractive"\nout = "../made"\n')
    result = runner.invoke(cli.app, [*args, "-q", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert len(list((folder / "made").glob("digest-*.md"))) == 1


def test_only_the_config_option_moves_and_nothing_after_a_double_dash() -> None:
    assert config_first(["make", "in", "--config", "f.toml", "-o", "x"]) == [
        "--config", "f.toml", "make", "in", "-o", "x"
    ]  # fmt: skip
    assert config_first(["--version"]) == ["--version"]
    assert config_first(["make", "--", "--config", "f"]) == ["make", "--", "--config", "f"]
    assert config_first(["--config", "a.toml", "make", "--config=b.toml"]) == [
        "--config", "a.toml", "--config=b.toml", "make"
    ]  # fmt: skip


# -- digest.toml mistakes, named as the file spells them


def test_an_unknown_key_suggests_the_key_meant(folder: Path) -> None:
    (folder / "digest.toml").write_text('emial-to = "me@example.org"\n')
    result = runner.invoke(cli.app, ["make", "in"])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.endswith(
        "digest.toml: unknown key 'emial-to'; did you mean 'email_to' or 'email_from'?"
    )


def test_an_unknown_key_far_from_any_lists_the_keys_as_users_write_them(folder: Path) -> None:
    (folder / "digest.toml").write_text("zzz = 1\n")
    line = one_error_line(runner.invoke(cli.app, ["make", "in"]))
    assert "unknown key 'zzz'; keys are the long option names: " in line
    keys = line.split("names: ")[1].split(", ")
    assert {"cache_dir", "email_to", "sources", "json", "from"} <= set(keys)
    # Internal parameter names are not keys anyone would write.
    assert not {"as_json", "pairs", "file", "sender", "help", "config"} & set(keys)


def test_a_bad_value_in_the_file_blames_the_file_and_key_not_an_environment_variable(
    folder: Path,
) -> None:
    (folder / "digest.toml").write_text('engine = "extractive"\nwait = "soon"\n')
    result = runner.invoke(cli.app, ["make", "in"])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"digest: error: {folder / 'digest.toml'}: wait = 'soon': "), line
    assert "DIGEST_WAIT" not in line and "--wait" not in line
    # Spelt with a dash in the file: named with the dash.
    (folder / "digest.toml").write_text("max-entries = 0\n")
    line = one_error_line(runner.invoke(cli.app, ["make", "in"]))
    assert f"{folder / 'digest.toml'}: max-entries = 0: " in line
    # From the environment, the variable is what is to blame.
    (folder / "digest.toml").unlink()
    result = runner.invoke(cli.app, ["make", "in"], env={"DIGEST_WAIT": "soon"})
    assert result.exit_code == 2 and "DIGEST_WAIT" in one_error_line(result)


@pytest.mark.parametrize(
    ("setting", "told"),
    [
        ('engine = "nonsense"', "unknown engine"),
        ('order = "alpha"', "unknown order"),
        ('guard = "maybe"', "fix, flag, off"),
        ('backend = "gpu"', "unknown backend"),
        ('executor = "dask"', "unknown executor"),
    ],
)
def test_a_value_the_library_refuses_blames_the_file_and_key(
    folder: Path, setting: str, told: str
) -> None:
    (folder / "digest.toml").write_text(setting + "\n")
    result = runner.invoke(cli.app, ["make", "in"])
    assert result.exit_code == 2
    line = one_error_line(result)
    key, value = setting.replace('"', "'").split(" = ")
    assert line.startswith(f"digest: error: {folder / 'digest.toml'}: {key} = {value}: "), line
    assert told in line


# -- settings that cannot take effect


def test_decoding_settings_with_the_extractive_engine_are_refused(folder: Path) -> None:
    result = runner.invoke(cli.app, ["make", "in", "-e", "extractive", "-g", "num_beams=2"])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "--generate (num_beams)" in line and "extractive" in line
    assert not (folder / "outputs").exists()
    with pytest.raises(UsageError, match="--generate"):
        make_digest([folder / "in"], Options(engine="extractive", generate={"num_beams": 2}))


@pytest.mark.parametrize("engine", ["auto", "extractive", "seq2seq"])
def test_a_model_path_that_does_not_exist_is_a_usage_error(folder: Path, engine: str) -> None:
    result = runner.invoke(cli.app, ["make", "in", "-e", engine, "-m", "./no-such-model"])
    assert result.exit_code == 2, result.output
    assert "no such model folder: ./no-such-model" in one_error_line(result)
    assert not (folder / "outputs").exists()


def test_hub_ids_and_existing_folders_pass_the_model_check(tmp_path: Path) -> None:
    for name in ("t5-small", "sshleifer/distilbart-cnn-12-6", str(tmp_path), None):
        check_model_path(name)
    for name in (str(tmp_path / "gone"), "~/no-such-model-here", "a/b/c"):
        with pytest.raises(UsageError, match="no such model folder"):
            check_model_path(name)


# -- digest schedule with no model on the machine and no hub


def test_schedule_offline_says_what_the_nights_will_do_and_makes_the_line(
    tmp_path: Path,
) -> None:
    write_articles(tmp_path / "in", 1)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environ.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    result = subprocess.run(
        [sys.executable, "-m", "digest", "schedule", "in", "--at", "06:30", "-m", "fast"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("30 6 * * * ") and "HF_HUB_OFFLINE" not in result.stdout
    (note,) = [line for line in result.stderr.splitlines() if "t5-small" in line]
    assert "extractive engine" in note and "all the same" in note
    assert "schedule again" not in note  # advice that cannot work offline


def test_schedule_refuses_what_make_would_refuse(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 1)
    for extra in (
        ["-m", "./no-such-model"],
        ["-e", "extractive", "-g", "num_beams=2"],
        ["-e", "nonsense"],
        ["--guard", "maybe"],
        ["--order", "alpha"],
    ):
        result = runner.invoke(cli.app, ["schedule", "in", "--at", "06:30", *extra])
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
