"""The `digest make` command end to end: files written, stdout/stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_engine import FakeSummariser
from typer.testing import CliRunner

from digest import cli, executing

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"

ARTICLE = (
    "Night trains return to Europe\n\n"
    + " ".join(
        f"Sentence {i} tells the reader something new about sleeper trains and timetables."
        for i in range(12)
    )
    + "\n"
)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeSummariser:
    engine = FakeSummariser("fake", "fake-model")
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_make_writes_markdown_and_json(
    tmp_path: Path, runner: CliRunner, fake_engine: FakeSummariser
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "trains.txt").write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        cli.app,
        # --no-cache: the session's cache may hold these texts from another test, and a fully
        # cached run names the engine from its options, not the fake that wrote them.
        ["make", str(src), "--out", str(out), "--format", "md,json", "--date", "2026-11-24",
         "--no-cache"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    md, js = out / "digest-2026-11-24.md", out / "digest-2026-11-24.json"
    assert result.stdout.split() == [str(md), str(js)]
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["engine"] == "fake" and data["model"] == "fake-model"
    assert [d["title"] for d in data["documents"]] == ["Night trains return to Europe"]
    assert data["documents"][0]["summary"] == (
        "article: Sentence 0 tells the reader something new about"
    )
    assert data["backend"] == "fake" and ("article", 1) in fake_engine.calls
    assert "Night trains return to Europe" in md.read_text(encoding="utf-8")
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == sorted([md.name, js.name])
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))  # no temp files left


def test_seed_folder_with_extractive_engine(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        cli.app,
        ["make", str(SEED.parent), "-o", str(tmp_path), "-e", "extractive", "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(Path(result.stdout.strip()).read_text(encoding="utf-8"))
    (doc,) = data["documents"]
    assert doc["title"] == "Afghanistan: Taliban captures Kandahar as clashes continue"
    assert [s["kicker"] for s in doc["sections"]] == [
        "What's the story",
        "Details",
        "Information",
        "US",
        "Do you know?",
        "Evacuations",
    ]
    # Extractive summaries are sentences of the article, verbatim.
    text = SEED.read_text(encoding="utf-8")
    assert doc["tldr"] and doc["tldr"] in text
    assert data["engine"] == "extractive" and data["model"] is None


def test_skipped_inputs_give_exit_3_and_are_listed(
    tmp_path: Path, runner: CliRunner, fake_engine: FakeSummariser
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (src / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (src / "notes.docx").write_bytes(b"PK\x03\x04 not supported")
    result = runner.invoke(cli.app, ["make", str(src), "-o", str(tmp_path / "o")])
    assert result.exit_code == 3, result.output
    assert "empty.txt: empty file" in result.stderr
    assert "notes.docx" not in result.stderr  # unknown extensions are ignored quietly
    md = next((tmp_path / "o").glob("digest-*.md")).read_text(encoding="utf-8")
    assert "## Skipped" in md and "empty.txt: empty file" in md
    assert "notes.docx" not in md


def test_unknown_extensions_are_listed_with_verbose(
    tmp_path: Path, runner: CliRunner, fake_engine: FakeSummariser
) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    result = runner.invoke(cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "o"), "-v"])
    assert result.exit_code == 0, result.output
    assert "notes.docx" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["make"], "give at least one folder or file"),
        (["make", "no/such/folder"], "no such file or folder: no/such/folder"),
        (["make", ".", "--format", "pdf"], "unknown format pdf"),
        (["make", ".", "--date", "24/11/2026"], "--date must look like 2026-11-24"),
        (["make", ".", "--engine", "gpt"], "unknown engine 'gpt'"),
        (["make", ".", "--max-size", "lots"], "--max-size must be a size"),
        (["make", ".", "--templates", "no/such/templates"], "--templates: no such folder"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    args: list[str], message: str, runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(cli.app, [*args, "-o", str(tmp_path)] if len(args) > 1 else args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digest: error: "), result.stderr
    assert message in lines[0]


def test_max_size_skips_large_files(
    tmp_path: Path, runner: CliRunner, fake_engine: FakeSummariser
) -> None:
    (tmp_path / "big.txt").write_text(ARTICLE * 20, encoding="utf-8")
    (tmp_path / "small.txt").write_text(ARTICLE, encoding="utf-8")
    result = runner.invoke(
        cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "o"), "--max-size", "2KB"]
    )
    assert result.exit_code == 3, result.output
    assert "big.txt: too large" in result.stderr


def test_python_dash_m_and_quiet_run_in_a_real_process(tmp_path: Path) -> None:
    """A real process, not a TTY: nothing on stderr with -q, the path on stdout."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "digest",
            "make",
            str(SEED),
            "-o",
            str(tmp_path),
            "-e",
            "extractive",
            "-q",
            "--date",
            "2026-11-24",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.strip() == str(tmp_path / "digest-2026-11-24.md")


def test_log_lines_are_timestamped_off_a_terminal(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "digest",
            "make",
            str(SEED),
            "-o",
            str(tmp_path),
            "-e",
            "extractive",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines, "expected progress log lines"
    for line in lines:
        assert line[:4].isdigit() and line[10] == "T", line  # 2026-11-25T06:30:00+0000 INFO …
    assert "\x1b[" not in proc.stderr  # no colour codes for cron mail


def test_help_does_not_import_torch() -> None:
    code = "import sys; import digest.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_reader_bug_costs_only_its_own_file(
    tmp_path: Path, runner: CliRunner, fake_engine: FakeSummariser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digest.sources.markdown as markdown_reader

    def broken(text: str, path: Path) -> object:
        raise ValueError("unexpected structure")

    monkeypatch.setattr(markdown_reader, "parse_markdown", broken)
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "post.md").write_text("# Post\n\nSome prose here.\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 3, result.output
    assert "post.md: could not be parsed (ValueError: unexpected structure)" in result.stderr
    assert "Night trains" in next((tmp_path / "o").glob("*.md")).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("a-file", "a-file is a file, not a folder"),
        ("a-file/sub", "cannot create the folder"),
    ],
)
def test_unusable_output_folder_is_one_line_exit_1(
    tmp_path: Path, runner: CliRunner, out: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    result = runner.invoke(
        cli.app, ["make", str(SEED), "-o", str(tmp_path / out), "-e", "extractive", "-q"]
    )
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("digest: error: ") and message in line


@pytest.mark.parametrize(("command", "extras"), [("make", ["ray"])])
def test_help_names_the_extras_to_install(command: str, extras: list[str]) -> None:
    # The help is rich markup, where a bare "[ray]" is a style tag and silently vanishes. The
    # distribution's own name: "digest" on the public index is another project.
    result = CliRunner().invoke(cli.app, [command, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    # Older typers wrap the help in its box whatever COLUMNS says: read it unwrapped.
    text = " ".join(result.output.replace("│", " ").split())
    for extra in extras:
        assert f"pip install 'article-digest[{extra}]'" in text


HARBOUR = """# Harbour news

The harbour council approved the new ferry terminal on Monday after a long debate. Work \
starts in spring and should take two years. The mayor called it a historic day for the town.

## Terminal

The harbour council approved the new ferry terminal on Monday after a long debate. The \
building will have two floors, a waiting hall and a cafe for passengers. Architects from the \
city drew the plans last year. The old shed on the quay will be pulled down first. Local \
firms will do most of the building work, the council said.

## Budget

The terminal will cost twelve million euros in all. The region pays half and the town the \
rest. A loan covers the town's share over twenty years.

## Timetable

Ferries will run every hour from six in the morning. In summer there will be extra boats at \
weekends. Tickets can be bought on board or online.
"""


def test_quoted_in_the_json_means_the_section_whole_and_under_60_words(
    runner: CliRunner, tmp_path: Path
) -> None:
    # "Terminal" has exactly 60 words and opens with the TL;DR's sentence: its bullet leaves
    # that out, so it is not quoted (and 60 words is not "shorter than 60").
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "harbour.md").write_text(HARBOUR, encoding="utf-8")
    out = tmp_path / "out"
    args = ["make", str(tmp_path / "in"), "-o", str(out), "-e", "extractive", "--no-cache"]
    result = runner.invoke(cli.app, [*args, "-f", "json", "--date", "2026-11-24"])
    assert result.exit_code == 0, result.output
    (document,) = json.loads((out / "digest-2026-11-24.json").read_text("utf-8"))["documents"]
    sections = {s["title"]: s for s in document["sections"]}
    terminal = sections["Terminal"]
    assert terminal["words"] == 60 and not terminal["quoted"]
    assert "approved the new ferry terminal" in document["tldr"]
    assert "approved the new ferry terminal" not in terminal["summary"]
    texts = {t.partition("\n\n")[0]: t.partition("\n\n")[2] for t in HARBOUR.split("## ")[1:]}
    for title in ("Budget", "Timetable"):
        section = sections[title]
        assert section["words"] < 60 and section["quoted"]
        assert section["summary"] == " ".join(texts[title].split())
    for section in document["sections"]:
        if section["quoted"]:
            assert section["words"] < 60
            assert section["summary"] == " ".join(texts[section["title"]].split())
