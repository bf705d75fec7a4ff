"""Finding input files and reading each into a Document, one reader per format."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from digest.errors import SkipDocument, UsageError
from digest.model import Document

log = logging.getLogger(__name__)

#: suffix → format name; the reader for each format lives in digest/sources/<format>.py.
FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}


def _reader(fmt: str) -> Callable[[str, Path], Document]:
    # Imported on demand so a run over text files never imports the HTML stack.
    if fmt == "text":
        from digest.sources.text import parse_text

        return parse_text
    if fmt == "markdown":
        from digest.sources.markdown import parse_markdown

        return parse_markdown
    from digest.sources.html import parse_html

    return parse_html


def check_sources(sources: Sequence[Path]) -> None:
    """A UsageError naming the first source that does not exist (a broken symlink does)."""
    for source in sources:
        if not (source.exists() or source.is_symlink()):
            raise UsageError(f"no such file or folder: {source}")


class TooLarge(SkipDocument):
    """A file over the size limit: skipped without being read."""


def find_inputs(sources: Sequence[Path]) -> list[Path]:
    """Every supported file under `sources`, folders searched recursively, in a stable order.

    Symlinked folders are followed, each real folder walked once (so a link back up the tree
    is no endless loop), and each real file listed once under the first name it was found
    by, however many sources or links reach it. Broken symlinks are kept (reading them
    reports why they are skipped); unknown extensions and hidden files are left out and
    logged at debug level (-v).
    """
    found: list[Path] = []
    seen_files: set[str] = set()
    walked: set[str] = set()
    for source in sources:
        if source.is_dir():
            candidates = _walk(source, walked)
        elif source.exists() or source.is_symlink():
            candidates = [source]
        else:
            raise UsageError(f"no such file or folder: {source}")
        for path in candidates:
            if path.suffix.lower() not in FORMATS:
                log.debug("ignored %s: not a supported format", path)
                continue
            real = os.path.realpath(path)
            if real in seen_files:
                log.debug("ignored %s: already included under another name", path)
                continue
            seen_files.add(real)
            found.append(path)
    return found


def _walk(folder: Path, walked: set[str]) -> list[Path]:
    """The non-hidden files under `folder`, sorted; folders in `walked` (real paths) are not
    entered again, and every folder entered is added to it."""
    candidates: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in walked:
            dirs[:] = []
            log.debug("ignored %s: the folder %s is already included", root, real)
            continue
        walked.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        candidates.extend(Path(root, f) for f in files if not f.startswith("."))
    candidates.sort()
    return candidates


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A file's bytes, its size checked (with stat) before a byte of it is read."""
    if path.is_symlink() and not path.exists():
        raise SkipDocument("broken symlink")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise TooLarge(f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except PermissionError:
        raise SkipDocument("permission denied") from None
    except IsADirectoryError:
        raise SkipDocument("is a folder") from None
    except OSError as exc:
        raise SkipDocument(f"unreadable ({exc.strerror or exc})") from None
    # Checked again: a file can grow between the stat and the read.
    if len(data) > max_bytes:
        raise TooLarge(f"too large ({len(data):,} bytes; the limit is {max_bytes:,})")
    return data


def parse_bytes(data: bytes, path: Path) -> Document:
    """Decode and parse a file's bytes; raise SkipDocument with a one-line reason if it can't."""
    from digest.sources.decoding import decode_bytes

    if not data.strip():
        raise SkipDocument("empty file")
    text = decode_bytes(data)  # raises SkipDocument for binary data
    if not text.strip():
        raise SkipDocument("empty file")
    return _reader(FORMATS[path.suffix.lower()])(text, path)


def read_document(path: Path, *, max_bytes: int) -> Document:
    """Read, decode and parse one file; raise SkipDocument with a one-line reason if it can't."""
    return parse_bytes(read_bytes(path, max_bytes=max_bytes), path)
