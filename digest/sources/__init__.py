"""Finding input files and reading each into a Document, one reader per format."""

from __future__ import annotations

import importlib
import logging
import os
import stat
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
        return sniff_feed(_read_regular(path, 4096, whole=False))
    except SkipDocument as exc:
        log.debug("ignored %s: %s", path, exc)
        return False


def check_sources(sources: Sequence[Path]) -> None:
    """A UsageError naming the first source that does not exist (a broken symlink does)."""
    for source in sources:
        if not (source.exists() or source.is_symlink()):
            raise UsageError(f"no such file or folder: {source}")


class TooLarge(SkipDocument):
    """A file over the size limit: skipped without being read."""


def find_inputs(
    sources: Sequence[Path],
    *,
    seen: set[str] | None = None,
    walked: set[str] | None = None,
) -> list[Path]:
    """Every supported file under `sources`, folders searched recursively, in a stable order.

    Symlinked folders are followed, each real folder walked once (so a link back up the tree
    is no endless loop), and each real file listed once under the first name it was found
    by, however many sources or links reach it. Broken symlinks are kept (reading them
    reports why they are skipped); unknown extensions and hidden files are left out and
    logged at debug level (-v). Feed files and OPML lists are included (see is_feed_file);
    .xml and .json files in a folder only when they hold a feed, so a folder of other data is
    not a list of errors. `seen` and `walked` (real paths of the files and folders found so
    far) carry that across calls.
    """
    found: list[Path] = []
    # Shared between calls when given, so sources found one at a time still count once.
    seen_files: set[str] = set() if seen is None else seen
    walked = set() if walked is None else walked
    for source in sources:
        if source.is_dir():
            candidates = _walk(source, walked)
        elif source.exists() or source.is_symlink():
            candidates = [source]
        else:
            raise UsageError(f"no such file or folder: {source}")
        for path in candidates:
            suffix = path.suffix.lower()
            wanted = suffix in FORMATS or suffix in FEED_FILES
            if not wanted and suffix in MAYBE_FEED_FILES:
                wanted = path == source or _sniffed_feed(path)
            if not wanted:
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


def display_path(path: Path) -> str:
    """Paths relative to the working folder where possible: shorter, and stable across machines."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


#: What stat calls the files that are not regular files, none of which is ever opened: opening
#: a FIFO blocks until something writes to it, and a device (a link to /dev/zero) never ends.
_NOT_REGULAR = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)
#: O_NONBLOCK: should a FIFO take a regular file's place between the stat and the open, the
#: open returns at once instead of waiting for a writer (and the fstat then refuses it).
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
#: Regular files are read in pieces of this size, up to the limit.
_CHUNK = 1 << 20


def _not_regular(path: Path, mode: int) -> str | None:
    """Why `mode` is not a file to read (a folder, a FIFO, a device…), or None for a file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    kind = next((name for test, name in _NOT_REGULAR if test(mode)), "unknown file type")
    if path.is_symlink():
        return f"not a regular file (a link to the {kind} {os.path.realpath(path)})"
    return f"not a regular file ({kind})"


def _read_regular(path: Path, limit: int, *, whole: bool = True) -> bytes:
    """At most `limit` bytes of the regular file at `path` (symlinks followed); SkipDocument
    for anything else, before it is opened. With `whole`, a file whose size says it holds more
    is not read at all (TooLarge)."""
    if path.is_symlink() and not path.exists():
        raise SkipDocument("broken symlink")
    try:
        info = os.stat(path)
        if reason := _not_regular(path, info.st_mode):
            raise SkipDocument(reason)
        if whole and info.st_size > limit:
            raise TooLarge(f"too large ({info.st_size:,} bytes; the limit is {limit:,})")
        fd = os.open(path, _OPEN_FLAGS)
        try:
            # Checked again on what was opened: the name may point elsewhere by now.
            if reason := _not_regular(path, os.fstat(fd).st_mode):
                raise SkipDocument(reason)
            # Never more than the limit plus one byte, whatever the size claimed: a file in
            # /proc says 0 bytes, and a file can grow while it is read.
            chunks: list[bytes] = []
            left = limit + 1 if whole else limit
            while left > 0 and (chunk := os.read(fd, min(left, _CHUNK))):
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except PermissionError:
        raise SkipDocument("permission denied") from None
    except IsADirectoryError:
        raise SkipDocument("is a folder") from None
    except OSError as exc:
        raise SkipDocument(f"unreadable ({exc.strerror or exc})") from None
    data = b"".join(chunks)
    if whole and len(data) > limit:
        raise TooLarge(f"too large (more than {limit:,} bytes read; the limit is {limit:,})")
    return data


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A regular file's bytes: its type and size checked (with stat) before it is opened, and
    never more than `max_bytes` + 1 of them read (SkipDocument, or TooLarge, otherwise).

    FIFOs, devices and sockets, directly or through a symlink, are skipped unopened."""
    return _read_regular(path, max_bytes)


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
