"""Which files a run reads, and how often: symlinked folders, overlapping sources, sizes."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fake_engine import write_articles

from digest import Options, PublishOptions, make_digest, publish
from digest.sources import find_inputs
from digest.state import RunState, Since

DAY = dt.date(2026, 11, 24)
EXTRACTIVE = Options(engine="extractive", date=DAY, cache=None)


def names(paths: list[Path], base: Path) -> list[str]:
    return [str(p.relative_to(base)) for p in paths]


def test_a_symlinked_folder_is_followed(tmp_path: Path) -> None:
    write_articles(tmp_path / "src", 1)
    write_articles(tmp_path / "elsewhere", 2, start=5)
    (tmp_path / "src" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = names(find_inputs([tmp_path / "src"]), tmp_path / "src")
    assert found == ["article-000.txt", "linked/article-005.txt", "linked/article-006.txt"]


def test_symlink_loops_are_walked_once(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_articles(src / "sub", 1)
    (src / "sub" / "up").symlink_to(src, target_is_directory=True)
    (src / "self").symlink_to(".", target_is_directory=True)
    assert names(find_inputs([src]), src) == ["sub/article-000.txt"]


def test_a_folder_and_a_file_in_it_are_one_input(tmp_path: Path) -> None:
    src = tmp_path / "src"
    first, second = write_articles(src, 2)
    (tmp_path / "alias.txt").symlink_to(first)
    found = find_inputs([src, first, src / "." / first.name, tmp_path / "alias.txt", src])
    assert found == [first, second]
    digest = make_digest([src, first, tmp_path / "alias.txt"], EXTRACTIVE)
    assert [a.title for a in digest.articles] == ["Story 0", "Story 1"]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each file was opened (reading, hashing), through pathlib or os.open."""
    counts: Counter[str] = Counter()
    real_open = pathlib.Path.open
    real_os_open = os.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        counts[self.name] += 1
        return real_open(self, *args, **kwargs)

    def counting_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        counts[Path(path).name] += 1
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    return counts


def test_each_file_is_read_once_and_one_too_large_never(
    tmp_path: Path, opened: Counter[str]
) -> None:
    src = tmp_path / "src"
    write_articles(src, 2)
    big = src / "big.txt"
    big.write_text("Big\n\n" + "word " * 5_000, encoding="utf-8")
    options = Options(engine="extractive", date=DAY, cache=None, max_bytes=10_000)
    opened.clear()  # writing them counted too
    select = RunState.load(tmp_path / "out").selector(Since(last=True))
    digest = make_digest([src], options, select=select)
    assert [s.reason[:9] for s in digest.skipped] == ["too large"]
    assert opened["article-000.txt"] == opened["article-001.txt"] == 1
    assert opened["big.txt"] == 0


def test_a_too_large_file_is_reported_by_the_first_since_run_only(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_articles(src, 1)
    big = src / "big.txt"
    big.write_text("Big\n\n" + "word " * 5_000, encoding="utf-8")
    options = Options(engine="extractive", date=DAY, cache=None, max_bytes=10_000)
    since = PublishOptions(out=tmp_path / "out", since=Since(last=True))
    assert publish([src], options, since).exit_code == 3
    assert publish([src], options, since).exit_code == 0
    big.write_text("Big\n\n" + "other " * 5_000, encoding="utf-8")
    os.utime(big, ns=(big.stat().st_atime_ns, big.stat().st_mtime_ns + 10**9))
    assert publish([src], options, since).exit_code == 3  # changed again: reported again


class LocalSession:
    """Stands in for a Ray session: runs the reader here, and records the paths it is given."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def read(self, paths: list[Path], reader: Any) -> list[Any]:
        self.paths += paths
        return [reader(path) for path in paths]


def test_since_last_under_a_cluster_session_reads_only_what_is_new(tmp_path: Path) -> None:
    from digest.reading import read_sources

    src = tmp_path / "src"
    first, second = write_articles(src, 2)
    state = RunState.load(tmp_path / "out")
    session = LocalSession()
    documents, _, _ = read_sources(
        [src],
        select=state.selector(Since(last=True)),
        session=session,  # type: ignore[arg-type]
    )
    assert [d.title for d in documents] == ["Story 0", "Story 1"]
    state.save()
    second.write_text(second.read_text(encoding="utf-8") + " One more sentence.\n")
    state = RunState.load(tmp_path / "out")
    session = LocalSession()
    documents, _, _ = read_sources(
        [src],
        select=state.selector(Since(last=True)),
        session=session,  # type: ignore[arg-type]
    )
    assert [d.title for d in documents] == ["Story 1"]
    assert session.paths == [second.absolute()]  # the workers read only the changed file
