"""What a run remembers of feeds and pages between runs, as the web reader asks for it."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from digest.http import Validators
    from digest.pages import PageCache


class Memory(Protocol):
    """What was seen before (digest.state.RemoteMemory keeps it in the output folder).

    Entries are known per feed (`feed` is the address the feed was named by, `key` the
    entry's id in it): no feed can make another's entry old. A web page is its own feed.
    """

    def validators(self, url: str) -> Validators | None: ...
    def fetched(self, url: str, validators: Validators) -> None: ...
    def unchanged(self, url: str) -> None: ...
    def unavailable(self, url: str) -> None: ...
    def wanted(
        self,
        feed: str,
        key: str,
        fingerprint: str,
        when: _dt.datetime | None,
        *,
        page: bool = False,
    ) -> str | None: ...
    def record(self, feed: str, key: str, fingerprint: str) -> None: ...
    def pages(self) -> PageCache | None: ...


class Everything:
    """The memory of a run without a state: every entry is wanted, nothing is conditional."""

    def validators(self, url: str) -> Validators | None:
        return None

    def fetched(self, url: str, validators: Validators) -> None:
        pass

    def unchanged(self, url: str) -> None:
        pass

    def unavailable(self, url: str) -> None:
        pass

    def wanted(
        self,
        feed: str,
        key: str,
        fingerprint: str,
        when: _dt.datetime | None,
        *,
        page: bool = False,
    ) -> str | None:
        return "new"

    def record(self, feed: str, key: str, fingerprint: str) -> None:
        pass

    def pages(self) -> PageCache | None:
        return None
