"""Digest → one self-contained HTML page (digest.html.j2, autoescaped), for a browser."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from digest.email import paragraphs
from digest.model import Digest
from digest.render import load_template, render_loaded
from digest.text import one_line
from digest.version import __version__

PAGE_TEMPLATE = "digest.html.j2"
#: The filters every HTML template of the digest gets (the page, the archive).
HTML_FILTERS = {"one_line": one_line, "paragraphs": paragraphs}


def utc_stamp(moment: _dt.datetime) -> str:
    """'2026-11-24T06:30:00Z': whole seconds in UTC, as the page, the archive and Atom write it."""
    if moment.tzinfo is None:
        raise ValueError("a page's time must carry its time zone")
    moment = moment.astimezone(_dt.timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def render_html(
    digest: Digest, templates_dir: Path | None = None, *, updated: _dt.datetime | None = None
) -> str:
    """The page of `digest`; `updated` (default: now) is when it was made, which the feed
    reports as the entry's updated time."""
    template = load_template(PAGE_TEMPLATE, templates_dir, autoescape=True, filters=HTML_FILTERS)
    when = updated or _dt.datetime.now(_dt.timezone.utc)
    context = {"digest": digest, "updated": utc_stamp(when), "version": __version__}
    return render_loaded(template, context)
