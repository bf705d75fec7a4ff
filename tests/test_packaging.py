"""The real wheel: built from this checkout, it carries the prompts and output templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="the dev extra installs hatchling")
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the build backend is already installed, so nothing is downloaded.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (found,) = out.glob("article_digest-*.whl")
    return found


def test_wheel_carries_prompts_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = {p.name for p in (ROOT / "prompts").glob("*.j2")}
    assert prompts and {f"digest/prompts/{name}" for name in prompts} <= names
    templates = {p.name for p in (ROOT / "digest" / "templates").glob("*.j2")}
    assert {f"digest/templates/{name}" for name in templates} <= names


def test_installed_wheel_finds_its_prompts(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    code = (
        "import digest.prompts as p; "
        f"assert p.__file__.startswith({str(target)!r}), p.__file__; "
        "print(p.search_path()[0]); p.load_prompt('t5'); p.load_prompt('plain')"
    )
    # Run from an empty folder with the installed copy first on the path, so the checkout's
    # prompts/ cannot be the one found.
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target / "digest" / "prompts")


def test_the_distribution_has_a_name_of_its_own_and_the_command_and_package_keep_digest(
    wheel: Path,
) -> None:
    """The name "digest" on the public package index is an unrelated project (file digests):
    `pip install 'digest[ray]'` would install that. The wheel is article-digest; what users
    type afterwards (`digest`) and import (`digest`) stay."""
    from email.parser import HeaderParser

    from digest import __version__

    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    headers = HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))
    assert headers["Name"] == "article-digest"
    assert headers["Version"] == __version__  # `digest --version` says what pip installed
    assert metadata.startswith(f"article_digest-{__version__}.dist-info/")
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "digest = digest.cli:main" in archive.read(entry_points).decode("utf-8")
    assert {n.split("/")[0] for n in archive.namelist()} == {
        "digest",
        f"article_digest-{__version__}.dist-info",
    }
    extras = headers.get_all("Provides-Extra") or []
    assert "ray" in extras and "fast" not in extras  # CTranslate2 is in the default install
    requires = headers.get_all("Requires-Dist") or []
    assert any(r.startswith("ctranslate2>=") and "extra ==" not in r for r in requires)
