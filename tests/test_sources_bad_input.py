"""Bad inputs: each lands in `skipped` with a one-line reason and never costs the others."""

from __future__ import annotations

import codecs
import json
import os
import random
import socket
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_engine import RUNNER, runner_env

from digest.errors import SkipDocument
from digest.model import Skipped
from digest.reading import read_sources
from digest.sources import find_inputs, read_bytes, read_document


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
    real_open = os.open

    def refusing_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == locked.name:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
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

    def failing_read(fd: int, size: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "read", failing_read)
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


# --- what is not a regular file: never opened, one Skipped line each ----------------------------

needs_fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def finishes(call: Callable[[], Any], fifos: Sequence[Path] = (), within: float = 20.0) -> Any:
    """call()'s result, run on a thread; a failed test if it is still running after `within`
    seconds (blocked opening a FIFO, as the old code was: the FIFOs are then opened for writing
    and closed, so the thread reads an empty file and ends instead of hanging the session)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(within)
    if thread.is_alive():
        for fifo in fifos:
            os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
        thread.join(within)
        pytest.fail(f"still running after {within:g} s: a FIFO was opened")
    if "error" in box:
        raise box["error"]
    return box["result"]


@needs_fifos
def test_fifos_sockets_and_devices_are_skipped_without_being_opened(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src, "good.txt", GOOD_TEXT)
    fifos = [src / "pipe.md", src / "data.xml", src / "feed.rss"]
    for fifo in fifos:
        os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(src / "sock.md"))
    (src / "null.txt").symlink_to(os.devnull)  # a character device, through a link
    try:
        found = finishes(lambda: find_inputs([src]), fifos)
        documents, skipped = finishes(lambda: read_documents([src]), fifos)
        named, named_skipped = finishes(lambda: read_documents([src / "data.xml"]), fifos)
    finally:
        server.close()
    # data.xml cannot be sniffed without opening it, so it is no feed of the folder's.
    assert sorted(p.name for p in found) == [
        "feed.rss",
        "good.txt",
        "null.txt",
        "pipe.md",
        "sock.md",
    ]
    assert [d.path.name for d in documents] == ["good.txt"]
    assert _reasons(skipped) == {
        "feed.rss": "not a regular file (FIFO)",
        "null.txt": f"not a regular file (a link to the character device {os.devnull})",
        "pipe.md": "not a regular file (FIFO)",
        "sock.md": "not a regular file (socket)",
    }
    # Named on the command line it is taken for a feed, and skipped the same way.
    assert named == [] and _reasons(named_skipped) == {"data.xml": "not a regular file (FIFO)"}


def test_reads_stop_at_the_limit_whatever_the_size_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose stat says less than it holds (a file in /proc says 0 bytes; one that grows
    while it is read): at most the limit plus one byte is read, and it is skipped as too large."""
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of zeros on no disk
    real_stat = os.stat

    def claiming_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_stat(path, *args, **kwargs)
        if Path(path) != big:
            return result
        fields = {name: getattr(result, name) for name in dir(result) if name.startswith("st_")}
        return SimpleNamespace(**{**fields, "st_size": 10})

    monkeypatch.setattr(os, "stat", claiming_stat)
    tracemalloc.start()
    try:
        with pytest.raises(SkipDocument, match=r"^too large \(more than 100,000 bytes read"):
            read_bytes(big, max_bytes=100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak:,} bytes allocated to read at most 100,001"


@needs_fifos
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_run_over_a_fifo_and_a_dev_zero_link_finishes_with_two_skipped_lines(
    tmp_path: Path,
) -> None:
    """As a user meets it: `digest make` over a folder holding FIFOs (pipe.md, and data.xml
    that a folder's .xml files are sniffed for a feed), a link to /dev/zero and a good file,
    in a process whose memory is capped (the old code read /dev/zero until memory ran out)."""
    src = tmp_path / "src"
    _write(src, "good.txt", GOOD_TEXT)
    os.mkfifo(src / "pipe.md")
    os.mkfifo(src / "data.xml")
    (src / "zero.txt").symlink_to("/dev/zero")

    def cap_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = subprocess.run(
        [sys.executable, RUNNER, "make", "src", "-o", "out", "-f", "md,json", "--no-cache"],
        cwd=tmp_path,
        env=runner_env(),
        capture_output=True,
        text=True,
        timeout=90,
        preexec_fn=cap_memory,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    (written,) = (tmp_path / "out").glob("digest-*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    assert [d["title"] for d in data["documents"]] == ["Library opens late on Thursdays"]
    assert {Path(s["path"]).name: s["reason"] for s in data["skipped"]} == {
        "pipe.md": "not a regular file (FIFO)",
        "zero.txt": "not a regular file (a link to the character device /dev/zero)",
    }
    warnings = [line for line in result.stderr.splitlines() if "WARNING skipped" in line]
    assert len(warnings) == 2, result.stderr
