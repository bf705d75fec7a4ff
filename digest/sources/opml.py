"""OPML subscription lists (as every feed reader exports them) → the feed URLs they name."""

from __future__ import annotations

from digest.errors import SkipDocument
from digest.text import one_line


def parse_opml(data: bytes) -> list[tuple[str, str]]:
    """(feed URL, title) for every feed outline, in document order; SkipDocument if unreadable.

    Bytes only: listparser fetches a URL it is given, past every limit the fetcher sets.
    """
    import listparser

    result = listparser.parse(data)
    feeds = [(str(f.get("url", "")).strip(), one_line(f.get("title"))) for f in result.feeds]
    if not feeds:
        if result.bozo:
            problem = one_line(str(result.get("bozo_exception", "")))[:160]
            raise SkipDocument(f"not a readable OPML list ({problem or 'malformed XML'})")
        raise SkipDocument("the OPML list names no feeds")
    return [(url, title) for url, title in dict.fromkeys(feeds)]
