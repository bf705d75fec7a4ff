"""Decoding bytes and reading plain-text files: encodings, titles, the BBC corpus."""

from __future__ import annotations

import codecs
import json
import random
from pathlib import Path

import pytest
from conftest import ROOT, SHARED, shared_path

from digest.errors import SkipDocument
from digest.sources import read_document
from digest.sources.decoding import decode_bytes
from digest.sources.text import parse_text

BBC_RAW = SHARED / "data" / "bbc-news-summary" / "raw"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


# --- decoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("naïve café £5\n".encode(), "naïve café £5\n"),
        (codecs.BOM_UTF8 + "£5 – fine".encode(), "£5 – fine"),
        (codecs.BOM_UTF16_LE + "Hello £5\r\nworld".encode("utf-16-le"), "Hello £5\nworld"),
        (codecs.BOM_UTF16_BE + "Hello £5\r\nworld".encode("utf-16-be"), "Hello £5\nworld"),
        (codecs.BOM_UTF32_LE + "Grüße".encode("utf-32-le"), "Grüße"),
        (b"one\r\ntwo\rthree\n", "one\ntwo\nthree\n"),
        ("Le café coûte 2 € à Paris, où l'été est très chaud.".encode("cp1252"), None),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf32le-bom", "newlines", "cp1252"],
)
def test_decode_bytes(data: bytes, text: str | None) -> None:
    expected = text if text is not None else data.decode("cp1252")
    assert decode_bytes(data) == expected


def test_decode_latin1_bbc_file_keeps_pound_signs() -> None:
    path = shared_path("data", "bbc-news-summary", "raw", "sport", "199.txt")
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = decode_bytes(data)
    assert "£15.8m signing from Parma" in text
    assert text.count("£") == data.count(b"\xa3") > 0
    assert "\r" not in text


@pytest.mark.parametrize(
    "data",
    [
        PNG_HEADER + random.Random(7).randbytes(4096),
        b"text\x00with a NUL",
        bytes(range(1, 32)) * 50,
    ],
    ids=["png", "nul", "control-characters"],
)
def test_decode_binary_raises_skip(data: bytes) -> None:
    with pytest.raises(SkipDocument, match="binary"):
        decode_bytes(data)


def test_decode_broken_utf16_after_bom_raises_skip() -> None:
    with pytest.raises(SkipDocument, match="UTF-16"):
        decode_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate


# --- parse_text ------------------------------------------------------------------------------


def test_parse_text_seed_document() -> None:
    path = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"
    document = read_document(path, max_bytes=1_000_000)
    assert document.format == "text"
    assert document.title == "Afghanistan: Taliban captures Kandahar as clashes continue"
    assert len(document.sections) == 6
    assert document.date is None


def test_parse_text_without_title_line_takes_title_from_file_name() -> None:
    text = "Bought the tickets for the lake trip; remember to pack the waterproofs and the map."
    document = parse_text(text, Path("notes/my-notes_2024.txt"))
    assert document.title == "My notes 2024"
    assert [s.paragraphs for s in document.sections] == [(text,)]


def test_parse_text_falls_back_to_first_words_when_file_name_has_none() -> None:
    text = "One two three four five six seven eight nine ten."
    assert parse_text(text, Path("___.txt")).title == "One two three four five six seven eight…"


def _bbc_names() -> list[str]:
    names = sorted(str(p.relative_to(BBC_RAW)) for p in BBC_RAW.glob("*/*.txt"))
    return names or ["absent/000.txt"]


@pytest.fixture(scope="module")
def bbc_pairs() -> dict[str, dict[str, str]]:
    path = shared_path("data", "bbc-news-summary", "pairs.jsonl")
    with path.open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


@pytest.mark.parametrize("name", _bbc_names())
def test_bbc_raw_file_gives_title_and_one_section(
    name: str, bbc_pairs: dict[str, dict[str, str]]
) -> None:
    path = shared_path("data", "bbc-news-summary", "raw", *name.split("/"))
    document = read_document(path, max_bytes=1_000_000)
    pair = bbc_pairs[name.removesuffix(".txt")]
    expected = [" ".join(p.split()) for p in pair["article"].split("\n\n")[1:] if p.strip()]
    assert document.title == pair["title"]
    assert len(document.sections) == 1
    (section,) = document.sections
    assert section.title is None and section.kicker is None
    assert list(section.paragraphs) == expected


def test_bbc_corpus_titles_and_sections(bbc_pairs: dict[str, dict[str, str]]) -> None:
    # All 2,225 articles in the title / blank line / paragraphs layout: every title right, and
    # only the odd article with a list or a subheading line splits into more than one section.
    wrong_titles, split = [], 0
    for key, row in bbc_pairs.items():
        document = parse_text(row["article"], Path(f"{key}.txt"))
        if document.title != " ".join(row["title"].split()):
            wrong_titles.append(key)
        split += len(document.sections) > 1
    assert wrong_titles == []
    assert split <= 0.02 * len(bbc_pairs)
