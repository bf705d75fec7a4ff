"""Where CTranslate2 conversions live in the cache: their folder, its subfolders' names, use
marks, and what conversions and removals killed midway leave behind."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Converted models live in this subfolder of the cache folder (beside the summaries).
CONVERSIONS = "ct2"


def conversions_folder(cache_dir: Path | None) -> Path:
    """Where converted models live: `cache_dir`/ct2 (beside the summaries), else the user
    cache's. Nothing is read from the environment: callers pass the folder they mean."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / CONVERSIONS
    from digest.locations import default_cache_dir

    return default_cache_dir() / CONVERSIONS


class Located(Protocol):
    """Where a checkpoint is: what names its converted copy (a Checkpoint or its Loader)."""

    source: str
    local: bool


def checkpoint_identity(checkpoint: Located) -> dict[str, Any]:
    """What the converted copy depends on: the checkpoint's files (or hub revision), and the
    transformers that read them (its configs and tokenizer are saved beside the weights)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        reader = version("transformers")
    except PackageNotFoundError:
        reader = None
    identity: dict[str, Any] = {"model": checkpoint.source, "transformers": reader}
    if checkpoint.local:
        folder = Path(checkpoint.source)
        files = sorted(p for p in folder.iterdir() if p.is_file())
        identity["files"] = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    else:
        from digest.engines.loading import hub_revision

        # The hub cache keeps each revision in snapshots/<commit>/: that commit names it.
        identity["revision"] = hub_revision(checkpoint.source, holding="config.json")
    return identity


def converted_folder(checkpoint: Located, quantization: str, version: str, root: Path) -> Path:
    """`root` (a conversions_folder()) / <name>-<hash of files or revision and converter
    version>-<quantization>."""
    identity = {**checkpoint_identity(checkpoint), "ctranslate2": version}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    name = Path(checkpoint.source).name if checkpoint.local else checkpoint.source
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[-64:] or "model"
    return root / f"{safe}-{digest}-{quantization}"


#: A leftover folder (below) in which nothing changed for this long belongs to no live run:
#: a live conversion writes into its scratch folder all the time (bart-large converts in about
#: a minute on 2 cores) and a removal deletes its trash folder at once.
LEFTOVER_AGE_S = 3600.0

# The folders runs leave in a conversions folder when killed midway, both made by
# tempfile.mkdtemp() (eight random characters after the prefix): a conversion's scratch
# folder `.NAME.xxxxxxxx` and an interrupted removal's `.trash-NAME.xxxxxxxx` (the same shape,
# its NAME starting with "trash-").
_LEFTOVER = re.compile(r"^\..+\.[a-z0-9_]{8}$")


def remove_leftovers(
    root: Path, *, older_than: float = LEFTOVER_AGE_S, now: float | None = None
) -> list[Path]:
    """Delete the folders killed conversions and interrupted removals left in `root` (a
    conversions folder), where nothing in them changed for `older_than` seconds.

    Conversions take no lock, so a leftover counts as stale only when the newest modification
    time of the folder and everything in it is that old. Other names are never touched.
    """
    removed: list[Path] = []
    cutoff = (time.time() if now is None else now) - older_than
    try:
        candidates = [p for p in root.iterdir() if _LEFTOVER.match(p.name) and p.is_dir()]
    except OSError:
        return removed
    for leftover in candidates:
        try:
            newest = max(
                [leftover.stat().st_mtime] + [p.lstat().st_mtime for p in leftover.rglob("*")]
            )
        except OSError:
            continue  # removed meanwhile by another run: nothing to do
        if newest <= cutoff:
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    if removed:
        log.info("removed %d folder(s) left by interrupted conversions or removals", len(removed))
    return removed


def mark_used(folder: Path) -> None:
    """Record a conversion's last use in its folder's modification time (what pruning reads)."""
    try:
        os.utime(folder)
    except OSError as exc:  # a read-only cache still runs; it only cannot be pruned by age
        log.debug("could not record the use of %s (%s)", folder, exc)
