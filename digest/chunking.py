"""Token-aware chunking: split a text at sentence boundaries into pieces a model can take whole."""

from __future__ import annotations

from collections.abc import Callable

from digest.text import split_sentences

#: Measures a piece of text as the model will see it (prompt and special tokens included).
Counter = Callable[[str], int]

#: The least room for text a window must leave once the prompt is counted; below this a
#: window cannot hold even one long word and chunking would make no progress.
MIN_ROOM = 8
#: A token is rarely longer than this many characters; bounds the search for a cut point.
_MAX_CHARS_PER_TOKEN = 24


def chunk_text(text: str, *, limit: int, count: Counter) -> list[str]:
    """Split `text` into chunks with `count(chunk) <= limit`, cutting between sentences.

    A text that fits comes back whole (paragraph breaks kept). Otherwise sentences are packed
    greedily; a sentence longer than the window is cut by tokens, at a space where one is near.
    Nothing is dropped: the chunks hold every sentence in order.
    """
    if count(text) <= limit:
        return [text]
    base = count("")
    if limit - base < MIN_ROOM:
        raise ValueError(
            f"a window of {limit} tokens leaves no room for text ({base} for the prompt)"
        )

    pieces: list[tuple[str, int]] = []
    for sentence in split_sentences(text):
        size = count(sentence)
        if size <= limit:
            pieces.append((sentence, size - base))
        else:
            pieces.extend(
                (part, count(part) - base) for part in split_by_tokens(sentence, limit, count)
            )

    chunks: list[str] = []
    current: list[str] = []
    # Token counts are nearly additive across a joining space; the estimate only decides where
    # to close a chunk, and every closed chunk is measured for real before it is accepted.
    estimate = base
    for piece, cost in pieces:
        if current and estimate + cost + 1 > limit:
            chunks.extend(_close(current, limit, count))
            current, estimate = [], base
        current.append(piece)
        estimate += cost + 1
    if current:
        chunks.extend(_close(current, limit, count))
    return chunks


def _close(pieces: list[str], limit: int, count: Counter) -> list[str]:
    """Join `pieces` into one chunk, or halve the run until every part measures within `limit`."""
    joined = " ".join(pieces)
    if len(pieces) == 1 or count(joined) <= limit:
        # A single piece was measured on its own already.
        return [joined]
    middle = len(pieces) // 2
    return _close(pieces[:middle], limit, count) + _close(pieces[middle:], limit, count)


def split_by_tokens(text: str, limit: int, count: Counter) -> list[str]:
    """Cut a run of text with no sentence break into parts with `count(part) <= limit`.

    Each cut is the longest prefix that fits (binary search on characters, verified by
    `count`), moved back to the last space when that keeps at least half of it.
    """
    parts: list[str] = []
    rest = text.strip()
    room = max(1, limit - count(""))
    while rest:
        if count(rest) <= limit:
            parts.append(rest)
            break
        if count(rest[:1]) > limit:
            raise ValueError(f"a window of {limit} tokens cannot hold one character")
        low, high = 1, min(len(rest), room * _MAX_CHARS_PER_TOKEN)
        if count(rest[:high]) <= limit:
            low = high
        # Invariant: rest[:low] fits; rest[:high] does not (unless low == high).
        while high - low > 1:
            middle = (low + high) // 2
            if count(rest[:middle]) <= limit:
                low = middle
            else:
                high = middle
        cut = low
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2 and count(rest[:space]) <= limit:
            cut = space
        part, rest = rest[:cut].strip(), rest[cut:].strip()
        if part:
            parts.append(part)
    return parts
