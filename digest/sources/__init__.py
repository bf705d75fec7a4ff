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


def find_inputs(sources: Sequence[Path]) -> list[Path]:
    """Every supported file under `sources`, folders searched recursively, in a stable order.

    Broken symlinks are kept (reading them reports why they are skipped); unknown
    extensions and hidden files are left out and logged at debug level (-v).
    """
    found: list[Path] = []
    for source in sources:
        if source.is_dir():
            candidates: list[Path] = []
            for root, dirs, files in os.walk(source):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                candidates.extend(Path(root, f) for f in files if not f.startswith("."))
            candidates.sort()
        elif source.exists() or source.is_symlink():
            candidates = [source]
        else:
            raise UsageError(f"no such file or folder: {source}")
        for path in candidates:
            if path.suffix.lower() in FORMATS:
                found.append(path)
            else:
                log.debug("ignored %s: not a supported format", path)
    return found


def read_document(path: Path, *, max_bytes: int) -> Document:
    """Read, decode and parse one file; raise SkipDocument with a one-line reason if it can't."""
    from digest.sources.decoding import decode_bytes

    if path.is_symlink() and not path.exists():
        raise SkipDocument("broken symlink")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipDocument(f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except PermissionError:
        raise SkipDocument("permission denied") from None
    except IsADirectoryError:
        raise SkipDocument("is a folder") from None
    except OSError as exc:
        raise SkipDocument(f"unreadable ({exc.strerror or exc})") from None
    if not data.strip():
        raise SkipDocument("empty file")
    text = decode_bytes(data)  # raises SkipDocument for binary data
    if not text.strip():
        raise SkipDocument("empty file")
    return _reader(FORMATS[path.suffix.lower()])(text, path)
