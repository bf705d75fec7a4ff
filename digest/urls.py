"""Which sources are URLs, and which links are safe to print (http and https only)."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["is_url", "safe_url"]


def is_url(value: object) -> bool:
    """Whether a source is an http(s) URL rather than a path."""
    text = str(value)
    if not text.lower().startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(text).hostname)
    except ValueError:  # a malformed address ("http://[::1") is no URL to fetch
        return False


def safe_url(value: str | None) -> str | None:
    """`value` when it is an absolute http(s) URL (a link we may print), else None."""
    if not value:
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        return None
    return text
