"""Screenshots of the HTML digest for the README: a phone (390 px) and a wide screen (1280 px),
light and dark, and the archive page, in headless chromium.

    python scripts/html_screenshots.py [--output docs/screenshots]

The digest is made by `digest make` with the extractive engine from the seed and two small
feeds written here (text of our own, so the pictures can be committed); nothing is fetched.
Needs chromium (`apt-get install -y chromium`) and ImageMagick's `convert` (to shrink the PNGs
to a 256-colour palette).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"

# (feed, title, link, author, [(heading, paragraph), ...]): example stories of our own.
STORIES = [
    (
        "Harbour Gazette",
        "Night ferries return to the northern islands after four years",
        "https://harbour.example/news/night-ferries",
        "Ines Morgan",
        [
            (
                "The timetable",
                "From March the night ferry leaves the harbour at 23:10 on "
                "weekdays and at midnight on Saturdays. The crossing takes five hours, and the "
                "first boat back reaches the mainland at 06:40, in time for the early trains. "
                "The operator says cabins can be booked from next Monday.",
            ),
            (
                "Why it stopped",
                "The service ended four years ago when the old ship failed its "
                "survey and no replacement could be leased. Islanders have since relied on the "
                "day boats, which fill up in summer and leave no way to reach the hospital on "
                "the mainland after dark.",
            ),
            (
                "What it costs",
                "A seat costs the same as on the day boats, and a cabin for two "
                "adds forty euros. The regional council pays a third of the running costs for "
                "the first three years and will review the numbers each autumn.",
            ),
            (
                "What islanders say",
                "Shopkeepers on the largest island welcome the news: "
                "deliveries that now arrive at noon could be on the shelves before opening "
                "time. Parents of students at the mainland college say the night boat will let "
                "their children come home for the weekend on Friday evening.",
            ),
        ],
    ),
    (
        "Harbour Gazette",
        "Fish market moves to the old customs hall",
        "https://harbour.example/news/fish-market",
        "Tomás Reyes",
        [
            (
                "The move",
                "The fish market will open in the restored customs hall on the east "
                "quay in May. The hall is three times larger than the shed the traders use now "
                "and has cold rooms, a loading bay and space for a small restaurant.",
            ),
            (
                "Traders' worries",
                "Some traders fear that customers will not find the new "
                "site. The harbour board has promised signs from the station and free parking "
                "for the first six months, and it will keep the old shed open on Saturdays "
                "until the summer.",
            ),
            (
                "The restaurant",
                "A cooperative of six families will run the restaurant and "
                "cook only what was landed that morning. The menu changes each day and is "
                "written on a board by the door, as it was in the hall a century ago, when "
                "the customs officers ate there at noon.",
            ),
            (
                "Opening day",
                "The first market in the new hall opens at six in the morning on "
                "the first Saturday of May, with a brass band on the quay and free coffee for "
                "the first hundred customers.",
            ),
        ],
    ),
    (
        "Rail Weekly",
        "A new sleeper line links the coast with the capital",
        "https://rail.example/2026/sleeper-line",
        None,
        [
            (
                "The route",
                "The sleeper leaves the coast at nine in the evening and reaches "
                "the capital before seven, with stops in four county towns. It runs every night "
                "except Saturday, and bicycles travel free in a car of their own.",
            ),
            (
                "The carriages",
                "The carriages are rebuilt day coaches from the nineteen-eighties "
                "with new beds, showers and wide windows. Each compartment sleeps two and can be "
                "joined to its neighbour for families. The operator hopes to add a dining car "
                "next year if the line pays its way.",
            ),
            (
                "Tickets",
                "Tickets go on sale next month. A bed costs about as much as a cheap "
                "hotel room, and a reclining seat half as much.",
            ),
            (
                "Who pays",
                "The line is run by a new company owned by the four counties it "
                "serves. The state pays for the track work, and the counties cover any loss in "
                "the first five years, after which the line must pay for itself.",
            ),
        ],
    ),
]


def write_feeds(folder: Path) -> None:
    """The stories as RSS files, one per feed, with their whole text (nothing to fetch)."""
    feeds: dict[str, list[str]] = {}
    for feed, title, link, author, sections in STORIES:
        html = "".join(f"<h2>{escape(h)}</h2><p>{escape(p)}</p>" for h, p in sections)
        creator = f"<dc:creator>{escape(author)}</dc:creator>" if author else ""
        feeds.setdefault(feed, []).append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<guid>{escape(link)}</guid><pubDate>Mon, 23 Nov 2026 18:00:00 +0000</pubDate>"
            f"{creator}<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        )
    for feed, items in feeds.items():
        (folder / (feed.lower().replace(" ", "-") + ".rss")).write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>{escape(feed)}</title><link>https://example.org/</link>"
            f"<description>x</description>{''.join(items)}</channel></rss>",
            encoding="utf-8",
        )


def digest(folder: Path, *args: str) -> None:
    """`digest make` in `folder`, so that local files are named by their relative paths."""
    command = [sys.executable, "-m", "digest", "make", *args, "--engine", "extractive"]
    command += ["--no-cache", "-q", "-f", "md,html"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, cwd=folder, env=env, stdout=subprocess.DEVNULL)


def shoot(page: Path, png: Path, width: int, height: int, *, dark: bool) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", *(["--force-dark-mode"] if dark else []),
             f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
            check=True, capture_output=True, env={**os.environ, "HOME": profile},
        )  # fmt: skip
    # A 256-colour palette keeps text sharp at a fraction of the size.
    subprocess.run(["convert", str(png), "-strip", "-colors", "256", f"PNG8:{png}"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "sources", Path(tmp) / "digests"
        src.mkdir()
        shutil.copy(SEED, src / SEED.name)
        # Two nights: the seed, then (--since last: only what is new) the two feeds.
        digest(Path(tmp), "sources", "-o", "digests", "--date", "2026-11-23", "--since", "last")
        write_feeds(src)
        digest(Path(tmp), "sources", "-o", "digests", "--date", "2026-11-24", "--since", "last")
        page = out / "digest-2026-11-24.html"
        for name, width, height in (("phone", 390, 2000), ("wide", 1280, 1400)):
            for scheme in ("light", "dark"):
                png = args.output / f"digest-{name}-{scheme}.png"
                shoot(page, png, width, height, dark=scheme == "dark")
                print(png, png.stat().st_size)
        png = args.output / "archive-wide-light.png"
        shoot(out / "index.html", png, 1280, 600, dark=False)
        print(png, png.stat().st_size)


if __name__ == "__main__":
    main()
