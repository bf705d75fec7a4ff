"""The state's memory of feed entries and HTTP validators (digest.state.RemoteMemory)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from digest.http import Validators
from digest.state import STATE_FILENAME, RunState, Since

NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)
FEED = "https://example.org/feed.xml"
OTHER = "https://other.example/rss"
LAST = Since(last=True)


def test_entries_are_new_once_then_seen(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    memory = state.remote_memory(LAST)
    assert memory.wanted(FEED, "a", "fp1", None) == "new"
    memory.record(FEED, "a", "fp1")
    state.save(now=NOW)

    again = RunState.load(tmp_path).remote_memory(LAST)
    assert again.wanted(FEED, "a", "fp1", None) is None
    assert again.wanted(FEED, "a", "fp2", None) is None  # updated, but not asked for
    assert again.wanted(FEED, "b", "fp1", None) == "new"
    asked = RunState.load(tmp_path).remote_memory(LAST, include_updated=True)
    assert asked.wanted(FEED, "a", "fp2", None) == "updated"
    assert asked.wanted(FEED, "a", "fp1", None) is None
    # A web page whose text changed is new, as a changed file is.
    assert again.wanted(FEED, "a", "fp2", None, page=True) == "new"


def test_entries_are_known_per_feed(tmp_path: Path) -> None:
    """Another feed listing the same id, first or with other text, changes nothing."""
    state = RunState.load(tmp_path)
    state.remote_memory(LAST).record(OTHER, "https://example.org/?p=1", "claimed")
    state.save(now=NOW)
    memory = RunState.load(tmp_path).remote_memory(LAST)
    assert memory.wanted(FEED, "https://example.org/?p=1", "claimed", None) == "new"
    assert memory.wanted(OTHER, "https://example.org/?p=1", "claimed", None) is None


def test_without_since_everything_is_wanted_and_nothing_conditional(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    state.remote_memory(None).fetched(FEED, Validators('"e1"', "Mon, 23 Nov 2026 06:00:00 GMT"))
    state.remote_memory(None).record(FEED, "a", "fp")
    state.save(now=NOW)
    loaded = RunState.load(tmp_path)
    assert loaded.remote_memory(None).wanted(FEED, "a", "fp", None) == "new"
    assert loaded.remote_memory(None).validators(FEED) is None
    assert loaded.remote_memory(LAST).validators(FEED) == Validators(
        '"e1"', "Mon, 23 Nov 2026 06:00:00 GMT"
    )


def test_a_cutoff_takes_entries_dated_after_it_and_undated_ones(tmp_path: Path) -> None:
    memory = RunState.load(tmp_path).remote_memory(Since(cutoff=NOW - dt.timedelta(hours=24)))
    assert memory.wanted(FEED, "a", "x", NOW - dt.timedelta(hours=2)) == "new"
    assert memory.wanted(FEED, "b", "x", NOW - dt.timedelta(days=3)) is None
    assert memory.wanted(FEED, "c", "x", None) == "new"


def test_entries_unseen_for_90_days_are_forgotten_unless_their_feed_answered_304(
    tmp_path: Path,
) -> None:
    state = RunState.load(tmp_path)
    memory = state.remote_memory(LAST)
    memory.record(FEED, "old", "fp")
    memory.record(OTHER, "other", "fp")
    state.save(now=NOW)

    later = NOW + dt.timedelta(days=91)
    state = RunState.load(tmp_path)
    state.remote_memory(LAST).unchanged(FEED)  # a 304: its entries are still listed
    state.save(now=later)
    saved = json.loads((tmp_path / STATE_FILENAME).read_text(encoding="utf-8"))
    assert saved["version"] == 2
    assert saved["feeds"] == {FEED: {"old": {"fp": "fp", "seen": later.date().isoformat()}}}


def test_an_entry_shared_with_a_failing_feed_is_not_forgotten(tmp_path: Path) -> None:
    """Both feeds list it; one then answers 304 for months while the other fails. The old
    state knew the entry by its last feed only (the failing one), forgot it after 90 days, and
    sent it again once the first feed changed."""
    state = RunState.load(tmp_path)
    memory = state.remote_memory(LAST)
    memory.record(FEED, "https://example.org/?p=1", "fp")
    memory.record(OTHER, "https://example.org/?p=1", "fp")
    state.save(now=NOW)
    for days in (30, 60, 91):
        state = RunState.load(tmp_path)
        state.remote_memory(LAST).unchanged(FEED)
        state.remote_memory(LAST).unavailable(OTHER)
        state.save(now=NOW + dt.timedelta(days=days))
    memory = RunState.load(tmp_path).remote_memory(LAST)
    assert memory.wanted(FEED, "https://example.org/?p=1", "fp", None) is None
    # Nor is the failing feed's: not seen is not gone, so it sends nothing twice when back.
    assert memory.wanted(OTHER, "https://example.org/?p=1", "fp", None) is None


def test_a_version_1_state_is_read_and_sends_nothing_twice(tmp_path: Path) -> None:
    seen = "2026-11-20"
    (tmp_path / STATE_FILENAME).write_text(
        json.dumps(
            {
                "version": 1,
                "last_run": "2026-11-20T06:30:00+00:00",
                "files": {},
                "entries": {
                    # A URI GUID was one key across feeds, recorded with the last feed.
                    "https://example.org/?p=1": {"fp": "fp1", "feed": OTHER, "seen": seen},
                    # An id that is no URI was qualified by its feed.
                    f"{FEED} 1234": {"fp": "fp2", "feed": FEED, "seen": seen},
                    "https://example.org/page": {
                        "fp": "fp3",
                        "feed": "https://example.org/page",
                        "seen": seen,
                    },
                },
                "http": {FEED: {"etag": '"e1"'}},
            }
        ),
        encoding="utf-8",
    )
    state = RunState.load(tmp_path)
    memory = state.remote_memory(LAST)
    assert memory.wanted(OTHER, "https://example.org/?p=1", "fp1", None) is None
    # FEED listed it too, but the old state could not say so: the same text is not new...
    assert memory.wanted(FEED, "https://example.org/?p=1", "fp1", None) is None
    # ...other text under the same id is (an id claimed by another feed hides nothing).
    assert memory.wanted(FEED, "https://example.org/?p=1", "other", None) == "new"
    assert memory.wanted(FEED, "1234", "fp2", None) is None
    assert memory.wanted(OTHER, "1234", "fp2", None) == "new"
    page = "https://example.org/page"
    assert memory.wanted(page, page, "fp3", None, page=True) is None
    assert memory.validators(FEED) == Validators('"e1"', None)

    state.save(now=NOW)
    saved = json.loads((tmp_path / STATE_FILENAME).read_text(encoding="utf-8"))
    assert saved["version"] == 2
    assert saved["feeds"][FEED] == {"1234": {"fp": "fp2", "seen": seen}}
    assert saved["feeds"][OTHER] == {"https://example.org/?p=1": {"fp": "fp1", "seen": seen}}
    # The version-1 records stay, to be forgotten as any entry is.
    assert set(saved["entries"]) == {"https://example.org/?p=1", "https://example.org/page"}
    later = NOW + dt.timedelta(days=91)
    RunState.load(tmp_path).save(now=later)
    saved = json.loads((tmp_path / STATE_FILENAME).read_text(encoding="utf-8"))
    assert saved["feeds"] == {} and saved["entries"] == {}


def test_nothing_is_recorded_until_saved(tmp_path: Path) -> None:
    state = RunState.load(tmp_path)
    state.remote_memory(LAST).record(FEED, "a", "fp")
    # The run died before its digest was written: no save, so "a" is still new.
    assert RunState.load(tmp_path).remote_memory(LAST).wanted(FEED, "a", "fp", None) == "new"
