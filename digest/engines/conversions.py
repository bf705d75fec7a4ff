"""Where CTranslate2 conversions live in the cache: their folder names, use marks, and the
scratch folders of conversions killed midway."""

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


def cache_root() -> Path:
    """Where converted models live: DIGEST_CACHE_DIR (as the summary cache), else the user cache."""
    configured = os.environ.get("DIGEST_CACHE_DIR")
    if configured:
        return Path(configured).expanduser() / CONVERSIONS
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


def converted_folder(checkpoint: Located, quantization: str, version: str) -> Path:
    """cache_root()/<name>-<hash of files or revision and converter version>-<quantization>."""
    identity = {**checkpoint_identity(checkpoint), "ctranslate2": version}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    name = Path(checkpoint.source).name if checkpoint.local else checkpoint.source
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[-64:] or "model"
    return cache_root() / f"{safe}-{digest}-{quantization}"


#: A conversion's scratch folder untouched for this long was left by a killed run: a live
#: conversion writes into it all the time (bart-large converts in about a minute on 2 cores).
STALE_SCRATCH_S = 3600.0

# What tempfile.mkdtemp(prefix=".NAME.") makes: eight random characters after the name.
_SCRATCH = re.compile(r"^\..+\.[a-z0-9_]{8}$")


def remove_stale_scratch(root: Path, *, older_than: float = STALE_SCRATCH_S) -> list[Path]:
    """Delete the `.NAME.xxxxxxxx` folders that conversions killed midway left in `root`.

    Conversions take no lock, so a folder counts as stale only when nothing in it changed for
    `older_than` seconds; the newest time of the folder and its files decides.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than
    try:
        candidates = [p for p in root.iterdir() if _SCRATCH.match(p.name) and p.is_dir()]
    except OSError:
        return removed
    for scratch in candidates:
        try:
            newest = max(
                [scratch.stat().st_mtime]
                + [p.stat().st_mtime for p in scratch.rglob("*") if not p.is_symlink()]
            )
        except OSError:
            continue  # removed meanwhile by another run: nothing to do
        if newest <= cutoff:
            shutil.rmtree(scratch, ignore_errors=True)
            removed.append(scratch)
    if removed:
        log.info("removed %d folder(s) left by interrupted conversions", len(removed))
    return removed


def mark_used(folder: Path) -> None:
    """Record a conversion's last use in its folder's modification time (what pruning reads)."""
    try:
        os.utime(folder)
    except OSError as exc:  # a read-only cache still runs; it only cannot be pruned by age
        log.debug("could not record the use of %s (%s)", folder, exc)
