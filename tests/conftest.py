"""Shared fixtures: offline Hugging Face, the ../shared data folder, and small helpers."""

from __future__ import annotations

import os

# Before anything imports transformers: no test may touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder (publishers' texts we may read but not copy); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (only present on the team's machines)")
    return SHARED


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path
