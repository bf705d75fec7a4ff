"""Where digest keeps its files by default (imports nothing of the package)."""

from __future__ import annotations

from pathlib import Path


def default_cache_dir() -> Path:
    """~/.cache/digest on Linux (XDG_CACHE_HOME honoured), the platform's equivalent elsewhere."""
    # Imported here: only the CLI needs a default, the library takes an explicit path.
    import platformdirs

    return Path(platformdirs.user_cache_dir("digest", appauthor=False))
