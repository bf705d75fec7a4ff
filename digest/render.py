"""Digest → Markdown and JSON text, through Jinja2 templates a user folder can override."""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import jinja2

from digest.errors import TemplateProblem
from digest.model import Digest, SectionSummary, Story
from digest.text import label, one_line
from digest.urls import safe_url

_BUILTIN = Path(__file__).resolve().parent / "templates"

# Characters that can start Markdown structure anywhere in a line (emphasis, code, links,
# raw HTML, tables, strikethrough, headings' closing run). CommonMark lets any ASCII
# punctuation be backslash-escaped, so escaping these keeps the text and drops the meaning.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# What makes a line a block when it comes first: heading, quote, list, thematic break, setext.
# An ordered list's marker is escaped at its "." or ")": a backslash before a digit is no
# escape in CommonMark and would show ("\1. Introduction").
_LINE_START = re.compile(r"^(\s*\d*)((?<=\d)[.)]|(?<!\d)[-+=>])")


def escape_markdown(text: str | None) -> str:
    """Make untrusted text inert in Markdown: one line, no structure, no raw HTML or links."""
    text = one_line(text)
    text = _INLINE.sub(r"\\\1", text)
    text = _ENTITY.sub(r"\\&", text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


#: Marks a sentence the faithfulness guard flagged (--guard flag); a footnote line says what
#: it means.
FLAG_MARK = "\u2020"
# Stands in for the mark while the text is escaped; never in what is shown.
_PLACEHOLDER = "\ue000"


def mark_flagged(text: str | None, flagged: Sequence[str] = (), mark: str = FLAG_MARK) -> str:
    """`text` with `mark` after each of the `flagged` sentences in it: for the HTML page and
    the email, whose templates escape what they show."""
    text = text or ""
    for sentence in dict.fromkeys(s.strip() for s in flagged):
        if sentence:
            text = text.replace(sentence, sentence + mark)
    return text


def escape_flagged(text: str | None, flagged: Sequence[str] = ()) -> str:
    """escape_markdown(text), with FLAG_MARK after each of the `flagged` sentences in it."""
    # Marked with a placeholder first (the sentences are found unescaped), and a placeholder
    # smuggled into the text itself is dropped so it never turns into a mark.
    marked = mark_flagged((text or "").replace(_PLACEHOLDER, ""), flagged, _PLACEHOLDER)
    return escape_markdown(marked).replace(_PLACEHOLDER, FLAG_MARK)


def link_url(url: str | None) -> str:
    """An http(s) link made safe to put in a Markdown link or an href; "" for anything else.

    Characters that could close a Markdown destination or an attribute, or start markup
    ("(", ")", "<", ">", quotes, spaces, backslashes), are percent-encoded.
    """
    checked = safe_url(url)
    if checked is None:
        return ""
    return quote(checked, safe="/:?#@!$&*+,;=%-._~[]")


_HOST = re.compile(r"^[a-z0-9.-]+$")


def link_host(url: str | None) -> str:
    """The host of an http(s) link, as the text of the link to the original: letters, digits,
    dots and hyphens only, so it needs no escaping (an odd host reads "link")."""
    checked = safe_url(url)
    host = (urlsplit(checked).hostname or "") if checked else ""
    return host if _HOST.match(host) else ("link" if checked else "")


# strftime's %A and %B follow the locale; a cron job's locale must not change the digest.
_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()
_DAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def long_date(day: _dt.date) -> str:
    """'Tuesday 24 November 2026', the same in every locale."""
    return f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def short_date(day: _dt.date) -> str:
    """'24 Nov 2026', the same in every locale."""
    return f"{day.day} {_MONTH_NAMES[day.month - 1][:3]} {day.year}"


#: Section titles listed per level under a bullet ("Covers: …", "Also covers: …").
MAX_COVERED = 8


class Covered(NamedTuple):
    shown: list[SectionSummary]
    more: int


def covered(sections: Sequence[SectionSummary], more: int = 0) -> Covered:
    """The named sections to list (at most MAX_COVERED) and how many more there are,
    counting `more` sections left out of the summary tree altogether."""
    named = [s for s in sections if s.title or s.kicker]
    return Covered(named[:MAX_COVERED], max(0, len(named) - MAX_COVERED) + more)


def plural(count: int, noun: str) -> str:
    """'1 story', '3 stories', '2 articles': a consonant and "y" become "ies"."""
    if count == 1:
        return f"{count} {noun}"
    if len(noun) > 1 and noun.endswith("y") and noun[-2] not in "aeiou":
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}s"


def environment(
    templates_dir: Path | None = None,
    *,
    autoescape: bool = False,
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> jinja2.Environment:
    """A Jinja2 environment that looks in the user's folder first, then the built-in templates."""
    paths = [str(templates_dir)] if templates_dir else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*paths, str(_BUILTIN)]),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = escape_markdown
    env.filters["md_flagged"] = escape_flagged
    env.filters["flag"] = mark_flagged
    env.filters["url"] = link_url
    env.filters["host"] = link_host
    env.filters["label"] = label
    env.filters.update(filters or {})
    env.globals.update(
        long_date=long_date,
        short_date=short_date,
        plural=plural,
        covered=covered,
        flag_mark=FLAG_MARK,
    )
    return env


def _problem(name: str, exc: jinja2.TemplateError) -> TemplateProblem:
    lineno = getattr(exc, "lineno", None)  # only syntax errors know their line
    where = f" (line {lineno})" if lineno else ""
    return TemplateProblem(f"template {name!r}{where}: {exc.message}")


def load_template(
    name: str,
    templates_dir: Path | None = None,
    *,
    autoescape: bool = False,
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> jinja2.Template:
    """Find and compile one template (user folder first), as a one-line TemplateProblem if not."""
    env = environment(templates_dir, autoescape=autoescape, filters=filters)
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        raise TemplateProblem(f"template {name!r} not found") from None
    except jinja2.TemplateError as exc:
        raise _problem(name, exc) from None


def render_loaded(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render a loaded template, turning Jinja2's errors into a one-line TemplateProblem."""
    try:
        return template.render(**context)
    except jinja2.TemplateError as exc:
        raise _problem(template.name or "?", exc) from None


def render_template(
    name: str,
    context: Mapping[str, Any],
    templates_dir: Path | None = None,
    *,
    autoescape: bool = False,
) -> str:
    return render_loaded(load_template(name, templates_dir, autoescape=autoescape), context)


def render_markdown(digest: Digest, templates_dir: Path | None = None) -> str:
    return render_template("digest.md.j2", {"digest": digest}, templates_dir)


def digest_as_dict(digest: Digest) -> dict[str, Any]:
    """The JSON shape (documented in the README; fields may be added, never renamed)."""
    entries = digest.entries
    story_of = {i: s.id for s in entries for i in s.documents}
    return {
        "date": digest.date.isoformat(),
        "engine": digest.engine,
        "model": digest.model,
        "backend": digest.backend,
        "executor": digest.executor,
        "notices": list(digest.notices),
        "order": digest.order,
        "max_words": digest.max_words,
        "stories": [_story_dict(rank, story) for rank, story in enumerate(entries, 1)],
        "guard": {
            "mode": digest.guard,
            "checked": digest.guarded,
            "note": guard_note(digest),
        },
        "documents": [
            {
                "path": a.path,
                "title": a.title,
                "date": a.date,
                "format": a.format,
                "link": link_url(a.link) or None,
                "feed": a.feed,
                "author": a.author,
                "note": a.note,
                "summary": a.summary,
                "tldr": a.tldr,
                "words": a.words,
                "reading_minutes": a.reading_minutes,
                "sections": [_section_dict(s) for s in a.sections],
                "omitted_sections": a.omitted_sections,
                "outlet": a.outlet,
                "story": story_of.get(i),
                "guard": [
                    {
                        "part": n.part,
                        "section": n.section,
                        "action": n.action,
                        "sentence": n.sentence,
                        "reason": n.reason,
                        "replacement": n.replacement,
                        "model_score": n.model_score,
                    }
                    for n in a.guard
                ],
            }
            for i, a in enumerate(digest.articles)
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in digest.skipped],
    }


def _story_dict(rank: int, story: Story) -> dict[str, Any]:
    """A story as listed in the JSON: its place, how it is shown, its entry's text, and
    every source (the lead first) with the index of its document in "documents"."""
    entry = story.entry
    return {
        "id": story.id,
        "rank": rank,
        "shown": story.shown,
        "title": entry.title,
        "outlets": story.outlets,
        "tldr": entry.tldr,
        "summary": entry.summary,
        "sources": [
            {
                "document": index,
                "path": source.path,
                "title": source.title,
                "outlet": source.outlet,
                "link": link_url(source.link) or None,
            }
            for index, source in zip(story.documents, story.sources, strict=True)
        ],
    }


def guard_note(digest: Digest) -> str:
    """What the faithfulness guard did in this digest, in one line."""
    if digest.guard == "off":
        return "not checked (--guard off)"
    if not digest.articles:
        return "nothing to check"
    if not digest.guarded:
        return "not checked: extractive summaries and quoted texts are the source's own sentences"
    if digest.guard == "flag":
        return "model-written sentences checked against their source; unsupported ones flagged"
    return (
        "model-written sentences checked against their source; unsupported ones replaced by "
        "the source sentence they paraphrased, or dropped"
    )


def _section_dict(section: SectionSummary) -> dict[str, Any]:
    return {
        "kicker": section.kicker,
        "title": section.title,
        "level": section.level,
        "summary": section.summary,
        "words": section.words,
        "quoted": section.quoted,
        "folded": section.folded,
        "sections": [_section_dict(child) for child in section.sections],
    }


def render_json(digest: Digest) -> str:
    return json.dumps(digest_as_dict(digest), ensure_ascii=False, indent=2) + "\n"
