"""Sizes as people write them ('5MB', '500KB', '1MiB', '1048576') turned into bytes."""

from __future__ import annotations

import re

from digest.errors import UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(value: str, option: str = "--max-size") -> int:
    """'5MB', '500k', '1048576' → bytes; anything else is a UsageError naming `option`."""
    match = _SIZE.match(value)
    unit = (match.group(2) or "").lower() if match else None
    if not match or unit not in _UNITS:
        raise UsageError(f"{option} must be a size such as 5MB or 500KB, not {value!r}")
    return int(float(match.group(1)) * _UNITS[unit])
