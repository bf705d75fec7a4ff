"""Atomic file writes: a reader (or a killed run) never sees a half-written output."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from digest.errors import OutputProblem

log = logging.getLogger(__name__)

# What tempfile.mkstemp(prefix=".NAME.", suffix=".tmp") makes: eight random characters.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def ensure_folder(folder: Path) -> Path:
    """Create `folder` if needed; an unusable one is a one-line OutputProblem, not a traceback."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputProblem(f"{folder} is a file, not a folder") from None
    except OSError as exc:
        raise OutputProblem(f"cannot create the folder {folder}: {_reason(exc)}") from None
    return folder


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write to a temporary file beside `path`, flush it to disk, then rename it into place."""
    return write_all_atomic({path: data})[0]


def write_all_atomic(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write every file to a temporary beside it first, then rename them all into place.

    A failure while writing (a full disk, a read-only folder) leaves none of them changed;
    only the renames, which do not fail for want of space, come after the first rename.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            staged.append((_stage(path, data), path))
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise OutputProblem(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    # The rename lives in the folder's entry table: without this fsync a power cut can bring
    # back the old file (or none) even though the write returned.
    for folder in dict.fromkeys(path.parent for path in files):
        fsync_folder(folder)
    return list(files)


def _stage(path: Path, data: str | bytes) -> Path:
    """`data` in a flushed temporary file beside `path`, ready to be renamed onto it."""
    ensure_folder(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputProblem(f"cannot write in {path.parent}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputProblem(f"cannot write {path}: {_reason(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename itself still happened
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path, *, older_than: float = 0.0) -> list[Path]:
    """Delete `.NAME.*.tmp` files that write_atomic left behind when a run was killed.

    Call it only while holding the folder's lock, so no live writer's file is taken;
    `older_than` (seconds) adds a margin for callers that cannot hold it.
    """
    removed = []
    cutoff = time.time() - older_than
    for tmp in folder.glob(".*.tmp"):
        if not _TEMPORARY.match(tmp.name):
            continue
        try:
            if tmp.is_file() and tmp.stat().st_mtime <= cutoff:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue  # gone already, or not ours to remove: harmless either way
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", len(removed))
    return removed
