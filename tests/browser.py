"""Debian's chromium, headless, for the tests that load the HTML digest in a real browser.

`.ci/run` installs it (`apt-get install -y chromium`) where it is missing; elsewhere the tests
that need it skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

NAMES = ("chromium", "chromium-browser")
TIMEOUT_S = 60


def find_chromium() -> str | None:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium() -> str:
    """The browser's path; the calling test skips, with the reason, when there is none."""
    found = find_chromium()
    if found is None:
        pytest.skip(
            "chromium is not installed (`apt-get install -y chromium`; .ci/run installs it)"
        )
    return found


def run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless chromium with a throwaway profile; --no-sandbox because CI runs as root."""
    with tempfile.TemporaryDirectory(prefix="digest-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            *args,
        ]
        env = {**os.environ, "HOME": profile}
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False
        )
    if result.returncode != 0:
        raise AssertionError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def dump_dom(page: Path, *extra: str) -> str:
    """The DOM chromium built from `page`, serialised after loading (--dump-dom)."""
    return run_chromium(*extra, "--dump-dom", page.resolve().as_uri()).stdout


def parse_dom(html: str) -> Any:
    import lxml.html

    return lxml.html.document_fromstring(html)


def screenshot(page: Path, png: Path, *, width: int, height: int, dark: bool = False) -> Path:
    """A PNG of `page` at `width` x `height`; dark asks for prefers-color-scheme: dark."""
    extra = ["--force-dark-mode"] if dark else []
    run_chromium(
        *extra,
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    )
    return png
