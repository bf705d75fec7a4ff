"""Pin every direct dependency in pyproject.toml to the lowest version its bound allows.

    python3 scripts/lowest_requirements.py [--extra test] [--skip torch] > lowest.txt

What `uv pip install --resolution lowest-direct` does, for pip (which has no such switch, and
which is what finds the CPU build of torch on this machine's disk): each `name>=X` of
[project].dependencies (and of the extras named) becomes `name==X`, markers kept; the
dependencies' own dependencies are left to the resolver. A requirement with no lower bound is
an error: "any version" is a bound nothing checks. `.ci/run` installs the result and runs the
fast tests, so a bound that is too low fails CI instead of a user's `pip install`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"(?P<specifiers>[^;]*?)\s*(?:;\s*(?P<marker>.+))?$"
)


def lowest(requirement: str) -> str:
    """'typer>=0.12' → 'typer==0.12'; "tomli>=2; python_version < '3.11'" keeps its marker."""
    match = _REQUIREMENT.match(requirement)
    if not match:
        raise ValueError(f"cannot read the requirement {requirement!r}")
    bounds = [s.strip() for s in match.group("specifiers").split(",") if s.strip()]
    floors = [b[2:].strip() for b in bounds if b.startswith(">=")]
    if len(floors) != 1:
        raise ValueError(f"{requirement!r}: give exactly one lower bound (>=X) to test")
    pinned = f"{match.group('name')}{match.group('extras') or ''}=={floors[0]}"
    marker = match.group("marker")
    return f"{pinned}; {marker}" if marker else pinned


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in extras:
        found += project["optional-dependencies"][extra]
    return found


def name_of(requirement: str) -> str:
    match = _REQUIREMENT.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group("name")).lower() if match else requirement


def check_installed(pins: list[str]) -> list[str]:
    """The pins that the running Python's installed versions do not match (empty: all do)."""
    from importlib.metadata import PackageNotFoundError, version

    wrong: list[str] = []
    for pin in pins:
        requirement, _, marker = pin.partition(";")
        name, _, wanted = requirement.partition("==")
        if marker and not _marker_holds(marker):
            continue
        try:
            found = version(name.split("[")[0])
        except PackageNotFoundError:
            wrong.append(f"{name}: not installed, {wanted} wanted")
            continue
        if _release(found) != _release(wanted):
            wrong.append(f"{name}: {found} installed, {wanted} wanted")
    return wrong


def _release(text: str) -> tuple[int, ...]:
    """'4.40' and '4.40.0' are the same release; '2.13.0+cpu' is 2.13.0."""
    parts = [int(p) for p in re.findall(r"\d+", text.split("+")[0])[:4]] or [-1]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _marker_holds(marker: str) -> bool:
    from packaging.markers import Marker  # installed with pip's tools; only --check needs it

    return Marker(marker.strip()).evaluate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--extra", action="append", default=[], help="an extra to include too")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="a dependency installed beforehand, left out (torch: its CPU build)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="instead of printing the pins, check that this Python has them installed",
    )
    args = parser.parse_args(argv)
    skip = {name_of(s) for s in args.skip}
    pins = [lowest(r) for r in requirements(args.pyproject, args.extra) if name_of(r) not in skip]
    if not args.check:
        print("\n".join(pins))
        return 0
    wrong = check_installed(pins)
    for line in wrong:
        print(f"lowest versions: {line}", file=sys.stderr)
    if not wrong:
        print(f"lowest versions: all {len(pins)} direct dependencies at their lower bound")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
