"""What's new: `--since` rules and the per-output-folder record of what earlier digests covered."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import UsageError
from digest.files import write_atomic
from digest.http import Validators
from digest.sizes import age_seconds

if TYPE_CHECKING:
    from digest.pages import PageCache

log = logging.getLogger(__name__)

STATE_FILENAME = ".digest-state.json"
#: 2: entries are kept per feed ("feeds"); version 1 knew them by id alone ("entries").
STATE_VERSION = 2
#: An entry its feed has not shown for this long is forgotten (it keeps the state file small).
FORGET_ENTRIES_AFTER = _dt.timedelta(days=90)


@dataclass(frozen=True)
class Since:
    """A parsed --since: `last` (content changed since the last digest) or a cutoff time."""

    last: bool = False
    cutoff: _dt.datetime | None = None

    def describe(self) -> str:
        if self.last:
            return "since the last digest"
        assert self.cutoff is not None
        return f"modified since {self.cutoff.isoformat(timespec='minutes')}"


def parse_since(value: str | None, *, now: _dt.datetime | None = None) -> Since | None:
    """'last', an age ('90m', '24h', '7d', '2w') or a date/time ('2026-11-01', '2026-11-01T06:00').

    Dates and times without a zone are local time, like the file times they are compared with.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lower() == "last":
        return Since(last=True)
    now = now or _dt.datetime.now().astimezone()
    seconds = age_seconds(text, units="mhdw")
    if seconds is not None:
        return Since(cutoff=now - _dt.timedelta(seconds=seconds))
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since must be 'last', an age such as 24h, 7d or 90m, or a date such as "
            f"2026-11-01, not {value!r}"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive means local time
    return Since(cutoff=when)


def _key(path: Path) -> str:
    # Absolute but not resolved: a symlinked input is known by the name the user gave it.
    return os.path.abspath(path)


class Selector:
    """Applies a --since rule in two steps: by time from the file's stat, before it is read,
    then by content from the fingerprint of the bytes the pipeline read (see
    pipeline.read_sources), recording each file it lets through for RunState.save()."""

    def __init__(self, state: RunState, since: Since | None) -> None:
        self.state, self.since = state, since

    def __call__(self, path: Path) -> bool:
        since = self.since
        if since is None or since.cutoff is None:
            return True
        try:
            modified = _dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        except OSError:
            return True  # let the reader report why it cannot be read
        return modified >= since.cutoff

    def changed(self, path: Path, fingerprint: str) -> bool:
        """False when --since last and the last digest included this very content."""
        key = _key(path)
        if self.since is not None and self.since.last and self.state.files.get(key) == fingerprint:
            return False
        self.state.included[key] = fingerprint
        return True


@dataclass
class RunState:
    """DIR/.digest-state.json: the content hash of every file an earlier digest included.

    It is saved (atomically) only after a run has written its digest, so a run that fails or
    is killed leaves the previous state, and its documents count as new again next time.
    """

    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    last_run: str | None = None
    #: Hashes of the files this run included, recorded by the selector and saved by save().
    included: dict[str, str] = field(default_factory=dict)
    #: Feed entries and web pages earlier digests saw, per feed (a page is its own feed):
    #: feed → entry id → {"fp", "seen"}. Per feed, so no feed can make another's entry old.
    feeds: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: Entries a version-1 state knew by id alone: id → {"fp", "feed", "seen"}. Consulted
    #: only where a feed has no record of its own (so an upgrade sends nothing twice), and
    #: forgotten like any entry.
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Each URL's ETag / Last-Modified from its last full answer: url → {"etag", "last_modified"}.
    http: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What this run saw, merged in by save() once the digest is written.
    seen_feeds: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    seen_http: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Feeds that answered 304 or could not be read: what they listed is still listed.
    unchanged_feeds: set[str] = field(default_factory=set)
    #: Article pages (digest.pages), in their own file: read when first asked for.
    _pages: PageCache | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.folder / STATE_FILENAME

    @classmethod
    def load(cls, folder: Path) -> RunState:
        """The folder's state; a missing file is a first run, an unreadable one is reported."""
        path = folder / STATE_FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = data["files"]
            if not isinstance(files, dict):
                raise ValueError("'files' is not a table")
            state = cls(folder, {str(k): str(v) for k, v in files.items()}, data.get("last_run"))
            feeds = data.get("feeds")
            if isinstance(feeds, dict):
                state.feeds = {str(f): _table(t) for f, t in feeds.items()}
                state.entries = _table(data.get("entries"))
            else:
                state.feeds, state.entries = _per_feed(_table(data.get("entries")))
            state.http = _table(data.get("http"))
            return state
        except FileNotFoundError:
            return cls(folder)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignored %s (%s): every document counts as new this time", path, exc)
            return cls(folder)

    def selector(self, since: Since | None) -> Selector:
        """A `select` for make_digest that applies `since` and records what it lets through."""
        return Selector(self, since)

    def remote_memory(self, since: Since | None, *, include_updated: bool = False) -> RemoteMemory:
        """What feeds and web pages need from the state: validators, and which entries are new."""
        return RemoteMemory(self, since, include_updated)

    def save(self, *, now: _dt.datetime | None = None) -> Path:
        """Record this run's files on top of the earlier ones; forget files that are gone."""
        now = now or _dt.datetime.now().astimezone()
        files = {**self.files, **self.included}
        files = {name: digest for name, digest in sorted(files.items()) if os.path.exists(name)}
        self.last_run = now.isoformat(timespec="seconds")
        today = now.date().isoformat()
        oldest = (now.date() - FORGET_ENTRIES_AFTER).isoformat()
        feeds = {feed: dict(table) for feed, table in self.feeds.items()}
        for feed in self.unchanged_feeds & feeds.keys():
            # A 304 means the feed still lists these entries, and one that could not be read
            # may well: they must not be forgotten (and sent again when it is back).
            feeds[feed] = {k: {**v, "seen": today} for k, v in feeds[feed].items()}
        for feed, table in self.seen_feeds.items():
            feeds.setdefault(feed, {}).update({k: {**v, "seen": today} for k, v in table.items()})
        data = {
            "version": STATE_VERSION,
            "last_run": self.last_run,
            "files": files,
            "feeds": {
                feed: kept
                for feed, table in sorted(feeds.items())
                if (kept := _recent(table, oldest, today))
            },
            "entries": _recent(self.entries, oldest, today),
            "http": dict(sorted({**self.http, **self.seen_http}.items())),
        }
        written = write_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        if self._pages is not None:
            self._pages.save(now=now)
        return written

    # -- article pages: a cache beside the state, kept by digest.pages -------------------------

    def pages(self) -> PageCache:
        """The folder's page cache (validators, articles, back-off), loaded on first use: a
        run without teaser pages never reads or writes it."""
        if self._pages is None:
            from digest.pages import PageCache

            self._pages = PageCache.load(self.folder)
        return self._pages


def _recent(table: dict[str, dict[str, str]], oldest: str, today: str) -> dict[str, dict[str, str]]:
    return {k: v for k, v in sorted(table.items()) if v.get("seen", today) >= oldest}


def _per_feed(
    entries: dict[str, dict[str, str]],
) -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, dict[str, str]]]:
    """A version-1 table (one key per entry, the last feed that listed it) → per-feed records,
    and the entries whose key was not the feed's own (a URI GUID, a link, a hash), which any
    feed could have listed too."""
    feeds: dict[str, dict[str, dict[str, str]]] = {}
    shared: dict[str, dict[str, str]] = {}
    for key, record in entries.items():
        feed = record.get("feed", "")
        own = {k: v for k, v in record.items() if k in ("fp", "seen")}
        if feed and key.startswith(f"{feed} "):
            # Version 1 qualified an id that is no URI by its feed ("FEED 1234").
            feeds.setdefault(feed, {})[key[len(feed) + 1 :]] = own
            continue
        if feed:
            feeds.setdefault(feed, {})[key] = own
        shared[key] = record
    return feeds, shared


def _table(value: object) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        return {}
    return {
        str(k): {str(a): str(b) for a, b in v.items()}
        for k, v in value.items()
        if isinstance(v, dict)
    }


@dataclass
class RemoteMemory:
    """The state as feeds and pages see it (see digest.sources.memory.Memory).

    Decisions use what earlier digests recorded; what this run sees is kept aside and saved
    with the state only once the digest is written.
    """

    state: RunState
    since: Since | None
    include_updated: bool = False

    def validators(self, url: str) -> Validators | None:
        """Conditional-GET validators, only under --since last: a 304 then means nothing new.

        Without it every entry is wanted, so the whole feed has to be fetched.
        """
        if self.since is None or not self.since.last:
            return None
        stored = self.state.http.get(url)
        if not stored:
            return None
        return Validators(stored.get("etag") or None, stored.get("last_modified") or None)

    def fetched(self, url: str, validators: Validators) -> None:
        record = {"etag": validators.etag or "", "last_modified": validators.last_modified or ""}
        self.state.seen_http[url] = {k: v for k, v in record.items() if v}

    def unchanged(self, url: str) -> None:
        self.state.unchanged_feeds.add(url)

    def unavailable(self, url: str) -> None:
        self.state.unchanged_feeds.add(url)

    def wanted(
        self,
        feed: str,
        key: str,
        fingerprint: str,
        when: _dt.datetime | None,
        *,
        page: bool = False,
    ) -> str | None:
        """'new', 'updated' or None (not wanted this time) for entry `key` of `feed`, or a
        `page` (its own feed).

        Only the feed's own records count: another feed listing the same id, first or with
        other text, changes nothing. A feed entry that changed is sent again only with
        --include-updated; a web page that changed is new, as a changed file is.
        """
        if self.since is not None and self.since.cutoff is not None:
            return "new" if when is None or when >= self.since.cutoff else None
        if self.since is None or not self.since.last:
            return "new"
        earlier = self.state.feeds.get(feed, {}).get(key)
        if earlier is None:
            shared = self.state.entries.get(key)
            # Recorded by a version-1 state under another feed: old only if the very text
            # was sent, so no id claimed in advance hides the real entry.
            return None if shared and shared.get("fp") == fingerprint else "new"
        if earlier.get("fp") == fingerprint:
            return None
        if page:
            return "new"
        return "updated" if self.include_updated else None

    def record(self, feed: str, key: str, fingerprint: str) -> None:
        # Dated by save(), with the run's clock.
        self.state.seen_feeds.setdefault(feed, {})[key] = {"fp": fingerprint}

    def pages(self) -> PageCache:
        """Article pages are cached whatever --since says: a 304 brings back the stored text."""
        return self.state.pages()
