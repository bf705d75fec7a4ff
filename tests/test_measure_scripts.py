"""scripts/measure_structure.py: the structure targets hold on the shared pages and posts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, shared_path


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "measure_structure", ROOT / "scripts" / "measure_structure.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


measure_structure = _load_script()


def _html(path: Path) -> object:
    source = path.read_text(encoding="utf-8")
    return measure_structure.measure(path, lambda d: measure_structure.html_expected(source, d))


def _markdown(path: Path) -> object:
    return measure_structure.measure(
        path, lambda d: measure_structure.markdown_expected(path, d.title)
    )


def _results(folder: str) -> list:
    base = shared_path("data", folder)
    if folder == "html-readability":
        return [_html(path) for path in sorted(base.glob("*/source.html"))]
    return [_markdown(path) for path in sorted(base.glob("*.md"))]


@pytest.mark.parametrize("folder", ["html-readability", "markdown-18f"])
def test_structure_targets(folder: str) -> None:
    results = _results(folder)
    expected = sum(len(r.expected) for r in results)
    missed = sum(len(r.missed) for r in results)
    assert expected > 200
    assert (expected - missed) / expected >= 0.97
    assert [f for r in results for f in r.furniture] == []
    assert max(r.bullets for r in results) <= 12


def test_furniture_and_bullets_are_counted() -> None:
    from digest.model import Document, Section

    sections = tuple(Section(f"Part {i}", ("Some prose here.",), level=2) for i in range(30))
    document = Document(
        Path("x.md"), "X", sections + (Section("Related content", ("a",), level=2),)
    )
    assert measure_structure.bullets(document) == 12
    assert measure_structure.kept_furniture(document) == ["Related content"]
