"""Bad inputs: each lands in `skipped` with a one-line reason and never costs the others."""

from __future__ import annotations

import codecs
import os
import random
from pathlib import Path
from typing import Any

import pytest

from digest.errors import SkipDocument
from digest.model import Skipped
from digest.reading import read_sources
from digest.sources import read_document


def read_documents(*args: Any, **kwargs: Any) -> tuple[list[Any], list[Any]]:
    documents, skipped, _ = read_sources(*args, **kwargs)
    return documents, skipped


GOOD_TEXT = (
    "Library opens late on Thursdays\n\n"
    "From next month the central library will stay open until nine on Thursday evenings, "
    "the council said, after a survey found that most visitors work during the day.\n"
)
GOOD_MARKDOWN = (
    "---\ntitle: Allotment waiting list shrinks\ndate: 2024-04-01\n---\n\n"
    "The waiting list for council allotments has fallen to forty names, the shortest in a "
    "decade, after six new plots opened beside the railway.\n\n"
    "## How to apply\n\nForms are at the library and on the council website.\n"
)
PNG_JUNK = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(3).randbytes(2048)


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _reasons(skipped: list[Skipped]) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in skipped}


def test_bad_inputs_are_skipped_and_good_ones_read(tmp_path: Path) -> None:
    _write(tmp_path, "good.txt", GOOD_TEXT)
    _write(tmp_path, "sub/good.md", GOOD_MARKDOWN)
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "blank.md", " \n\t\r\n  \n")
    _write(tmp_path, "blank-utf16.txt", codecs.BOM_UTF16_LE + "  \r\n ".encode("utf-16-le"))
    _write(tmp_path, "picture.txt", PNG_JUNK)
    _write(tmp_path, "huge.txt", "Big title\n\n" + "A sentence that repeats. " * 200)
    _write(tmp_path, "headings.md", "# Agenda\n\n## Budget\n\n## Staffing\n")
    _write(tmp_path, "headings.txt", "Agenda\nBudget\nStaffing\n")
    _write(tmp_path, "code-only.md", "# Snippet\n\n```python\nprint('hello')\n```\n")
    _write(tmp_path, "script-only.html", "<html><body><script>var a = 1;</script></body></html>")
    _write(tmp_path, "junk.html", PNG_JUNK.replace(b"\x00", b"\x01"))
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    _write(tmp_path, "report.pdf", b"%PDF-1.4 binary")
    _write(tmp_path, "notes.docx", b"PK\x03\x04")
    _write(tmp_path, ".hidden.txt", GOOD_TEXT)

    documents, skipped = read_documents([tmp_path], max_bytes=4_000)

    assert sorted(d.path.name for d in documents) == ["good.md", "good.txt"]
    reasons = _reasons(skipped)
    assert set(reasons) == {
        "empty.txt",
        "blank.md",
        "blank-utf16.txt",
        "picture.txt",
        "huge.txt",
        "headings.md",
        "headings.txt",
        "code-only.md",
        "script-only.html",
        "junk.html",
        "gone.txt",
    }
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.md"] == "empty file"
    assert reasons["blank-utf16.txt"] == "empty file"
    assert reasons["picture.txt"].startswith("binary file")
    assert reasons["huge.txt"].startswith("too large")
    assert reasons["headings.md"] == "headings but no prose"
    assert reasons["headings.txt"] == "headings but no prose"
    assert reasons["code-only.md"] == "headings but no prose"
    assert reasons["gone.txt"] == "broken symlink"
    for reason in reasons.values():
        assert reason and "\n" not in reason and len(reason) < 120


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf16.txt", codecs.BOM_UTF16_LE + GOOD_TEXT.replace("\n", "\r\n").encode("utf-16-le")),
        ("utf16be.txt", codecs.BOM_UTF16_BE + GOOD_TEXT.encode("utf-16-be")),
        ("bom.txt", codecs.BOM_UTF8 + GOOD_TEXT.encode()),
        ("crlf.txt", GOOD_TEXT.replace("\n", "\r\n").encode()),
        ("cr.txt", GOOD_TEXT.replace("\n", "\r").encode()),
        ("latin1.txt", GOOD_TEXT.replace("nine", "nine (£5 entry)").encode("latin-1")),
    ],
)
def test_encodings_and_line_ends_read_like_utf8(tmp_path: Path, name: str, data: bytes) -> None:
    document = read_document(_write(tmp_path, name, data), max_bytes=100_000)
    assert document.title == "Library opens late on Thursdays"
    assert len(document.sections) == 1
    (paragraph,) = document.sections[0].paragraphs
    assert paragraph.startswith("From next month the central library")
    assert "\r" not in paragraph and "\ufeff" not in document.title


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, b""], ids=["utf8-bom", "no-bom"])
def test_markdown_front_matter_survives_bom_and_crlf(tmp_path: Path, bom: bytes) -> None:
    data = bom + GOOD_MARKDOWN.replace("\n", "\r\n").encode()
    document = read_document(_write(tmp_path, "post.md", data), max_bytes=100_000)
    assert document.title == "Allotment waiting list shrinks"
    assert document.date == "2024-04-01"
    assert [s.title for s in document.sections] == [None, "How to apply"]


def test_permission_denied_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "good.txt", GOOD_TEXT)
    locked = _write(tmp_path, "locked.txt", GOOD_TEXT)
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == locked.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    documents, skipped = read_documents([tmp_path])
    assert [d.path.name for d in documents] == ["good.txt"]
    assert _reasons(skipped) == {"locked.txt": "permission denied"}


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode",
)
def test_chmod_000_is_skipped(tmp_path: Path) -> None:
    locked = _write(tmp_path, "locked.txt", GOOD_TEXT)
    locked.chmod(0)
    try:
        documents, skipped = read_documents([tmp_path])
    finally:
        locked.chmod(0o644)
    assert documents == []
    assert _reasons(skipped) == {"locked.txt": "permission denied"}


def test_other_os_errors_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = _write(tmp_path, "flaky.txt", GOOD_TEXT)

    def read_bytes(self: Path) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(SkipDocument, match=r"unreadable \(Input/output error\)"):
        read_document(flaky, max_bytes=100_000)


def test_single_file_source_and_size_limit_boundary(tmp_path: Path) -> None:
    path = _write(tmp_path, "good.txt", GOOD_TEXT)
    size = path.stat().st_size
    assert read_document(path, max_bytes=size).title == "Library opens late on Thursdays"
    with pytest.raises(SkipDocument, match="too large"):
        read_document(path, max_bytes=size - 1)
    documents, skipped = read_documents([path])
    assert len(documents) == 1 and skipped == []


def test_unknown_extensions_are_ignored_not_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "slides.pptx", b"PK\x03\x04")
    _write(tmp_path, "data.csv", "a,b\n1,2\n")
    assert read_documents([tmp_path]) == ([], [])
