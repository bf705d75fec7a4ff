"""Sizes and ages as people write them ('5MB', '500KB', '1048576'; '90m', '7d', '2w') as numbers."""

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


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def age_seconds(value: str, *, units: str = "smhdw") -> float | None:
    """'30s', '90m', '24h', '7d', '2w' → seconds (only the `units` given); None otherwise."""
    match = _AGE.match(value or "")
    if not match or match.group(2).lower() not in units:
        return None
    return float(match.group(1)) * _SECONDS[match.group(2).lower()]


def parse_age(value: str, option: str = "--older-than") -> float:
    """age_seconds(), or a UsageError naming `option`."""
    seconds = age_seconds(value)
    if seconds is None:
        raise UsageError(f"{option} must be an age such as 30d, 12h or 2w, not {value!r}")
    return seconds
