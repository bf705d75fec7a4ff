"""HTML reader: the page's main content (via trafilatura) split into sections at h1-h6."""

from __future__ import annotations

import datetime as _dt
import logging
import re
from pathlib import Path
from typing import Any

from digest.errors import SkipDocument
from digest.model import Document
from digest.sectioning import sections_from_blocks, title_from_filename
from digest.sources.clutter import Block, drop_clutter, prune_page
from digest.sources.headings import HEADING_CRUFT
from digest.text import normalise_space

log = logging.getLogger(__name__)

#: trafilatura and the libraries it drives log every page they find odd; a digest run over a
#: folder of saved pages would drown in them.
NOISY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "readability")

#: Pages with more elements than this are extracted without trafilatura's fallback extractors
#: (readability, jusText), whose cost grows with every element: a page of 30,000 line breaks
#: took 2.6 s of CPU time with them and 1.3 s without.
FALLBACK_ELEMENTS = 10_000

#: Elements that hold blocks rather than text of their own.
_CONTAINERS = frozenset({"list", "quote", "div", "item", "body", "main"})
_BLOCK = frozenset({"p", "head", "list", "item", "quote", "div", "code", "table", "graphic"})
#: Images carry no text to keep; line breaks are read as spaces.
_SKIPPED = frozenset({"graphic", "lb"})


def _quiet() -> None:
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # respect a level someone set on purpose
            logger.setLevel(logging.ERROR)


def require() -> None:
    """Import trafilatura now: a broken installation is then one error before any file is read."""
    import trafilatura  # noqa: F401


def parse_html(text: str, path: Path) -> Document:
    """Extract the main content (no navigation, footers, scripts or ads) and its headings."""
    # Imported here: trafilatura pulls in lxml, htmldate and friends, which text runs never need.
    import trafilatura
    from trafilatura.utils import load_html

    from digest.sources.headings import page_outline, place_headings

    _quiet()
    options: dict[str, Any] = {
        "include_comments": False,
        "include_tables": True,
        "include_images": False,
        "with_metadata": True,
        # A date guessed from free text (a copyright line, a version number) is worse than none.
        # max_date is trafilatura's own default (today), named because trafilatura 2.0.0 reads
        # it unconditionally (KeyError without it); later releases default it themselves.
        "date_extraction_params": {
            "extensive_search": False,
            "original_date": True,
            "max_date": _dt.date.today().isoformat(),
        },
    }
    result: Any  # trafilatura.settings.Document; typed loosely as it can also hand back a dict
    try:
        # Parsed once: trafilatura copies a tree it is given, and the headings are read from it.
        root = load_html(text)
        if root is not None:
            prune_page(root)
            # trafilatura's fallback extractors cost time with every element; real pages have
            # a few thousand (at most 2,763 of the 117 measured), a hostile one 30,000 <br>s.
            options["fast"] = sum(1 for _ in root.iter()) > FALLBACK_ELEMENTS
        page = root if root is not None else text
        result = trafilatura.bare_extraction(page, **options)
        if result is None or result.body is None:
            # Short pages fall below trafilatura's precision threshold; ask for recall instead.
            result = trafilatura.bare_extraction(page, favor_recall=True, **options)
    except (ValueError, TypeError) as exc:  # lxml refuses some malformed documents outright
        raise SkipDocument(f"unparsable HTML ({exc})") from None
    if result is None or result.body is None:
        raise SkipDocument("no main text found in the HTML")

    metadata = {
        key: value
        for key, value in (
            ("excerpt", result.description),
            ("author", result.author),
            ("site", result.sitename),
        )
        if isinstance(value, str) and value.strip()
    }
    outline = None
    if root is not None:
        try:
            outline = page_outline(root)
        except RecursionError:  # markup nested thousands deep: no outline, trafilatura's headings
            root = None
    found = _blocks_of_container(result.body)
    if not any(b.kind in ("paragraph", "item") for b in found):
        # A page whose text is all tables (a results page, a schedule): its rows are its text,
        # read as lines rather than losing the page.
        found = [Block("paragraph", b.text) if b.kind == "verbatim" else b for b in found]
    kept = drop_clutter(found, outline)
    blocks = [(b.kind if b.kind != "item" else "paragraph", b.text, b.level) for b in kept]
    if root is not None:
        # The heading structure comes from the page itself: trafilatura's text output keeps
        # only some headings, and drops others its heuristics took for boilerplate. (A list
        # of links is placed like the prose it sits among, so its heading is found.)
        blocks = place_headings(blocks, root, outline)
    # A list of links is kept as the page has it, never summarised.
    blocks = [
        ("verbatim", text, 0) if kind == "links" else (kind, text, level)
        for kind, text, level in blocks
    ]
    title = normalise_space(result.title or "") or None
    if title is None:
        title = next((t for kind, t, level in blocks if kind == "heading" and level == 1), None)
    title = title or title_from_filename(path.name)
    return Document(
        path=path,
        title=title,
        sections=sections_from_blocks(blocks, title, headline_h1=True),
        format="html",
        date=result.date or None,
        metadata=metadata,
        # og:site_name (or what trafilatura finds in its place) names the outlet.
        outlet=metadata.get("site"),
    )


def _blocks(element: Any) -> list[Block]:
    """Headings, paragraphs, list items and verbatim text from trafilatura's XML, in order."""
    out: list[Block] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            text = HEADING_CRUFT.sub("", _text(child))
            if text:
                out.append(Block("heading", text, _level(child.get("rend"))))
        elif tag in _SKIPPED:
            pass
        elif tag == "table" and _is_layout(child):
            # A table holding the article's paragraphs lays the page out: read its cells.
            for row in child.findall("row"):
                for cell in row:
                    out.extend(_blocks_of_container(cell))
        elif tag == "table":
            # Kept as trafilatura's own text keeps them, but never summarised: a table row
            # (an infobox's "Products | Mozilla Application Suite") is no sentence.
            out.extend(Block("verbatim", row) for row in _table_rows(child))
        elif tag == "code":
            if code := _text(child):
                out.append(Block("verbatim", code))
        elif tag in _CONTAINERS and any(c.tag in _BLOCK for c in child):
            # A list item or quote holding paragraphs (or headings): its own loose text first.
            out.extend(_blocks_of_container(child))
        elif text := _text(child):
            out.append(Block("item" if tag == "item" else "paragraph", text))
        # Text after a heading too: some pages set a section's first paragraph as loose text.
        if tail := normalise_space(child.tail or ""):
            out.append(Block("paragraph", tail))
    return out


def _blocks_of_container(element: Any) -> list[Block]:
    own = normalise_space(element.text or "")
    kind = "item" if element.tag == "item" else "paragraph"
    if not any(c.tag in _BLOCK for c in element):
        # A cell or item of inline text only: one block.
        text = _text(element)
        return [Block(kind, text)] if text else []
    return ([Block(kind, own)] if own else []) + _blocks(element)


#: A table cell with this many words in two sentences or more holds prose, not a datum.
_PROSE_CELL_WORDS = 50
_SENTENCE_ENDS = re.compile(r"[.!?][\"'”’)]*(?:\s|$)")


def _is_layout(table: Any) -> bool:
    """A table with a heading or a paragraph of prose in a cell lays out a page (a data
    table's cells hold data, even wrapped in <p> as some editors do)."""
    for cell in table.iter("cell"):
        if cell.find("head") is not None:
            return True
        if any(c.tag in ("quote", "code") for c in cell):
            continue  # code, however many full stops it has
        text = _text(cell)
        if len(text.split()) >= _PROSE_CELL_WORDS and len(_SENTENCE_ENDS.findall(text)) >= 2:
            return True
    return False


def _table_rows(table: Any) -> list[str]:
    """A table's rows as text, cells joined by " | " (empty cells left out); a table nested
    in a cell reads as that cell's text."""
    rows: list[str] = []
    for row in table.findall("row"):
        cells = (_text(cell) for cell in row if cell.tag in ("cell", "head"))
        if line := " | ".join(cell for cell in cells if cell):
            rows.append(line)
    return rows


def _text(element: Any) -> str:
    # itertext() would glue "line<lb/>break" into "linebreak"; a line break reads as a space.
    parts = [element.text or ""]
    for child in element:
        parts.append(" " if child.tag == "lb" else _text(child))
        parts.append(child.tail or "")
    return normalise_space("".join(parts))


def _level(rend: str | None) -> int:
    if rend and len(rend) == 2 and rend[0] == "h" and rend[1] in "123456":
        return int(rend[1])
    return 2  # trafilatura marks every heading it keeps; an unmarked one is a section heading
