"""A reader whose own imports fail is one error for its format, never one skip per file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import digest.reading
import digest.sources
from digest import cli
from digest.errors import ReaderUnavailable
from digest.reading import read_sources
from digest.sources import check_reader

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "every-format"
runner = CliRunner()


def pages(folder: Path, count: int) -> Path:
    """`count` copies of the fixture web page (different names), as a user's saved pages."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        shutil.copy(FIXTURES / "bakery-cooperative.html", folder / f"page-{n}.html")
    return folder


@pytest.fixture
def no_trafilatura(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import trafilatura` raise ImportError, as a broken install does.
    monkeypatch.setitem(sys.modules, "trafilatura", None)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the pipeline reads, in order."""
    seen: list[Path] = []
    original = digest.reading.read_bytes

    def counting(path: Path, **kwargs: int) -> object:
        seen.append(path)
        return original(path, **kwargs)

    monkeypatch.setattr(digest.reading, "read_bytes", counting)
    return seen


def test_working_installation_has_every_reader() -> None:
    assert [check_reader(fmt) for fmt in ("text", "markdown", "html")] == [None, None, None]


def test_missing_module_names_the_package_and_the_install_command(no_trafilatura: None) -> None:
    problem = check_reader("html")
    assert isinstance(problem, ReaderUnavailable)
    assert problem.package == "trafilatura"
    assert problem.install == f"{Path(sys.executable)} -m pip install trafilatura"
    assert str(problem).startswith("HTML files cannot be read: trafilatura cannot be imported")
    assert check_reader("text") is None and check_reader("markdown") is None


def test_only_html_stops_before_reading_with_one_line(
    tmp_path: Path, no_trafilatura: None, reads: list[Path]
) -> None:
    pages(tmp_path / "saved", 6)
    result = runner.invoke(cli.app, ["make", str(tmp_path / "saved"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("digest: error: HTML files cannot be read: trafilatura")
    assert "pip install trafilatura" in lines[0]
    assert reads == [], "files were read although their format cannot be"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("digest-*"))


def test_other_formats_are_read_and_the_broken_one_reported_once(
    tmp_path: Path, no_trafilatura: None
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES, folder)
    pages(folder, 4)
    out = tmp_path / "out"
    args = ["make", str(folder), "-o", str(out), "-e", "extractive", "-f", "md,json"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 3, result.output  # written, but not everything is in it
    mentions = [line for line in result.stderr.splitlines() if "HTML" in line]
    assert len(mentions) == 1, result.stderr
    assert "5 HTML files not read: trafilatura cannot be imported" in mentions[0]
    assert "skipped" not in result.stderr.replace("0 skipped", "")
    data = json.loads(next(out.glob("digest-*.json")).read_text(encoding="utf-8"))
    assert sorted(d["format"] for d in data["documents"]) == ["markdown", "text"]
    assert data["skipped"] == []
    [notice] = data["notices"]
    assert notice.startswith("5 HTML files not read") and "pip install trafilatura" in notice
    markdown = next(out.glob("digest-*.md")).read_text(encoding="utf-8")
    assert markdown.count("HTML files not read") == 1


def test_unread_files_stay_new_for_since_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES, folder)
    out = tmp_path / "out"
    args = [
        "make",
        str(folder),
        "-o",
        str(out),
        "-e",
        "extractive",
        "--since",
        "last",
        "-f",
        "json",
    ]
    with monkeypatch.context() as broken:
        broken.setitem(sys.modules, "trafilatura", None)
        assert runner.invoke(cli.app, args).exit_code == 3
    # Installation mended: the page nobody could read is new; the others are not.
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    # The day's second --since digest holds what was new this time.
    [second] = out.glob("digest-*-2.json")
    data = json.loads(second.read_text(encoding="utf-8"))
    assert [d["format"] for d in data["documents"]] == ["html"]


def test_read_sources_raises_only_when_every_format_is_broken(
    tmp_path: Path, no_trafilatura: None
) -> None:
    with pytest.raises(ReaderUnavailable):
        read_sources([pages(tmp_path / "html", 2)])
    (tmp_path / "html" / "notes.txt").write_text(
        (FIXTURES / "river-survey.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    documents, skipped, unreadable = read_sources([tmp_path / "html"])
    assert [d.format for d in documents] == ["text"] and skipped == []
    assert [(u.format, u.files) for u in unreadable] == [("html", 2)]


def test_real_lxml_html_clean_missing_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """What pip < 24 installs: lxml without its split-off HTML cleaner. lxml's own error
    message is what trafilatura's import raises; the user is told what to install."""
    pages(tmp_path / "saved", 3)
    code = (
        "import sys; sys.modules['lxml_html_clean'] = None; "
        "from digest.cli import main; sys.argv = ['digest', *sys.argv[1:]]; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "make", "saved", "-o", "out", "-e", "extractive"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "lxml.html.clean module is now a separate project" in lines[0]
    assert lines[0].endswith(
        f"install lxml_html_clean: {sys.executable} -m pip install lxml_html_clean"
    )
