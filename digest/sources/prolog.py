"""An XML document's prolog, read without a parser: its root element and its entity declarations.

Looking, not parsing: nothing here expands an entity or fetches a DTD, and a scan stops at the
root element, so a hostile document costs one pass over its bytes at most.
"""

from __future__ import annotations

import codecs

#: An ASCII-compatible view is enough for everything but UTF-16 and UTF-32 (XML 1.0, appendix F).
_WIDE = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)


def ascii_view(data: bytes) -> bytes:
    """`data` with its markup readable as ASCII: UTF-16 and UTF-32 re-encoded as UTF-8."""
    for mark, encoding in _WIDE:
        if data.startswith(mark):
            text = data.decode(encoding, errors="replace").lstrip("\ufeff")
            return text.encode("utf-8")
    return data


def root_start(data: bytes) -> int:
    """Where the root element's `<` is in an ASCII-compatible document, else len(data).

    The XML declaration, processing instructions, comments and the DOCTYPE come before it
    (however long they are); an unclosed comment or instruction hides the rest.
    """
    at, end = 0, len(data)
    while True:
        at = data.find(b"<", at)
        if at < 0 or at + 1 >= end:
            return end
        following = data[at + 1 : at + 2]
        if data.startswith(b"<!--", at):
            close = data.find(b"-->", at + 4)
            if close < 0:
                return end
            at = close + 3
        elif following == b"?":
            close = data.find(b"?>", at + 2)
            if close < 0:
                return end
            at = close + 2
        elif following.isalpha() or following in (b"_", b":") or following[0] >= 0x80:
            return at
        else:
            at += 1  # "<!DOCTYPE", "<!ENTITY", "<!ELEMENT", "<![": declarations, not elements


def root_name(data: bytes) -> str | None:
    """The root element's local name, lower-cased ("rss", "feed", "opml", "html"), or None."""
    view = ascii_view(data)
    at = root_start(view)
    if at >= len(view):
        return None
    name = bytearray()
    for byte in view[at + 1 : at + 201]:
        if byte in b" \t\r\n/>":
            break
        name.append(byte)
    local = bytes(name).rpartition(b":")[2]
    return local.decode("utf-8", errors="replace").lower() or None


def declares_entities(data: bytes) -> bool:
    """Whether an ASCII-compatible document declares entities before its root element.

    Any declaration counts, however harmless it looks: feedparser's fallback parser expands
    the internal ones without a bound (a 150 KB feed became gigabytes of text), and expat's
    guard allows a hundredfold expansion before it stops.
    """
    return data.find(b"<!ENTITY", 0, root_start(data)) >= 0
