"""Finding input files and reading each into a Document, one reader per format."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from digest.errors import ReaderUnavailable, SkipDocument, UsageError
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


#: format → (its name in messages, the package its reader is built on).
READERS = {
    "text": ("Plain-text", "charset-normalizer"),
    "markdown": ("Markdown", "markdown-it-py"),
    "html": ("HTML", "trafilatura"),
}
#: Packages split off from a dependency, named in the ImportError their old home raises
#: (lxml >= 5.2: "lxml.html.clean module is now a separate project lxml_html_clean").
_SPLIT_OFF = ("lxml_html_clean",)


def check_reader(fmt: str) -> ReaderUnavailable | None:
    """Why `fmt`'s reader cannot work in this installation (its imports fail), or None.

    Checked once per run before any file is read, so a broken dependency is one error
    naming the package to install, not the same skip reason repeated for every file.
    """
    label, package = READERS[fmt]
    try:
        module = importlib.import_module(f"digest.sources.{fmt}")
        require = getattr(module, "require", None)
        if require is not None:
            require()
    except Exception as exc:  # noqa: BLE001 - whatever breaks an import breaks every file
        missing = _missing_package(exc, package)
        first = (str(exc).strip().splitlines() or [""])[0]
        return ReaderUnavailable(
            label,
            missing,
            f"{Path(sys.executable)} -m pip install {missing}",
            f"{package} cannot be imported ({type(exc).__name__}: {first})",
        )
    return None


def _missing_package(exc: Exception, default: str) -> str:
    """The distribution to install for a failed import: the module it could not find, where
    the error names one, else the reader's own package (to reinstall)."""
    text = str(exc)
    for split_off in _SPLIT_OFF:
        if split_off in text:
            return split_off
    name = getattr(exc, "name", None)
    if not name:
        return default
    top = name.partition(".")[0]
    from importlib.metadata import packages_distributions

    distributions = packages_distributions().get(top)
    return distributions[0] if distributions else top


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


#: Feed files and OPML lists: each holds many documents, read by digest.sources.web.
FEED_FILES = frozenset({".rss", ".atom", ".rdf", ".opml"})
#: Read as feeds when named on the command line; in a folder only when they look like one.
MAYBE_FEED_FILES = frozenset({".xml", ".json"})


def is_feed_file(path: Path) -> bool:
    return path.suffix.lower() in FEED_FILES | MAYBE_FEED_FILES


def _sniffed_feed(path: Path) -> bool:
    from digest.sources.feeds import sniff_feed

    try:
        with path.open("rb") as handle:
            return sniff_feed(handle.read(4096))
    except OSError:
        return False


def check_sources(sources: Sequence[Path]) -> None:
    """A UsageError naming the first source that does not exist (a broken symlink does)."""
    for source in sources:
        if not (source.exists() or source.is_symlink()):
            raise UsageError(f"no such file or folder: {source}")


def find_inputs(sources: Sequence[Path]) -> list[Path]:
    """Every supported file under `sources`, folders searched recursively, in a stable order.

    Broken symlinks are kept (reading them reports why they are skipped); unknown
    extensions and hidden files are left out and logged at debug level (-v). Feed files and
    OPML lists are included (see is_feed_file); .xml and .json files in a folder only when
    they hold a feed, so a folder of other data is not a list of errors.
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
            suffix = path.suffix.lower()
            if suffix in FORMATS or suffix in FEED_FILES:
                found.append(path)
            elif suffix in MAYBE_FEED_FILES and (path == source or _sniffed_feed(path)):
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
