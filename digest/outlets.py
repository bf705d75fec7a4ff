"""Who published a document: the outlet a digest credits, and the key that tells outlets apart."""

from __future__ import annotations

from urllib.parse import urlsplit

from digest.model import Document
from digest.text import normalise_space, strip_invisible
from digest.urls import safe_url


def outlet_of(document: Document) -> str | None:
    """The outlet as the source names it: the document's own (Markdown front matter `source`,
    a page's og:site_name), else the feed's title, else the host of its link; None for a
    local file that names none."""
    for name in (document.outlet, document.feed):
        if name and (clean := normalise_space(strip_invisible(name))):
            return clean[:100]
    return host_of(document.link) or None


def host_of(url: str | None) -> str:
    """The host of an http(s) link without a leading "www." ("" for anything else)."""
    checked = safe_url(url)
    host = (urlsplit(checked).hostname or "") if checked else ""
    return host.removeprefix("www.")


def outlet_key(outlet: str | None, fallback: str) -> str:
    """What makes two outlets the same one ("BBC News" and "bbc news"; "www.bbc.co.uk" and
    "bbc.co.uk"); a document with no outlet is its own (`fallback`, its path)."""
    if not outlet:
        return "\0" + fallback
    return " ".join(outlet.lower().removeprefix("www.").split())
