"""The contract every summarising engine meets (imports nothing of the package)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

Kind = Literal["section", "article", "tldr"]


class Summariser(Protocol):
    """A batch of texts in, one summary per text out, in the same order.

    `kind` tells the engine what the summary is for: a section bullet, the whole-article
    summary, or a one-sentence TL;DR (whose input is the article summary). `progress`, when
    given, is called with the number of texts finished since the last call.
    """

    name: str
    model: str | None
    backend: str | None

    def prepare(self) -> None:
        """Load whatever is expensive; raise ModelUnavailable if it cannot be had."""

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: Kind,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]: ...
