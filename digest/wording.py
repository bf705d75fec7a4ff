"""Words as the faithfulness checker compares them: tokens, numbers, stems, stop words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Contractions first, so "didn't", "did n't" (tokenised news text) and "did not" all carry
# the same negation.
_NOT = re.compile(r"n[’']t\b", re.IGNORECASE)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*[a-z]*|[^\W\d_]+", re.IGNORECASE)
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)([a-z]*)", re.IGNORECASE)

#: Number words, so "three goals" in a summary is the source's "3 goals". "one" and "first"
#: are left out: they are mostly pronoun and adjective, not quantities.
NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
    if w != "_"
}
NUMBER_WORDS.update(
    {
        w: str(10 * n)
        for n, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)
    }
)
NUMBER_WORDS.update(
    {
        w: str(n)
        for n, w in enumerate(
            "_ _ second third fourth fifth sixth seventh eighth ninth tenth".split()
        )
        if w != "_"
    }
)
NUMBER_WORDS.update({"twice": "2", "dozen": "12", "half": "0.5"})

NEGATIONS = frozenset(
    {"not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without"}
)

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves s t ca wo said says
    say told tells tell according one first new also since may might must shall us get got
    like well still even yet back last year years time times made make makes way ve ll re d m
    mr mrs ms dr""".split()
)


@dataclass(frozen=True)
class Token:
    """A word as written (`text`), as compared (`word`, lower case), and its value when it is
    a number (digits without separators, "89th" → "89", "three" → "3")."""

    text: str
    word: str
    number: str | None = None


def tokens(text: str) -> list[Token]:
    out = []
    for match in _TOKEN.finditer(_NOT.sub(" not", text)):
        raw = match.group()
        word = raw.lower()
        if raw[0].isdigit():
            number = _NUMBER.match(word)
            assert number is not None  # the token pattern starts every number this way
            value = number.group(1).replace(",", "")
            if "." in value:
                value = value.rstrip("0").rstrip(".")
            out.append(Token(raw, value, value))
            unit = number.group(2)
            if unit and unit not in ("st", "nd", "rd", "th", "s"):
                # "200million", "5km": the unit is a word of its own, compared as words are.
                out.append(Token(unit, unit))
        else:
            out.append(Token(raw, word, NUMBER_WORDS.get(word)))
    return out


def number_values(toks: Iterable[Token]) -> set[str]:
    return {t.number for t in toks if t.number is not None}


_SUFFIXES = ("ies", "ing", "ed", "es", "s", "ly", "e")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem (a few suffixes off, then the first six letters): "scored", "scores" and
    "scoring" meet; over-merging rarer words costs little, since a match only ever lends
    support."""
    if len(word) > 4:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        if word.endswith("e") and len(word) > 3:
            word = word[:-1]
    return word[:6]


def content_stems(toks: Iterable[Token]) -> set[str]:
    """The stems of the words that carry content (numbers by value, stop words left out)."""
    return {
        ("#" + t.number) if t.number is not None else stem(t.word)
        for t in toks
        if t.number is not None or t.word not in STOPWORDS
    }
