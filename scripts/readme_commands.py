"""The README's quick-start commands, as CI runs them: read from README.md, so they cannot drift.

    python3 scripts/readme_commands.py quick-start   # the first command a new user runs
    python3 scripts/readme_commands.py test          # the README's test command

Standard library only: CI runs this with the system python3, before any virtualenv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Quick start"
#: The quick-start section's shell blocks, in order: installing and a first digest, then tests.
NAMES = ("quick-start", "test")

_BLOCK = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)


class ReadmeProblem(Exception):
    """The README no longer has the commands CI expects where it expects them."""


def quick_start_blocks(readme: str) -> list[str]:
    """The shell blocks of the README's "Quick start" section (up to the next `## ` heading)."""
    start = readme.find(f"\n{SECTION}\n")
    if start < 0:
        raise ReadmeProblem(f"README.md has no {SECTION!r} section")
    end = readme.find("\n## ", start + len(SECTION) + 2)
    section = readme[start : end if end >= 0 else len(readme)]
    return [block.strip() for block in _BLOCK.findall(section)]


def command(readme: str, name: str) -> str:
    """The command called `name` (see NAMES): one line, exactly as the README shows it."""
    blocks = quick_start_blocks(readme)
    if len(blocks) < len(NAMES):
        raise ReadmeProblem(
            f"README.md's {SECTION!r} has {len(blocks)} shell block(s); expected {len(NAMES)}: "
            "the install-and-run command, then the test command"
        )
    text = blocks[NAMES.index(name)]
    if "\n" in text:
        raise ReadmeProblem(f"README.md's {name} command should be one line:\n{text}")
    return text


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in NAMES:
        print(f"usage: readme_commands.py {{{','.join(NAMES)}}}", file=sys.stderr)
        return 2
    try:
        print(command(README.read_text(encoding="utf-8"), argv[0]))
    except ReadmeProblem as exc:
        print(f"readme_commands: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
