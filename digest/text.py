"""Sentence splitting and word counting shared by the readers and the engines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import pysbd

_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text exactly as written, so quoted sentences stay faithful.
    return pysbd.Segmenter(language="en", clean=False)


#: Texts up to this long are remembered once split: a summary is split for its TL;DR, again
#: to drop what the TL;DR said, and again for the bullets, and pysbd takes about a millisecond
#: a sentence. Longer texts (whole documents) are split once and not kept in memory.
_REMEMBERED_CHARS = 4000


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, paragraph by paragraph (a paragraph break always ends one).

    On top of pysbd: a closing quote stays with the sentence it closes, a lone "." before a
    lower-case word (".gov", "approx. ten") does not end a sentence, and a sentence end whose
    space was lost in scraping ("community.Dr Venter") is still one.
    """
    if len(text) <= _REMEMBERED_CHARS:
        return list(_split_remembered(text))
    return _split(text)


@lru_cache(maxsize=2048)
def _split_remembered(text: str) -> tuple[str, ...]:
    return tuple(_split(text))


def _split(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", break_long_paragraphs(restore_lost_breaks(text))):
        paragraph = _SPACE.sub(" ", paragraph).strip()
        if paragraph:
            segments = _repair(_segmenter().segment(paragraph))
            for segment in segments:
                if segment.strip():
                    sentences.extend(_split_run_on(segment.strip()))
    return sentences


#: pysbd keeps everything after an unbalanced quote in one "sentence" (BBC text has 130- and
#: 335-word ones); a sentence longer than this is split again at plain sentence ends.
LONG_SENTENCE_WORDS = 60
# A stop after a word (and any closing quote or bracket, before or after the stop), then space,
# then a capital (or an opening quote and a capital).
_PLAIN_END = re.compile(
    r"(?<=[^\W\d_][.!?])[\"'”’)\]]*\s+(?=[\"'“‘(]?[A-Z])"
    r"|(?<=[^\W\d_][\"'”’)\]][.!?])\s+(?=[\"'“‘(]?[A-Z])"
)
_ABBREVIATION = re.compile(
    r"(?:^|\s|\(|\.)(?:mr|mrs|ms|dr|st|jr|sr|prof|gen|sen|rep|gov|lt|col|sgt|capt|mt|no|vs|etc"
    r"|inc|ltd|co|corp|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|[a-z])\.$",
    re.IGNORECASE,
)


def _split_run_on(sentence: str) -> list[str]:
    if len(sentence.split()) <= LONG_SENTENCE_WORDS:
        return [sentence]
    pieces: list[str] = []
    start = 0
    for match in _PLAIN_END.finditer(sentence):
        head = sentence[start : match.start()].rstrip("\"'”’)]")
        if _ABBREVIATION.search(head[-12:]):
            continue  # "Mr. Smith", "Jan. 5": not an end
        pieces.append(sentence[start : match.start()].strip())
        start = match.end()
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p]


# "community.Dr Venter": two lower-case letters, a stop and a capitalised word with no space
# between. Domain names (".gov", "example.com") and initials ("U.S.") do not match, because the
# next word is lower case or the letters before the stop are not.
_LOST_BREAK = re.compile(r"(?<=[a-z]{2}[.!?])([”’)]*)(?=[“‘]?[A-Z][a-z])")
_LEADING_CLOSERS = re.compile(r"^([\"”’']+)(?=\s|$)")
_ENDS_IN_STOP = re.compile(r"\.\s*$")


def restore_lost_breaks(text: str) -> str:
    """Put back the space after a sentence end that scraping glued to the next sentence."""
    return _LOST_BREAK.sub(r"\1 ", text)


def _repair(segments: list[str]) -> list[str]:
    # Works on pysbd's raw segments (clean=False keeps every character, so joining two
    # segments gives back the original text between them).
    out: list[str] = []
    for segment in segments:
        if out and (closers := _LEADING_CLOSERS.match(segment)):
            # pysbd ends the sentence before a closing quote ("quickly." Talks...): move it back.
            out[-1] = out[-1].rstrip() + closers.group(1) + " "
            segment = segment[closers.end() :]
            if not segment.strip():
                continue
        stripped = segment.lstrip()
        first_word = stripped.split(" ", 1)[0]
        if (
            out
            and first_word[:1].islower()
            and first_word.lower() == first_word
            and _ENDS_IN_STOP.search(out[-1])
        ):
            # "for every ." + "gov website", "approx." + "ten dollars": a stop before a
            # lower-case word is an abbreviation or a domain name, not a sentence end.
            out[-1] += segment
            continue
        out.append(segment)
    return out


#: Marks the end of a sentence that had no final punctuation when sentences are joined.
_TERMINAL = ".!?…。！？:;"


def join_sentences(sentences: Sequence[str], separator: str = " ") -> str:
    """Sentences as one paragraph (or paragraphs, with separator="\n\n"); one without final
    punctuation (a headline-like lead paragraph) gets a full stop, so it does not run into
    the next where the text is shown on one line."""
    parts: list[str] = []
    for i, sentence in enumerate(sentences):
        body = sentence.rstrip()
        bare = _CITATIONS.sub("", body).rstrip(_CLOSING)
        if i < len(sentences) - 1 and body and bare[-1:] not in _TERMINAL:
            body += "."
        parts.append(body)
    return separator.join(p for p in parts if p)


_CLOSING = "\"'”’»)]"


def dangling_lead_in(sentence: str) -> bool:
    """Whether a sentence ends on a colon: it introduces what follows ("Three important
    reasons:"), so it cannot end a summary or stand on its own."""
    return sentence.rstrip().rstrip(_CLOSING).rstrip().endswith(":")


def without_trailing_lead_in(text: str) -> str:
    """`text` without the sentences at its end that introduce a list or a quote which is not
    there ("Here's what we learned:"); a text that is nothing else keeps its words and ends
    with a full stop instead. Text not ending on a colon comes back unchanged."""
    if not dangling_lead_in(text):
        return text
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    while paragraphs and dangling_lead_in(paragraphs[-1]):
        sentences = split_sentences(paragraphs.pop())
        while sentences and dangling_lead_in(sentences[-1]):
            sentences.pop()
        if sentences:
            paragraphs.append(" ".join(sentences))
    if paragraphs:
        return "\n\n".join(paragraphs)
    stripped = text.rstrip()
    return stripped[: len(stripped.rstrip(_CLOSING).rstrip()) - 1].rstrip() + "."


#: Punctuation that ends a label as a colon would: a label ending in one gets no colon.
_LABEL_END = ".:;!?…"


def label(text: str) -> str:
    """A bullet's label: its heading and a colon ("Details:"), or the heading alone when it
    already ends in punctuation ("What is MyUSA?", "Spacing:", "Trust them.")."""
    bare = text.rstrip()
    if not bare or bare.rstrip(_CLOSING).rstrip()[-1:] in _LABEL_END:
        return bare
    return bare + ":"


# Wikipedia-style citation marks after a sentence's stop: "open Web.[66]", "[citation needed]".
_CITATIONS = re.compile(r"(?:\[[^\[\]]{1,30}\])+$")

# Bidirectional embeddings, overrides and isolates, zero-width characters, the word joiner,
# invisible operators, the Arabic letter mark and a stray byte-order mark: invisible, yet able
# to make a title display reversed or spoofed text.
INVISIBLE_CHARACTERS = re.compile(
    r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\ufeff]"
)


def strip_invisible(text: str) -> str:
    """`text` without bidi controls and other invisible format characters."""
    return INVISIBLE_CHARACTERS.sub("", text)


#: What marks a summary or title cut short by bound_text.
CUT_MARK = " […]"


def bound_text(text: str, max_words: int, max_chars: int) -> str:
    """`text` cut to at most `max_words` words and `max_chars` characters (mark included).

    The cut falls at the last sentence end that keeps at least half the allowance, failing
    that at a word boundary, failing that (a "word" longer than the allowance) mid-word; a
    cut text ends with CUT_MARK. Text within both bounds comes back unchanged.
    """
    words = text.split()
    if len(words) <= max_words and len(text) <= max_chars:
        return text
    joined = " ".join(words[:max_words])
    room = max_chars - len(CUT_MARK)
    head = joined[:room]
    # Where the last whole word ends: the end of `head` unless the cut fell inside a word.
    space = len(head) if len(joined) <= room or joined[room] == " " else head.rfind(" ")
    ends = _sentence_ends(head + " ", 0, len(head) + 1)
    half = len(head) // 2
    # Best a sentence end past halfway, then a word boundary past halfway, then any sentence
    # end or word boundary at all, and only then a cut inside a (very long) word.
    if ends and ends[-1] >= half:
        head = head[: ends[-1]]
    elif space >= half:
        head = head[:space]
    elif ends:
        head = head[: ends[-1]]
    elif space > 0:
        head = head[:space]
    return head.rstrip().rstrip(",;:-–—").rstrip() + CUT_MARK


def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


# C0/C1 controls (CR, LF and ESC included) and Unicode line/paragraph separators: nothing in a
# header or a one-line field may contain them, or a title could start a new header line (or,
# read raw in a terminal, recolour or rewrite the screen).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str | None) -> str:
    """Text made safe for a header or a one-line field: no controls, no line breaks, no
    invisible bidi or zero-width characters."""
    if not text:
        return ""
    return normalise_space(CONTROL_CHARACTERS.sub(" ", strip_invisible(text)))


# A probable sentence end: a word of two or more letters, then . ! or ? (and any closing quote
# or bracket), then space; requiring two letters keeps "U.S." and initials from matching.
_LIKELY_END = re.compile(r"(?<=[^\W\d_]{2}[.!?])[\"'”’)\]]*\s+|(?<=[。！？])")


def _starts_sentence(rest: str) -> bool:
    # Lower case after the stop ("approx. ten") means the sentence goes on; capitals, digits
    # and scripts without case do not.
    return not rest.lstrip("\"'“‘([")[:1].islower()


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Where the probable sentence ends between `start` and `end` fall (each just past it)."""
    return [
        m.end()
        for m in _LIKELY_END.finditer(text, start, end)
        if _starts_sentence(text[m.end() : m.end() + 3])
    ]


def _cut_point(paragraph: str, limit: int) -> int:
    # The last probable sentence end in the first `limit` characters, past the halfway mark so
    # pieces stay long; failing that the last space; failing that a hard cut.
    ends = _sentence_ends(paragraph, limit // 2, limit)
    if ends:
        return ends[-1]
    space = paragraph.rfind(" ", limit // 2, limit)
    return space + 1 if space > 0 else limit


def break_long_paragraphs(text: str, limit: int = 5000) -> str:
    """`text` with every paragraph longer than `limit` characters broken at probable sentence ends.

    pysbd's time grows with the square of a paragraph's length (86,000 characters in one
    paragraph take 6 s, 400,000 over two minutes), so very long paragraphs are cut into pieces
    first; a paragraph under `limit` is untouched, so ordinary prose splits exactly as before.
    """
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        while len(paragraph) > limit:
            # At least one character, so the loop always advances (the pragma keeps mutation
            # testing from making it loop forever, filling memory).
            cut = max(1, _cut_point(paragraph, limit))  # pragma: no mutate
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:]
        pieces.append(paragraph)
    return "\n\n".join(pieces)
