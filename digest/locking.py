"""One run per output folder at a time: an OS file lock on DIR/.digest.lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.defaults import DEFAULT_WAIT_S
from digest.errors import LockTimeout
from digest.files import ensure_folder

log = logging.getLogger(__name__)

LOCK_FILENAME = ".digest.lock"


@contextmanager
def output_lock(folder: Path, *, wait: float = DEFAULT_WAIT_S) -> Iterator[Path]:
    """Hold the folder's lock for the block; wait up to `wait` seconds, then LockTimeout.

    The lock is the kernel's (flock): a run that is killed, even with SIGKILL, releases it,
    so there is never a stale lock to clean up by hand. The lock file itself stays.
    """
    # Imported here so `digest --help` does not pay for it.
    from filelock import FileLock, Timeout

    ensure_folder(folder)
    path = folder / LOCK_FILENAME
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("another digest run is writing to %s; waiting up to %g s", folder, wait)
        try:
            lock.acquire(timeout=max(wait, 0))
        except Timeout:
            raise LockTimeout(
                f"another digest run is still writing to {folder} after waiting {wait:g} s"
                " (raise --wait to wait longer)"
            ) from None
    try:
        yield path
    finally:
        lock.release()
