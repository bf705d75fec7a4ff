"""scripts/lowest_requirements.py: pyproject's lower bounds as the pins `make lowest` installs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import lowest_requirements  # noqa: E402


@pytest.mark.parametrize(
    ("requirement", "pin"),
    [
        ("typer>=0.12", "typer==0.12"),
        ("lxml_html_clean>=0.1", "lxml_html_clean==0.1"),
        ("tomli>=2; python_version < '3.11'", "tomli==2; python_version < '3.11'"),
        ("ray[default] >= 2.40", "ray[default]==2.40"),
        ("numpy>=1.24,<3", "numpy==1.24"),
    ],
)
def test_a_lower_bound_becomes_a_pin(requirement: str, pin: str) -> None:
    assert lowest_requirements.lowest(requirement) == pin


@pytest.mark.parametrize("requirement", ["torch", "typer<1", "numpy==1.24"])
def test_a_requirement_without_one_lower_bound_is_refused(requirement: str) -> None:
    with pytest.raises(ValueError, match="lower bound"):
        lowest_requirements.lowest(requirement)


def test_every_direct_dependency_is_pinned_at_its_bound_and_torch_left_to_the_cpu_build() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lowest_requirements.py")]
        + ["--extra", "test", "--skip", "torch"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pins = done.stdout.splitlines()
    names = {re.split(r"[=\[;]", p)[0].lower() for p in pins}
    assert {"typer", "transformers", "ctranslate2", "pytest", "rouge-score"} <= names
    assert "torch" not in names
    assert all("==" in p and ">" not in p.split(";")[0] for p in pins)


def test_check_names_what_is_not_at_its_bound(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["pytest>=1.0", "no-such-dist-here>=1"]\n'
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lowest_requirements.py")]
        + ["--pyproject", str(pyproject), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "pytest: " in done.stderr and ", 1.0 wanted" in done.stderr
    assert "no-such-dist-here: not installed, 1 wanted" in done.stderr


def test_the_same_release_spelt_two_ways_is_the_same() -> None:
    release = lowest_requirements._release
    assert release("4.40") == release("4.40.0") and release("2.13.0+cpu") == release("2.13")
    assert release("6.0.1") != release("6")
