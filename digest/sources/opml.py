"""OPML subscription lists (as every feed reader exports them) → the feed URLs they name."""

from __future__ import annotations

from pathlib import Path

from digest.errors import SkipDocument
from digest.sources.prolog import ascii_view, declares_entities, root_name
from digest.text import one_line


def is_opml(data: bytes, path: Path | None = None) -> bool:
    """Whether the document's root element is <opml>, however much comes before it.

    A local .opml file (`path`) with no root element at all counts too, so the OPML reader
    says what is wrong with it.
    """
    root = root_name(data)
    if root is None:
        return path is not None and path.suffix.lower() == ".opml"
    return root == "opml"


def parse_opml(data: bytes) -> list[tuple[str, str]]:
    """(feed URL, title) for every feed outline, in document order; SkipDocument if unreadable.

    Bytes only: listparser fetches a URL it is given, past every limit the fetcher sets.
    """
    if declares_entities(ascii_view(data)):
        # listparser's HTML parser expands none, but one rule for every XML source is simpler
        # to trust than a list of which parser is safe.
        raise SkipDocument("refused: it declares XML entities (<!ENTITY>)")
    import listparser

    result = listparser.parse(data)
    feeds = [(str(f.get("url", "")).strip(), one_line(f.get("title"))) for f in result.feeds]
    if not feeds:
        if result.bozo:
            problem = one_line(str(result.get("bozo_exception", "")))[:160]
            raise SkipDocument(f"not a readable OPML list ({problem or 'malformed XML'})")
        raise SkipDocument("the OPML list names no feeds")
    return [(url, title) for url, title in dict.fromkeys(feeds)]
