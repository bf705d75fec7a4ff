"""`digest cache info|clear|prune`, last-use tracking, daily automatic pruning, concurrency."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_engine import RUNNER, runner_env, write_articles
from typer.testing import CliRunner

from digest import cli
from digest.cache import (
    CACHE_FILENAME,
    CORRUPT_STAMP,
    PRUNE_EVERY_S,
    TOUCH_EVERY_S,
    Cached,
    SummaryCache,
)
from digest.cache_maintenance import (
    cache_info,
    clear_cache,
    parse_age,
    parse_max_age,
    prune_cache,
)
from digest.engines.conversions import LEFTOVER_AGE_S, conversions_folder, remove_leftovers
from digest.errors import UsageError
from digest.pipeline import Options, make_digest

DAY = 86400.0
runner = CliRunner()


def row(text: str) -> Cached:
    return Cached(text, "extractive", None, None)


def used_times(path: Path) -> dict[str, float]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT key, used FROM summaries"))


def age_rows(path: Path, keys: list[str], days: float) -> None:
    """Pretend `keys` were last used `days` ago."""
    with sqlite3.connect(path) as db:
        db.executemany(
            "UPDATE summaries SET used = ? WHERE key = ?",
            [(time.time() - days * DAY, key) for key in keys],
        )


def conversion(folder: Path, name: str, *, days: float, size: int = 1000) -> Path:
    """A converted model folder last used `days` ago (its mtime, as the backend records it),
    its files written then too."""
    path = folder / "ct2" / name
    path.mkdir(parents=True)
    (path / "model.bin").write_bytes(b"\0" * size)
    (path / "config.json").write_text("{}", encoding="utf-8")
    stamp = time.time() - days * DAY
    for written in (path / "model.bin", path / "config.json", path):
        os.utime(written, (stamp, stamp))
    return path


# -- ages


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * DAY), ("12h", 43200), ("2w", 14 * DAY), ("90m", 5400)]
)
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_bad_age_and_never() -> None:
    with pytest.raises(UsageError, match="--older-than must be an age"):
        parse_age("soon")
    assert parse_max_age("never") is None and parse_max_age("90d") == 90 * DAY


# -- last use and pruning in the database


def test_schema_1_file_is_migrated_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE summaries (key TEXT PRIMARY KEY, summary TEXT NOT NULL,"
            " engine TEXT NOT NULL, model TEXT, backend TEXT, created REAL NOT NULL)"
        )
        db.execute("INSERT INTO summaries VALUES ('k', 'old', 'extractive', NULL, NULL, 1000.0)")
        db.execute("PRAGMA user_version = 1")
    with SummaryCache(path) as cache:
        assert cache.get_many(["k"]) == {"k": row("old")}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    # Read just now, so its last use is now, not its creation in 1970.
    assert used_times(path)["k"] > time.time() - 60


def test_reads_record_last_use_at_most_hourly(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([("a", row("A")), ("b", row("B"))])
        written = used_times(path)
        cache.get_many(["a", "b"])
        assert used_times(path) == written, "a fresh row was rewritten on read"
        age_rows(path, ["a"], days=TOUCH_EVERY_S / DAY * 2)
        cache.get_many(["a"])
    assert used_times(path)["a"] >= written["a"]


def test_prune_deletes_only_what_was_not_used(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([(k, row(k)) for k in ("old", "recent", "new")])
        age_rows(path, ["old"], days=40)
        age_rows(path, ["recent"], days=20)
        assert cache.prune(30 * DAY) == 1
        assert sorted(cache.get_many(["old", "recent", "new"])) == ["new", "recent"]


def test_automatic_pruning_happens_at_most_once_a_day(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([("a", row("A"))])
        age_rows(path, ["a"], days=100)
        now = time.time()
        assert cache.prune_if_due(90 * DAY, now=now) == 1
        cache.put_many([("b", row("B"))])
        age_rows(path, ["b"], days=100)
        assert cache.prune_if_due(90 * DAY, now=now + PRUNE_EVERY_S - 60) is None
        assert len(cache) == 1
        assert cache.prune_if_due(90 * DAY, now=now + PRUNE_EVERY_S + 60) == 1


def test_a_run_prunes_what_it_did_not_use_and_keeps_what_it_did(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 3)
    path = tmp_path / "cache" / CACHE_FILENAME
    options = Options(engine="extractive", cache=path, cache_max_age=30 * DAY)
    make_digest([tmp_path / "in"], options)
    used = sorted(used_times(path))
    with SummaryCache(path) as cache:
        cache.put_many([("stale", row("from a document long gone"))])
        # Both the stale row and this run's rows look 40 days old; the last prune 2 days ago.
        age_rows(path, ["stale", *used], days=40)
        cache._write(
            "test",
            [("UPDATE meta SET value = ? WHERE name = 'pruned'", [time.time() - 2 * DAY])],
            unless_after=float("inf"),
        )
    conversion(tmp_path / "cache", "old-model-int8", days=40)
    conversion(tmp_path / "cache", "fresh-model-int8", days=1)
    make_digest([tmp_path / "in"], options)
    assert sorted(used_times(path)) == used, "the stale row survived, or a used one went"
    assert [p.name for p in (tmp_path / "cache" / "ct2").iterdir()] == ["fresh-model-int8"]


def test_no_pruning_with_never(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 1)
    path = tmp_path / "cache" / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([("stale", row("x"))])
    age_rows(path, ["stale"], days=400)
    make_digest([tmp_path / "in"], Options(engine="extractive", cache=path, cache_max_age=None))
    assert "stale" in used_times(path)


# -- conversions and the folder


def test_info_clear_and_prune_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    assert cache_info(folder).exists is False and not folder.exists()  # info creates nothing
    with SummaryCache(folder / CACHE_FILENAME) as cache:
        cache.put_many([(k, row(k)) for k in ("a", "b", "c")])
    age_rows(folder / CACHE_FILENAME, ["a"], days=10)
    conversion(folder, "t5-small-abc-int8", days=10, size=5000)
    conversion(folder, "bart-def-int8", days=1, size=7000)
    leftover = conversion(folder, ".t5-small-abc-int8.k2j_4x9q", days=3)  # a killed conversion
    trash = conversion(folder, ".trash-bart-old-int8.q1w2e3r4", days=2)  # an interrupted removal

    info = cache_info(folder)
    assert (info.exists, info.entries) == (True, 3)
    assert info.oldest_use is not None and info.newest_use is not None
    assert info.newest_use - info.oldest_use > 9 * DAY
    assert [(c.name, c.bytes) for c in info.conversions] == [
        ("t5-small-abc-int8", 5002),
        ("bart-def-int8", 7002),
    ]
    assert info.total_bytes == info.database_bytes + 5002 + 7002

    removed = prune_cache(folder, 5 * DAY)
    assert removed.summaries == 1 and [c.name for c in removed.conversions] == ["t5-small-abc-int8"]
    assert not leftover.exists() and not trash.exists()
    assert sorted(p.name for p in (folder / "ct2").iterdir()) == ["bart-def-int8"]

    assert clear_cache(folder).summaries == 2
    assert [c.name for c in cache_info(folder).conversions] == ["bart-def-int8"]
    assert [c.name for c in clear_cache(folder, include_conversions=True).conversions] == [
        "bart-def-int8"
    ]
    assert list((folder / "ct2").iterdir()) == []  # nothing half-removed left behind


def damaged_copy(folder: Path, *, days: float, size: int = 3000) -> Path:
    """A damaged cache file moved aside `days` ago, named as SummaryCache names it (a rename
    keeps the file's old modification time, so the name is what dates it)."""
    moved = dt.datetime.fromtimestamp(time.time() - days * DAY).strftime(CORRUPT_STAMP)
    path = folder / f"{CACHE_FILENAME}.corrupt-{moved}"
    path.write_bytes(b"\xa5" * size)
    stamp = time.time() - 400 * DAY  # last written long before it was found damaged
    os.utime(path, (stamp, stamp))
    return path


def test_damaged_copies_are_counted_and_pruned_with_the_summaries(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / CACHE_FILENAME).write_bytes(b"not a database " * 100)
    with SummaryCache(folder / CACHE_FILENAME) as cache:  # moves it aside now
        cache.put_many([("a", row("A"))])
    (fresh,) = folder.glob(f"{CACHE_FILENAME}.corrupt-*")
    old = damaged_copy(folder, days=40)
    recent = damaged_copy(folder, days=10, size=5000)
    (folder / "unrelated.corrupt-20200101T000000").write_bytes(b"not ours")

    info = cache_info(folder)
    assert [(c.name, c.bytes) for c in info.corrupt] == [
        (old.name, 3000),
        (recent.name, 5000),
        (fresh.name, 1500),
    ]
    assert info.total_bytes == info.database_bytes + 3000 + 5000 + 1500

    removed = prune_cache(folder, 30 * DAY)
    assert [c.name for c in removed.corrupt] == [old.name]
    assert [c.name for c in cache_info(folder).corrupt] == [recent.name, fresh.name]
    assert [c.name for c in clear_cache(folder).corrupt] == [recent.name, fresh.name]
    assert sorted(p.name for p in folder.iterdir()) == [
        CACHE_FILENAME,
        "unrelated.corrupt-20200101T000000",
    ]


def test_a_run_prunes_old_damaged_copies_once_a_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_articles(tmp_path / "in", 1)
    folder = tmp_path / "cache"
    folder.mkdir()
    old = damaged_copy(folder, days=40)
    recent = damaged_copy(folder, days=10)
    options = Options(engine="extractive", cache=folder / CACHE_FILENAME, cache_max_age=30 * DAY)
    with caplog.at_level(logging.INFO, logger="digest"):
        make_digest([tmp_path / "in"], options)
    assert not old.exists() and recent.exists()
    assert "1 damaged cache copies older than that" in caplog.text


def test_info_of_a_cache_written_by_a_newer_version(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    with SummaryCache(folder / CACHE_FILENAME) as cache:
        cache.put_many([("a", row("A"))])
    db = sqlite3.connect(folder / CACHE_FILENAME, isolation_level=None)
    db.execute("PRAGMA user_version = 7")
    db.close()
    damaged_copy(folder, days=3, size=2_000_000)
    before = (folder / CACHE_FILENAME).read_bytes()

    info = runner.invoke(cli.app, ["cache", "info", "--cache-dir", str(folder)])
    assert info.exit_code == 0, info.output
    assert re.search(
        r"^summaries:    not read: summaries\.sqlite3 \([\d.]+ KB\) was written by a newer "
        r"version of digest \(cache schema 7\)$",
        info.stdout,
        re.MULTILINE,
    ), info.stdout
    assert "oldest use:" not in info.stdout
    assert "damaged:      1 unreadable cache file(s) moved aside (2.0 MB)" in info.stdout
    assert "3 days ago" in info.stdout
    assert (folder / CACHE_FILENAME).read_bytes() == before

    pruned = runner.invoke(
        cli.app, ["cache", "prune", "--older-than", "1d", "--cache-dir", str(folder)]
    )
    assert pruned.exit_code == 1  # the summaries are the newer version's to prune
    assert pruned.stderr.splitlines()[-2:] == [
        "digest: pruned 0 converted model(s) (0 bytes), and 1 damaged cache file(s) (2.0 MB)",
        "digest: error: the summary cache could not be changed (see the warning above)",
    ]
    assert not list(folder.glob("*.corrupt-*")) and (folder / CACHE_FILENAME).read_bytes() == before


def test_the_conversions_folder_is_the_one_given_never_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.locations import default_cache_dir

    monkeypatch.setenv("DIGEST_CACHE_DIR", str(tmp_path / "from-the-environment"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert conversions_folder(tmp_path / "cache") == tmp_path / "cache" / "ct2"
    assert conversions_folder(Path("~/c")) == tmp_path / "home" / "c" / "ct2"
    assert conversions_folder(None) == default_cache_dir() / "ct2"
    assert "from-the-environment" not in str(conversions_folder(None))


def test_leftovers_are_removed_by_one_rule(tmp_path: Path) -> None:
    """What killed conversions (`.NAME.xxxxxxxx`) and removals (`.trash-NAME.xxxxxxxx`) leave
    goes once nothing in it changed for an hour: the rule conversions and pruning share."""
    root = tmp_path / "ct2"
    now = time.time()

    def leftover(name: str, *, hours: float, fresh: str | None = None) -> Path:
        path = root / name
        (path / "t5-abc-int8" / "light").mkdir(parents=True)
        (path / "t5-abc-int8" / "model.bin").write_bytes(b"weights")
        stamp = now - hours * 3600
        for written in sorted(path.rglob("*"), reverse=True) + [path]:
            os.utime(written, (stamp, stamp))
        if fresh:  # written just now, deep inside: a conversion still at work
            os.utime(path / fresh, (now, now))
        return path

    stale = leftover(".t5-abc-int8.k2j_4x9q", hours=1.1)
    trash = leftover(".trash-t5-abc-int8.a8b7c6d5", hours=1.1)
    recent = leftover(".t5-abc-int8.zz11yy22", hours=0.9)
    live = leftover(".t5-abc-int8.q1w2e3r4", hours=30, fresh="t5-abc-int8/light")
    kept = [
        recent,
        live,
        leftover(".keep-me", hours=30),  # not a name conversions or removals make
        leftover(".t5-abc-int8.tmp1234", hours=30),  # seven characters: not mkdtemp's
        conversion(tmp_path, "t5-abc-int8", days=30),  # a conversion, pruned by its last use
    ]
    assert LEFTOVER_AGE_S == 3600
    assert sorted(remove_leftovers(root, now=now)) == sorted([stale, trash])
    assert sorted(root.iterdir()) == sorted(kept)
    # An hour later the recent one is stale too; the live one is not, while it is written to.
    assert remove_leftovers(root, now=now + 0.2 * 3600) == [recent]
    # Pruning and clearing remove them by the same rule.
    prune_cache(tmp_path, 90 * DAY, now=now + 2 * 3600)
    assert not live.exists() and (root / ".keep-me").is_dir()
    clear_cache(tmp_path, include_conversions=True)
    assert sorted(p.name for p in root.iterdir()) == [".keep-me", ".t5-abc-int8.tmp1234"]


def test_cli_commands(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    write_articles(tmp_path / "in", 2)
    made = runner.invoke(
        cli.app,
        ["make", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-e", "extractive"]
        + ["--cache-dir", str(folder)],
    )
    assert made.exit_code == 0, made.output
    conversion(folder, "t5-small-abc-int8", days=40, size=2_500_000)

    info = runner.invoke(cli.app, ["cache", "info", "--cache-dir", str(folder)])
    assert info.exit_code == 0, info.output
    assert f"location:     {folder}" in info.stdout
    entries = len(used_times(folder / CACHE_FILENAME))
    assert f"summaries:    {entries} in summaries.sqlite3" in info.stdout
    assert "t5-small-abc-int8  2.5 MB  last used" in info.stdout and "40 days ago" in info.stdout

    pruned = runner.invoke(
        cli.app, ["cache", "prune", "--older-than", "30d", "--cache-dir", str(folder)]
    )
    assert pruned.exit_code == 0, pruned.output
    assert "pruned 0 summaries (0 bytes) and 1 converted model(s) (2.5 MB); 2.5 MB freed" in (
        pruned.stderr
    )
    bad = runner.invoke(cli.app, ["cache", "prune", "--older-than", "a while"])
    assert bad.exit_code == 2 and "--older-than must be an age" in bad.stderr

    cleared = runner.invoke(cli.app, ["cache", "clear", "--cache-dir", str(folder)])
    assert cleared.exit_code == 0 and f"deleted {entries} summaries" in cleared.stderr


def test_prune_reports_the_space_the_summaries_gave_back(tmp_path: Path) -> None:
    """Deleted rows free nothing until the file is compacted: the report is the file's size
    before and after, not the (zero) size of the converted models alone."""
    folder = tmp_path / "cache"
    database = folder / CACHE_FILENAME
    folder.mkdir()
    with SummaryCache(database) as cache:
        cache.put_many(
            (f"k{i}", row("A summary sentence of some length. " * 20)) for i in range(300)
        )
    age_rows(database, [f"k{i}" for i in range(250)], days=40)
    before = database.stat().st_size

    pruned = runner.invoke(
        cli.app, ["cache", "prune", "--older-than", "30d", "--cache-dir", str(folder)]
    )

    assert pruned.exit_code == 0, pruned.output
    freed = before - database.stat().st_size
    assert freed > 100_000
    line = pruned.stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r"digest: pruned 250 summaries \(([\d.]+) KB\) and 0 converted model\(s\) \(0 bytes\); "
        r"([\d.]+) KB freed",
        line,
    )
    assert match, line
    assert float(match.group(1)) == float(match.group(2)) == round(freed / 1000, 1)
    assert prune_cache(folder, 30 * DAY).database_bytes == 0  # nothing left to give back


def test_cache_dir_and_max_age_from_digest_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGEST_CACHE_DIR")
    (tmp_path / "digest.toml").write_text('cache_dir = "c"\ncache_max_age = "never"\n')
    write_articles(tmp_path / "in", 1)
    assert runner.invoke(cli.app, ["make", "in", "-e", "extractive", "-q"]).exit_code == 0
    info = runner.invoke(cli.app, ["cache", "info"])
    assert f"location:     {tmp_path / 'c'}" in info.stdout, info.output
    assert "last pruned:  never" in info.stdout  # cache_max_age = "never": no automatic prune


# -- other processes


READER = """
import sys, time
from pathlib import Path
from digest.cache import SummaryCache
keys = [f"keep-{n}" for n in range(200)]
with SummaryCache(Path(sys.argv[1])) as cache:
    deadline, reads = time.time() + float(sys.argv[2]), 0
    while time.time() < deadline:
        found = cache.get_many(keys + [f"old-{n}" for n in range(200)])
        assert all(found[k].summary == k for k in keys), "a used row went missing"
        reads += 1
print(reads)
"""


def test_pruning_while_another_process_reads(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([(f"keep-{n}", row(f"keep-{n}")) for n in range(200)])
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path), "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pruned = 0
    try:
        time.sleep(0.5)
        deadline = time.time() + 4
        while time.time() < deadline:
            # Rows the reader never asks for, aged out and pruned, over and over, mid-read.
            with SummaryCache(path) as cache:
                cache.put_many([(f"old-{n}", row("old")) for n in range(200)])
            age_rows(path, [f"old-{n}" for n in range(200)], days=100)
            pruned += prune_cache(tmp_path, 30 * DAY).summaries
    finally:
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert err == "" and int(out) > 0
    assert pruned >= 200  # each prune removed the old rows, none of the rows in use


def test_cache_commands_work_while_a_run_holds_the_output_lock(tmp_path: Path) -> None:
    """A run keeps its output folder locked for its whole length; the cache does not wait on it."""
    write_articles(tmp_path / "in", 30)
    cache = tmp_path / "cache"
    calls = tmp_path / "calls"
    hold = tmp_path / "hold"  # the run stays in the engine until this goes
    hold.touch()
    slow = subprocess.Popen(
        [sys.executable, RUNNER, "make", "in", "-o", "out", "--cache-dir", str(cache), "-q"],
        cwd=tmp_path,
        env=runner_env(FAKE_ENGINE_CALLS=str(calls), FAKE_ENGINE_HOLD=str(hold)),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while not calls.exists() and time.time() < deadline:
            time.sleep(0.05)  # until the first batch is committed: the run is mid-way
        assert slow.poll() is None, "the run ended before the cache commands could race it"
        for args in (["info"], ["prune", "--older-than", "1s"], ["clear", "--conversions"]):
            result = runner.invoke(cli.app, ["cache", *args, "--cache-dir", str(cache)])
            assert result.exit_code == 0, result.output
        assert slow.poll() is None, "the cache commands waited for the run"
    finally:
        hold.unlink()
        _, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err
    assert err == ""
    assert len(list((tmp_path / "out").glob("digest-*.md"))) == 1
