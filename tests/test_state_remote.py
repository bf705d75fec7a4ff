"""The state's memory of feed entries and HTTP validators (digest.state.RemoteMemory)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from digest.http import Validators
from digest.state import STATE_FILENAME, RunState, Since

NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)
FEED = "https://example.org/feed.xml"


def test_entries_are_new_once_then_seen(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    memory = state.remote_memory(Since(last=True))
    assert memory.wanted("a", "fp1", None) == "new"
    memory.record("a", "fp1", FEED)
    state.save(now=NOW)

    again = RunState.load(tmp_path).remote_memory(Since(last=True))
    assert again.wanted("a", "fp1", None) is None
    assert again.wanted("a", "fp2", None) is None  # updated, but not asked for
    assert again.wanted("b", "fp1", None) == "new"
    asked = RunState.load(tmp_path).remote_memory(Since(last=True), include_updated=True)
    assert asked.wanted("a", "fp2", None) == "updated"
    assert asked.wanted("a", "fp1", None) is None
    # A web page whose text changed is new, as a changed file is.
    assert again.wanted("a", "fp2", None, page=True) == "new"


def test_without_since_everything_is_wanted_and_nothing_conditional(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    state.remote_memory(None).fetched(FEED, Validators('"e1"', "Mon, 23 Nov 2026 06:00:00 GMT"))
    state.remote_memory(None).record("a", "fp", FEED)
    state.save(now=NOW)
    loaded = RunState.load(tmp_path)
    assert loaded.remote_memory(None).wanted("a", "fp", None) == "new"
    assert loaded.remote_memory(None).validators(FEED) is None
    assert loaded.remote_memory(Since(last=True)).validators(FEED) == Validators(
        '"e1"', "Mon, 23 Nov 2026 06:00:00 GMT"
    )


def test_a_cutoff_takes_entries_dated_after_it_and_undated_ones(tmp_path: Path) -> None:
    memory = RunState.load(tmp_path).remote_memory(Since(cutoff=NOW - dt.timedelta(hours=24)))
    assert memory.wanted("a", "x", NOW - dt.timedelta(hours=2)) == "new"
    assert memory.wanted("b", "x", NOW - dt.timedelta(days=3)) is None
    assert memory.wanted("c", "x", None) == "new"


def test_entries_unseen_for_90_days_are_forgotten_unless_their_feed_answered_304(
    tmp_path: Path,
) -> None:
    state = RunState.load(tmp_path)
    memory = state.remote_memory(Since(last=True))
    memory.record("old", "fp", FEED)
    memory.record("other", "fp", "https://other.example/rss")
    state.save(now=NOW)

    later = NOW + dt.timedelta(days=91)
    state = RunState.load(tmp_path)
    state.remote_memory(Since(last=True)).unchanged(FEED)  # a 304: its entries are still listed
    state.save(now=later)
    entries = json.loads((tmp_path / STATE_FILENAME).read_text(encoding="utf-8"))["entries"]
    assert set(entries) == {"old"}
    assert entries["old"]["seen"] == later.date().isoformat()


def test_nothing_is_recorded_until_saved(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    state.remote_memory(Since(last=True)).record("a", "fp", FEED)
    # The run died before its digest was written: no save, so "a" is still new.
    assert RunState.load(tmp_path).remote_memory(Since(last=True)).wanted("a", "fp", None) == "new"
