"""README, Makefile and .ci/run agree: CI runs the README's own commands, and fails with them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import readme_commands  # noqa: E402

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_quick_start_is_one_install_line_with_the_pinned_torch_first() -> None:
    command = readme_commands.command(README, "quick-start")
    steps = [step.strip() for step in command.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    torch = re.search(r"^TORCH \?= (\S+)$", MAKEFILE, re.MULTILINE)
    assert torch is not None
    # The same CPU wheel as `make test`, installed before the project pulls in any torch.
    assert steps[1] == f".venv/bin/pip install {torch.group(1)}"
    assert steps[2] == ".venv/bin/pip install -e ."
    assert steps[3].startswith(".venv/bin/digest make ")
    # No pip upgrade: the README must work with the pip `python3 -m venv` ships.
    assert "--upgrade" not in command and "-U " not in command


def test_readme_test_command_is_a_make_target_that_does_not_upgrade_pip() -> None:
    command = readme_commands.command(README, "test")
    assert command == "make test"
    assert re.search(r"^test: ", MAKEFILE, re.MULTILINE)
    assert "--upgrade pip" not in MAKEFILE
    # Every target the README's development table names exists.
    for target in re.findall(r"^\| `make (\w+)` \|", README, re.MULTILINE):
        assert re.search(rf"^{target}:", MAKEFILE, re.MULTILINE), target


def test_ci_takes_its_commands_from_the_readme() -> None:
    assert 'readme_commands.py" quick-start' in CI and 'readme_commands.py" test' in CI
    assert '-c "$quick_start"' in CI and '-c "$test_command"' in CI
    # Nothing the README says is hard-coded beside it, where it could drift.
    assert "pip install" not in CI and "make test" not in CI.replace("test command", "")
    assert "git clone" in CI


def test_extraction_fails_loudly_when_the_readme_changes_shape() -> None:
    with pytest.raises(readme_commands.ReadmeProblem, match="no '## Quick start'"):
        readme_commands.command(README.replace("## Quick start", "## Getting going"), "test")
    only_one = re.sub(r"```sh\nmake test\n```", "", README)
    with pytest.raises(readme_commands.ReadmeProblem, match="1 shell block"):
        readme_commands.command(only_one, "test")


def _project_copy(tmp_path: Path, readme: str) -> Path:
    """A git repository holding this project's tracked files, with `readme` as README.md."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    tracked = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    copy = tmp_path / "project"
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / "README.md").write_text(readme, encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([git, *args], cwd=copy, env=env, check=True, capture_output=True)
    return copy


def test_ci_fails_when_the_readme_command_fails(tmp_path: Path) -> None:
    """A broken quick-start command fails CI, before the test suite could pass it green."""
    command = readme_commands.command(README, "quick-start")
    broken = README.replace(command, "python3 -c 'raise SystemExit(7)' && echo never-reached")
    copy = _project_copy(tmp_path, broken)
    result = subprocess.run(
        ["bash", str(copy / ".ci" / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 7, result.stderr
    assert "README quick start: python3 -c 'raise SystemExit(7)'" in result.stderr
    assert "never-reached" not in result.stdout and "README test command" not in result.stderr


def test_ci_installs_the_browser_the_html_tests_use_when_it_is_missing() -> None:
    # tests/browser.py looks for `chromium`; without it the browser tests skip.
    assert "command -v chromium" in CI and "apt-get install -y chromium" in CI
