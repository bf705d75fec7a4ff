"""Bytes → text: byte-order marks, UTF-8, legacy encodings, and refusing binary data."""

from __future__ import annotations

import codecs
import logging
import unicodedata

from digest.errors import SkipDocument

log = logging.getLogger(__name__)

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: charset-normalizer results whose mess ratio is this close to the cleanest one are compared on
#: coherence (how much the text looks like a real language) instead.
_CHAOS_TOLERANCE = 0.1

#: Above this share of control characters, "text" decoded from a legacy code page is really binary.
_MAX_CONTROL_SHARE = 0.01


def decode_bytes(data: bytes) -> str:
    """Decode a file's bytes to text with LF line ends; raise SkipDocument for binary data."""
    text = _decode(data)
    if _control_share(text) > _MAX_CONTROL_SHARE:
        raise SkipDocument("binary file (control characters in the text)")
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR (old Mac files) become LF, so the readers see one kind of line end."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                reason = f"not valid {encoding.upper()} despite its byte-order mark"
                raise SkipDocument(reason) from None
    # Text in any 8-bit encoding has no NUL bytes; UTF-16 text has them in every other byte.
    if b"\x00" in data:
        text = _decode_utf16_without_bom(data)
        if text is None:
            raise SkipDocument("binary file")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data)


#: UTF-16 text in a Latin script has a NUL in (nearly) every other byte and almost none in
#: the others; binary data has them scattered.
_MIN_NUL_SHARE = 0.3
_MAX_OTHER_NUL_SHARE = 0.02


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 (Windows tools write it, often without a byte-order mark), or None if not."""
    half = len(data) // 2
    if len(data) % 2 or half == 0:
        return None
    even, odd = data[0::2].count(0) / half, data[1::2].count(0) / half
    if max(even, odd) < _MIN_NUL_SHARE or min(even, odd) > _MAX_OTHER_NUL_SHARE:
        return None
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["utf_16_le", "utf_16_be"]).best()
    if best is None:
        return None
    log.debug("decoded as %s without a byte-order mark", best.encoding)
    return str(best)


def _decode_legacy(data: bytes) -> str:
    # Imported here: most files are UTF-8 and never need the detector.
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    if not results:
        raise SkipDocument("binary file (no plausible text encoding)")
    # charset-normalizer ranks by mess ratio alone, so a mostly-ASCII Latin-1 file with one "£"
    # can come out as cp932 (0xA3 is a half-width katakana there) with zero coherence. Among the
    # near-cleanest candidates, the one that reads most like a language is the better guess.
    cleanest = min(r.chaos for r in results)
    plausible = [r for r in results if r.chaos <= cleanest + _CHAOS_TOLERANCE]
    # On a tie (short texts often tie), Windows-1252 is the likeliest legacy encoding by far.
    best = max(plausible, key=lambda r: (round(r.coherence, 3), r.encoding == "cp1252"))
    log.debug("decoded as %s (coherence %.3f)", best.encoding, best.coherence)
    return str(best)


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:100_000]
    controls = sum(
        1 for ch in sample if ch not in "\t\n\r\f\v" and unicodedata.category(ch) == "Cc"
    )
    return controls / len(sample)
