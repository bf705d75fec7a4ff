"""Markdown reader: YAML front matter, headings from markdown-it tokens, prose as plain text."""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from digest.model import Document
from digest.sectioning import run_in_heading, sections_from_blocks, title_from_filename
from digest.text import normalise_space
from digest.urls import safe_url

log = logging.getLogger(__name__)

#: Front-matter keys copied into Document.metadata when they hold text.
METADATA_KEYS = ("excerpt", "description", "author", "summary")
#: Front-matter keys naming who published the text (the first one given is used).
OUTLET_KEYS = ("source", "outlet", "publisher")
#: Front-matter keys giving the original's address (http/https only).
LINK_KEYS = ("link", "url")

_FRONT_MATTER_END = ("---", "...")
# Jekyll/Hugo/Eleventy tags such as {% image "a.png" %} are markup for the site builder, not prose.
# Each becomes one private-use character before parsing: a tag with spaces inside a link target,
# [text]({{ "/post/" | url }}), would otherwise stop markdown-it from seeing the link at all.
# Tags may wrap over lines but never across a blank line or a code fence, so a stray "{%" in a
# code sample cannot swallow the text (and headings) up to the next real tag. Nor across the
# start of another tag of the same kind: an unclosed "{%" then stops at the next one instead
# of scanning the rest of the paragraph, which made a run of them quadratic (40 KB: 20 s).
_TEMPLATE_TAG = re.compile(
    r"\{%(?:(?!\n\s*\n|```|~~~|\{%).)*?%\}|\{\{(?:(?!\n\s*\n|```|~~~|\{\{).)*?\}\}", re.DOTALL
)
_PLACEHOLDER = "\ue000"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(?=$|[T ])")
_BLOCKS_SKIPPED = ("table", "thead", "tbody", "tr", "th", "td")


def require() -> None:
    """Import the front-matter parser now: a broken installation is one error, not one per file."""
    import yaml  # noqa: F401


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # CommonMark plus GFM tables, so a table is recognised (and left out) rather than read as
    # paragraphs of pipes.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_markdown(text: str, path: Path) -> Document:
    """Read Markdown into sections, one per heading; code, tables and raw HTML are left out."""
    front, body = split_front_matter(text)
    tokens = _parser().parse(_TEMPLATE_TAG.sub(_PLACEHOLDER, body))
    headings_and_paragraphs = list(_blocks(tokens))

    title = _text_field(front.get("title"))
    if title is None:
        title = next((t for kind, t, level in headings_and_paragraphs if level == 1), None)
    title = title or title_from_filename(path.name)

    sections = sections_from_blocks(headings_and_paragraphs, title)

    metadata = {k: v for k in METADATA_KEYS if (v := _text_field(front.get(k)))}
    return Document(
        path=path,
        title=title,
        sections=tuple(sections),
        format="markdown",
        date=_date_field(front.get("date")) or _date_from_filename(path.name),
        metadata=metadata,
        link=_link_field(front),
        outlet=next((v for k in OUTLET_KEYS if (v := _text_field(front.get(k)))), None),
    )


def _link_field(front: dict[str, Any]) -> str | None:
    """The original's address from `link` or `url`: http(s) only (a digest never links a
    `javascript:` or `file:` address found in a file)."""
    for key in LINK_KEYS:
        value = front.get(key)
        if isinstance(value, str) and (url := safe_url(value)):
            return url
    return None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """A leading `---` YAML block as a dict (empty if absent or broken) and the text after it."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].rstrip() in _FRONT_MATTER_END:
            break
    else:
        return {}, text  # a lone "---" is a thematic break, not front matter
    import yaml  # only documents with front matter need it

    body = "\n".join(lines[end + 1 :])
    # libyaml where PyYAML was built with it: it refuses flow collections nested thousands
    # deep at once, where the pure-Python scanner spends seconds on them.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=loader)
    # ValueError: a date that is no date (2020-13-45), an integer too long to convert;
    # RecursionError: "[[[[…" nested thousands deep.
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        log.warning("ignored broken front matter: %s", first)
        return {}, body
    if not isinstance(data, dict):
        return {}, text  # "---", prose, "---": thematic breaks around text, not front matter
    return data, body


def _blocks(tokens: Sequence[Token]) -> list[tuple[str, str, int]]:
    """("heading", text, level), ("paragraph", text, 0) and ("links", text, 0) (a paragraph
    of nothing but links) in document order."""
    out: list[tuple[str, str, int]] = []
    heading_level = 0
    section_level = 1  # of the last heading: a run-in heading goes one below it
    skipping = 0  # depth inside tables, whose cells are data rather than prose
    for token in tokens:
        if token.type.endswith("_open") and token.tag in _BLOCKS_SKIPPED:
            skipping += 1
        elif token.type.endswith("_close") and token.tag in _BLOCKS_SKIPPED:
            skipping -= 1
        elif token.type == "heading_open":
            heading_level = section_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type == "inline" and not skipping:
            children = token.children or []
            text = render_inline(children)
            if heading_level:
                if text:
                    out.append(("heading", text, heading_level))
                continue
            if split := _run_in(children):
                label, children = split[0], list(split[1])
                out.append(("heading", label, min(section_level + 1, 6)))
                text = render_inline(children)
            if text:
                out.append(("links" if only_links(children) else "paragraph", text, 0))
        # fence, code_block, html_block and hr carry no prose and are passed over.
    return out


_BREAKS = ("softbreak", "hardbreak")


def _run_in(children: Sequence[Token]) -> tuple[str, Sequence[Token]] | None:
    """A paragraph's run-in heading ("**Task scheduling**", a line break, then the prose it
    heads) and the inline tokens after it; None when it has none (see run_in_heading)."""
    # markdown-it puts empty text tokens around emphasis: they are not content.
    children = [c for c in children if not (c.type == "text" and not c.content)]
    if len(children) < 3 or children[0].type != "strong_open":
        return None
    depth, end = 0, 0
    while end < len(children):
        depth += (children[end].type == "strong_open") - (children[end].type == "strong_close")
        if depth == 0:
            break
        end += 1
    else:
        return None
    label, rest = children[1:end], children[end + 1 :]
    if label and label[-1].type in _BREAKS:  # **Label\** then the prose
        label = label[:-1]
    elif rest and rest[0].type in _BREAKS:
        rest = rest[1:]
    else:
        return None
    heading = run_in_heading(render_inline(label))
    if heading is None or not render_inline(rest):
        return None
    return heading, rest


def only_links(children: Sequence[Token]) -> bool:
    """Whether inline content is nothing but links (a "Related posts" list item)."""
    depth = links = 0
    for child in children:
        if child.type == "link_open":
            depth, links = depth + 1, links + 1
        elif child.type == "link_close":
            depth -= 1
        elif depth == 0 and child.type == "text" and any(c.isalnum() for c in child.content):
            return False
    return links > 0


def render_inline(children: Sequence[Token]) -> str:
    """Inline tokens as plain text: link text kept, emphasis stripped, images and HTML dropped."""
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content.replace(_PLACEHOLDER, " "))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return normalise_space("".join(parts))


def _text_field(value: object) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return normalise_space(str(value)) or None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ", ".join(normalise_space(v) for v in value)
    return None


#: A post named the Jekyll way, "2016-07-21-title.md": the day it was published.
_FILENAME_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


def _date_from_filename(name: str) -> str | None:
    """The day a "YYYY-MM-DD-title.md" post names, when it is a real day; blog generators
    (Jekyll, and Hugo's and Eleventy's date-in-name conventions) take it from there when the
    front matter has no date, so the post's date is known even then (stories need it)."""
    match = _FILENAME_DAY.match(name)
    if match is None:
        return None
    try:
        return _dt.date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def _date_field(value: object) -> str | None:
    # YAML turns 2015-02-17 into a date and 2015-02-17 10:00 into a datetime; keep ISO dates.
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = _text_field(value)
    # A quoted "2014-09-18T15:21:00-04:00" stays a string; the day is what a digest shows.
    if text and (match := _ISO_DAY.match(text)):
        return match.group(0)
    return text
