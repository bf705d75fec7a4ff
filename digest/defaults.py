"""The built-in default of every run setting, defined once for the library and the command."""

from __future__ import annotations

from pathlib import Path

from digest.engines.settings import PRESETS
from digest.sizes import parse_age, parse_size

#: The seq2seq model when none is named (--model, DIGEST_MODEL, digest.toml).
DEFAULT_MODEL = PRESETS["balanced"]
#: Inputs larger than this are skipped (--max-size).
DEFAULT_MAX_SIZE = "5MB"
DEFAULT_MAX_BYTES = parse_size(DEFAULT_MAX_SIZE)
#: Seconds to wait for another run holding the output folder's lock (--wait).
DEFAULT_WAIT_S = 300.0
#: Gmail clips HTML beyond about 102 KB and hides the rest behind "View entire message": the
#: HTML part as sent (headers and quoted-printable body) is kept within this (--email-max-size).
DEFAULT_EMAIL_MAX_SIZE = "100KB"
DEFAULT_MAX_HTML_BYTES = parse_size(DEFAULT_EMAIL_MAX_SIZE)
#: The email digest's From when none is given (--email-from, DIGEST_EMAIL_FROM).
DEFAULT_SENDER = "Digest <digest@localhost>"
#: Where digests are written (--out).
DEFAULT_OUT = Path("outputs")
#: The Atom feed of the HTML digests holds this many, the newest (--feed-entries).
DEFAULT_FEED_ENTRIES = 10
#: The reading budget in words of prose, about 7 minutes at 230 words a minute (--max-words).
DEFAULT_MAX_WORDS = 1500
#: How entries are ordered (--order): most independent sources first.
DEFAULT_ORDER = "rank"
#: What is written (--format).
DEFAULT_FORMATS = ("md",)
#: At most this many entries per feed in one digest, the newest (--max-entries).
DEFAULT_MAX_ENTRIES = 100
#: Seconds one HTTP request (a feed, a page) may take in all (--timeout).
DEFAULT_TIMEOUT_S = 30.0
#: Cached summaries and converted models unused this long are pruned (--cache-max-age).
DEFAULT_CACHE_MAX_AGE = "90d"
DEFAULT_CACHE_MAX_AGE_S = parse_age(DEFAULT_CACHE_MAX_AGE)
#: All of a run's fetching (feeds, lists, pages, retries) must be over within this (--fetch-budget).
DEFAULT_FETCH_BUDGET = "10m"
DEFAULT_FETCH_BUDGET_S = parse_age(DEFAULT_FETCH_BUDGET)
