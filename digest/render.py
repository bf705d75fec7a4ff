"""Digest → Markdown and JSON text, through Jinja2 templates a user folder can override."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2

from digest.errors import TemplateProblem
from digest.model import Digest

_BUILTIN = Path(__file__).resolve().parent / "templates"

# Characters that can start Markdown structure anywhere in a line (emphasis, code, links,
# raw HTML, tables, strikethrough, headings' closing run). CommonMark lets any ASCII
# punctuation be backslash-escaped, so escaping these keeps the text and drops the meaning.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# What makes a line a block when it comes first: heading, quote, list, thematic break, setext.
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")
_SPACE = re.compile(r"\s+")


def escape_markdown(text: str | None) -> str:
    """Make untrusted text inert in Markdown: one line, no structure, no raw HTML or links."""
    if not text:
        return ""
    text = _SPACE.sub(" ", text).strip()
    text = _INLINE.sub(r"\\\1", text)
    text = _ENTITY.sub(r"\\&", text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


def environment(
    templates_dir: Path | None = None, *, autoescape: bool = False
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
    return env


def render_template(
    name: str,
    context: dict[str, Any],
    templates_dir: Path | None = None,
    *,
    autoescape: bool = False,
) -> str:
    """Render one template by name, turning Jinja2's errors into a one-line TemplateProblem."""
    try:
        template = environment(templates_dir, autoescape=autoescape).get_template(name)
        return template.render(**context)
    except jinja2.TemplateNotFound:
        raise TemplateProblem(f"template {name!r} not found") from None
    except jinja2.TemplateError as exc:
        lineno = getattr(exc, "lineno", None)
        where = f" (line {lineno})" if lineno else ""
        raise TemplateProblem(f"template {name!r}{where}: {exc.message}") from None


def render_markdown(digest: Digest, templates_dir: Path | None = None) -> str:
    return render_template("digest.md.j2", {"digest": digest}, templates_dir)


def digest_as_dict(digest: Digest) -> dict[str, Any]:
    """The JSON shape (documented in the README; fields may be added, never renamed)."""
    return {
        "date": digest.date.isoformat(),
        "engine": digest.engine,
        "model": digest.model,
        "backend": digest.backend,
        "notices": list(digest.notices),
        "documents": [
            {
                "path": a.path,
                "title": a.title,
                "date": a.date,
                "format": a.format,
                "summary": a.summary,
                "tldr": a.tldr,
                "words": a.words,
                "reading_minutes": a.reading_minutes,
                "sections": [
                    {
                        "kicker": s.kicker,
                        "title": s.title,
                        "summary": s.summary,
                        "words": s.words,
                        "quoted": s.quoted,
                    }
                    for s in a.sections
                ],
            }
            for a in digest.articles
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in digest.skipped],
    }


def render_json(digest: Digest) -> str:
    return json.dumps(digest_as_dict(digest), ensure_ascii=False, indent=2) + "\n"
