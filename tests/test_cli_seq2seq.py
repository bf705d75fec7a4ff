"""`digest make` with the seq2seq engine: a local checkpoint, --generate, fallback and failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from digest import cli
from digest.email import read_message

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
runner = CliRunner()


def test_seq2seq_with_a_local_checkpoint_writes_the_digest(tiny_bart: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app,
        [
            "make",
            str(SEEDS),
            "-o",
            str(tmp_path),
            "-e",
            "seq2seq",
            "-m",
            str(tiny_bart),
            "-g",
            "num_beams=1",
            "-g",
            "max_new_tokens=12",
            "-f",
            "md,json",
            "--no-cache",
            "--backend",
            "transformers",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(next(tmp_path.glob("digest-*.json")).read_text(encoding="utf-8"))
    assert (data["engine"], data["model"], data["backend"]) == (
        "seq2seq",
        str(tiny_bart),
        "transformers",
    )
    (doc,) = data["documents"]
    generated = [s for s in doc["sections"] if not s["quoted"]]
    assert generated, "some sections are long enough to be generated"
    md = next(tmp_path.glob("digest-*.md")).read_text(encoding="utf-8")
    assert f"engine: seq2seq ({tiny_bart}, transformers)" in md


def test_bad_generate_setting_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app, ["make", str(SEEDS), "-o", str(tmp_path), "-g", "beams_count=4"]
    )
    assert result.exit_code == 2, result.output
    assert "beams_count" in result.stderr and result.stderr.startswith("digest: error: ")


def test_auto_without_a_model_tells_the_operator_and_gives_readers_one_line(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        cli.app,
        [
            "make",
            str(SEEDS),
            "-o",
            str(tmp_path),
            "-m",
            "no-such-org/no-such-model",
            "--no-cache",
            "-f",
            "md,json,eml",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    # The operator gets why and how to fix it on stderr, once (also under -q).
    advice = [line for line in result.stderr.splitlines() if "Summaries are extractive" in line]
    assert len(advice) == 1, result.stderr
    assert "seq2seq model no-such-org/no-such-model" in advice[0] and "--model" in advice[0]
    # The readers get at most one short neutral line, and none of the advice.
    md = next(tmp_path.glob("digest-*.md")).read_text(encoding="utf-8")
    message = read_message(next(tmp_path.glob("digest-*.eml")))
    text, html = (
        message.get_body(preferencelist=(kind,)).get_content()  # type: ignore[union-attr]
        for kind in ("plain", "html")
    )
    data = json.loads(next(tmp_path.glob("digest-*.json")).read_text(encoding="utf-8"))
    for output in (md, text, html, json.dumps(data)):
        assert not any(word in output for word in ("HF_HOME", "HF_HUB_OFFLINE", "--model"))
        assert "no-such-model" not in output and "hugging face" not in output.lower()
    for output in (md, text, html):
        lines = [line for line in output.splitlines() if "extractive" in line or "seq2seq" in line]
        # Besides the header's engine and the email's standing footer ("Summaries made by
        # machine (extractive)"), which every digest has.
        about = [
            line
            for line in lines
            if "engine: extractive" not in line and "Summaries made by machine" not in line
        ]
        assert len(about) == 1, lines
        assert "Summaries are extractive: sentences chosen from each article." in about[0]
    assert data["engine"] == "extractive"
    assert data["notices"] == ["Summaries are extractive: sentences chosen from each article."]
    assert "engine: extractive" in md


def test_seq2seq_without_a_model_fails_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app,
        [
            "make",
            str(SEEDS),
            "-o",
            str(tmp_path / "o"),
            "-e",
            "seq2seq",
            "-m",
            str(tmp_path / "missing-model"),
            "--no-cache",
            "-q",
        ],
    )
    # A mistyped path is a usage error (exit 2), found before anything is read or loaded.
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"digest: error: --model: no such model folder: {tmp_path / 'missing-model'} (check "
        "the path, or pass a hub id such as t5-small or a preset: fast, balanced, best)"
    )
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("digest-*"))


def test_quiet_seq2seq_run_keeps_stderr_empty(tiny_t5: Path, tmp_path: Path) -> None:
    """Off a terminal, Hugging Face's own progress bars must not reach cron's mail either."""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "digest",
            "make",
            str(SEEDS),
            "-o",
            str(tmp_path),
            "-q",
            "-e",
            "seq2seq",
            "-m",
            str(tiny_t5),
            "--backend",
            "transformers",
            "-g",
            "max_new_tokens=8",
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
