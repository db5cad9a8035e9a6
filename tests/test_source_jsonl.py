"""JSON Lines sources: the real Kaggle head and listings slice, hand-made broken lines, export round trip."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, ParsedItem, Rejection, _clean_text_general, clean_text
from paperfeed.sources.jsonl import (
    MAX_LINE,
    _rfc2822_day,
    detect_jsonl_format,
    export_record,
    listing_runs,
    parse_jsonl,
)

FIXTURES = Path(__file__).parent / "fixtures" / "files"
KAGGLE = FIXTURES / "arxiv-metadata-oai-snapshot.head200.jsonl.gz"
LISTINGS = FIXTURES / "arxiv_daily_listings.head50.jsonl.gz"


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as f:
        return f.readlines()


def _by_id(items: list[ParsedItem]) -> dict[str, Paper]:
    return {p.id: p for p in items if isinstance(p, Paper)}


def _parse(*records: Any, fmt: str | None = None) -> list[ParsedItem]:
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) + b"\n" for r in records]
    return list(parse_jsonl(lines, "t.jsonl", fmt))


@pytest.fixture(scope="module")
def kaggle() -> list[ParsedItem]:
    return list(parse_jsonl(_lines(KAGGLE), "kaggle.jsonl"))


@pytest.fixture(scope="module")
def listings() -> list[ParsedItem]:
    return list(parse_jsonl(_lines(LISTINGS), "listings.jsonl"))


def test_kaggle_head_parses_completely(kaggle: list[ParsedItem]) -> None:
    assert len(kaggle) == 200
    assert all(isinstance(p, Paper) and p.source == "kaggle" for p in kaggle)
    papers = [p for p in kaggle if isinstance(p, Paper)]
    assert all("\n" not in p.title and p.abstract and p.categories and p.authors for p in papers)
    assert all(p.submitted and p.updated and p.version for p in papers)


@pytest.mark.parametrize(
    ("paper_id", "field", "expected"),
    [
        ("0704.0001", "title", "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"),
        ("0704.0001", "authors", ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]),  # authors_parsed
        ("0704.0001", "version", 2),
        ("0704.0001", "submitted", "2007-04-02"),
        ("0704.0001", "updated", "2007-07-24"),
        ("0704.0001", "journal_ref", "Phys.Rev.D76:013009,2007"),
        ("0704.0001", "doi", "10.1103/PhysRevD.76.013009"),
        ("0704.0001", "comments", "37 pages, 15 figures; published version"),
        ("0704.0001", "license", None),
        # v1 "Mon, 2 Apr 2007 19:18:42 GMT" is 15:18 EDT, after Monday's deadline: announced Tuesday evening.
        ("0704.0001", "listing_days", {"2007-04-04": "derived"}),
        ("0704.0002", "categories", ["math.CO", "cs.CG"]),
        ("0704.0002", "license", "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"),
        ("0704.0002", "submitted", "2007-03-31"),
        ("0704.0002", "updated", "2008-12-13"),
        ("0704.0064", "version", 5),
        ("0704.0064", "updated", "2008-10-24"),
        ("0704.0024", "project_urls", ["http://www.physik.uni-kl.de/w_hilleb/ann05.html"]),
    ],
)
def test_kaggle_fields(kaggle: list[ParsedItem], paper_id: str, field: str, expected: Any) -> None:
    assert getattr(_by_id(kaggle)[paper_id], field) == expected


def test_kaggle_abstract_is_clean_and_keeps_paragraphs(kaggle: list[ParsedItem]) -> None:
    paper = _by_id(kaggle)["0704.0024"]
    assert paper.abstract.startswith("The formation of quasi-2D spin-wave waveforms")
    assert paper.abstract.count("\n\n") == 1 and "\n" not in paper.abstract.replace("\n\n", "")
    assert "\n" not in (paper.comments or "")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {
                "id": "hep-th/9901001",
                "title": "Old",
                "versions": [{"version": "v1", "created": "Fri, 1 Jan 1999 0:0:0 GMT"}],
            },
            {"id": "hep-th/9901001", "version": 1, "submitted": "1999-01-01"},
        ),
        (
            {"id": "0704.0001", "title": "T", "authors": "A. One, B. Two and C. Three", "authors_parsed": []},
            {"authors": ["A. One", "B. Two", "C. Three"]},
        ),
        (
            {
                "id": "0704.0001",
                "title": "T",
                "authors_parsed": [["Smith", "John", "Jr"], ["Doe", "", ""], ["X", "Y", "", "Inst"]],
            },
            {"authors": ["John Smith Jr", "Doe", "Y X"]},
        ),
        (
            {"id": "0704.0001", "title": "T", "update_date": "2008-11-26"},
            {"version": None, "submitted": None, "updated": "2008-11-26"},
        ),
        (
            {
                "id": "0704.0001",
                "title": "T",
                "versions": [
                    {"version": "v10", "created": "Mon, 2 Apr 2007 1:1:1 GMT"},
                    {"version": "v9", "created": "Sun, 1 Apr 2007 1:1:1 GMT"},
                ],
            },
            {"version": 10, "submitted": "2007-04-01", "updated": "2007-04-02"},
        ),
        (
            {"id": "0704.0001", "title": "T", "update_date": "x", "categories": "hep-ph  gr-qc", "doi": ""},
            {"categories": ["hep-ph", "gr-qc"], "doi": None},
        ),
    ],
)
def test_kaggle_hand_made(record: dict[str, Any], expected: dict[str, Any]) -> None:
    [paper] = _parse(record, fmt="kaggle")
    assert isinstance(paper, Paper)
    for field, value in expected.items():
        assert getattr(paper, field) == value


def test_listings_slice(listings: list[ParsedItem]) -> None:
    assert len(listings) == 50
    assert all(isinstance(p, Paper) and p.source == "listings" for p in listings)
    first = _by_id(listings)["2503.11677"]
    assert first.title == "Simulation of prosthetic vision with PRIMA system and enhancement of face representation"
    assert first.authors[:2] == ["Jungyeon Park", "Anna Kochnev Goldstein"]
    assert first.categories == ["cs.HC", "cs.CV"]
    assert first.abstract.startswith(
        "Objective. Patients implanted with the PRIMA photovoltaic subretinal prosthesis in"
    )
    assert "\n" not in first.abstract
    assert (first.announced, first.listing_days, first.version, first.comments) == (
        "2025-03-18",
        {"2025-03-18": "new"},
        None,
        None,
    )


@pytest.mark.parametrize(
    ("paper_id", "field", "expected"),
    [
        # Listed Fri, Sat, Sun: the collector re-saved Friday's listing over the weekend — one announcement.
        ("2503.15524", "listing_days", {"2025-03-21": "new"}),
        ("2503.15524", "announced", "2025-03-21"),
        ("2503.11807", "comments", "Accepted In IEEE India Geoscience and Remote Sensing Symposium (InGARSS) 2024"),
        ("2503.11781", "code_urls", ["https://github.com/gosha20777/cmKAN"]),
        ("2503.11806", "project_urls", ["https://www.projectaria.com/scenescript/"]),
        ("2503.11930", "code_urls", ["https://huggingface.co/datasets/fatdove/Iris_Database"]),
    ],
)
def test_listings_fields(listings: list[ParsedItem], paper_id: str, field: str, expected: Any) -> None:
    assert getattr(_by_id(listings)[paper_id], field) == expected


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2025-03-21", "2025-03-22", "2025-03-23"], {"2025-03-21": "new"}),  # Fri Sat Sun
        (["2025-03-21", "2025-03-23"], {"2025-03-21": "new"}),  # Fri, (Saturday missing) Sun
        (["2025-03-17", "2025-03-18"], {"2025-03-17": "new"}),  # Mon Tue: the same listing saved twice
        (["2025-03-20", "2025-03-23"], {"2025-03-20": "new", "2025-03-23": "replace"}),  # Thu, Sun
        (["2025-03-18", "2025-04-03", "2025-04-04"], {"2025-03-18": "new", "2025-04-03": "replace"}),
        (["2025-03-18", "garbage"], {"2025-03-18": "new", "garbage": "replace"}),
    ],
)
def test_listing_runs(dates: list[str], expected: dict[str, str]) -> None:
    assert listing_runs(dates) == expected


def test_listings_version_from_url_and_unsorted_dates() -> None:
    record = {
        "id": "2503.00001",
        "title": "T",
        "summary": "S",
        "abs": "https://arxiv.org/abs/2503.00001v3",
        "pdf": "https://arxiv.org/pdf/2503.00001v3",
        "listing_dates": ["2025-05-01", "2025-03-18", "2025-03-18"],
    }
    [paper] = _parse(record)
    assert isinstance(paper, Paper)
    assert paper.version == 3
    assert paper.listing_days == {"2025-03-18": "new", "2025-05-01": "replace"}
    assert paper.announced == "2025-03-18"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [b'{"id": "2503.00001", "title": "T", "summary": "S", "listing_dates": []}\n', b'{"id": "2503.0\n'],
            [Paper, "t.jsonl:2: broken JSON"],
        ),
        (
            [b'{"id": "2503.00001", "summary": "S", "listing_dates": []}\n'],
            ["t.jsonl:1: record 2503.00001 without title"],
        ),
        (
            [b'{"id": "2503.00001", "title": "  ", "summary": "S", "listing_dates": []}\n'],
            ["t.jsonl:1: record 2503.00001 without title"],
        ),
        ([b'{"title": "T", "summary": "S", "listing_dates": []}\n'], ["t.jsonl:1: record without id"]),
        ([b'{"id": "not-an-id", "title": "T", "summary": "S", "listing_dates": []}\n'], ["t.jsonl:1: not an arXiv id"]),
        (
            [
                b'{"id": "2503.00001", "title": "T", "summary": "S", "listing_dates": []}\n',
                b"\n",
                b"  \r\n",
                b"[1, 2]\n",
                b'{"id": "2503.00002", "title": "U", "summary": "S", "listing_dates": []}',
            ],
            [Paper, "t.jsonl:4: expected a JSON object, got list", Paper],
        ),
        ([b'\xef\xbb\xbf{"id": "2503.00001", "title": "T", "summary": "S", "listing_dates": []}\n'], [Paper]),
    ],
)
def test_broken_lines_are_rejected_and_parsing_continues(lines: list[bytes], expected: list[Any]) -> None:
    items = list(parse_jsonl(lines, "t.jsonl"))
    assert len(items) == len(expected)
    for item, want in zip(items, expected, strict=True):
        if want is Paper:
            assert isinstance(item, Paper)
        else:
            assert isinstance(item, Rejection) and str(item).startswith(want)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (Paper(id="x", title="t").to_dict(), "paperfeed"),
        ({"id": "0704.0001", "title": "t", "versions": []}, "kaggle"),
        ({"id": "0704.0001", "title": "t", "authors_parsed": []}, "kaggle"),
        ({"id": "2503.00001", "title": "t", "summary": "", "listing_dates": []}, "listings"),
        ({"id": "2503.00001", "title": "t"}, None),
        ({"paper": {}}, None),
    ],
)
def test_detect_jsonl_format(keys: dict[str, Any], expected: str | None) -> None:
    assert detect_jsonl_format(keys) == expected


def test_undetectable_first_record_and_unknown_format_raise() -> None:
    with pytest.raises(BadInput) as err:
        list(parse_jsonl([b"\n", b"garbage\n", b'{"a": 1}\n'], "t.jsonl"))
    assert err.value.where == "t.jsonl:3"
    with pytest.raises(BadInput, match="unknown JSON Lines format"):
        list(parse_jsonl([], "t.jsonl", "csv"))


def test_explicit_format_needs_no_detectable_keys() -> None:
    [paper] = _parse({"id": "0704.0001", "title": "T", "abstract": "A"}, fmt="kaggle")
    assert isinstance(paper, Paper) and paper.abstract == "A" and paper.source == "kaggle"


def _full_paper() -> Paper:
    return Paper(
        id="pf-0123456789ab",
        title="Ünïcode “title” — with $\\alpha$",
        abstract="First paragraph.\n\nSecond, with https://github.com/a/b.",
        version=3,
        authors=["A. One", "B. Two, Jr."],
        categories=["cs.CL", "cs.AI"],
        submitted="2025-03-01",
        updated="2025-03-09",
        announced="2025-03-04",
        comments="12 pages",
        journal_ref="J. Foo 1 (2025)",
        doi="10.1/xyz",
        license="http://creativecommons.org/licenses/by/4.0/",
        code_urls=["https://github.com/a/b"],
        project_urls=["https://example.org"],
        listing_days={"2025-03-04": "new", "2025-03-11": "replace"},
        source="paperfeed",
        signals={"upvotes": 12, "score": 0.5, "tags": ["x"], "none": None},
        sightings={
            "hf-daily": {
                "first_seen": "2025-03-04T10:00:00Z",
                "last_seen": "2025-03-05T10:00:00Z",
                "signals": {"upvotes": 12},
            },
            "arxiv-oai": {"first_seen": "2025-03-04T00:00:00Z", "last_seen": "2025-03-04T00:00:00Z", "signals": {}},
        },
    )


def _round_trip(papers: list[Paper]) -> Iterator[ParsedItem]:
    return parse_jsonl((export_record(p) + b"\n" for p in papers), "export.jsonl")


def test_export_record_is_one_line_of_to_dict() -> None:
    paper = _full_paper()
    line = export_record(paper)
    assert b"\n" not in line and not line.endswith(b"\n")
    assert orjson.loads(line) == paper.to_dict()


def test_export_round_trips_every_field(kaggle: list[ParsedItem], listings: list[ParsedItem]) -> None:
    real = [p for p in [*kaggle, *listings] if isinstance(p, Paper)]
    assert len(real) == 250
    papers = [_full_paper(), Paper(id="2503.00001", title="Minimal"), *real]
    back = list(_round_trip(papers))
    assert back == papers
    assert isinstance(back[0], Paper)
    assert export_record(back[0]) == export_record(papers[0])  # and again, byte for byte


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": "x", "listing_days": {}, "source": "s", "title": ""}, "record x without title"),
        ({"id": "", "listing_days": {}, "source": "s", "title": "T"}, "record without id"),
        ({"id": "x", "listing_days": [], "source": "s", "title": "T"}, "listing_days must be an object"),
        ({"id": "x", "listing_days": {}, "source": "s", "title": "T", "authors": "A, B"}, "authors must be a list"),
        ({"id": "x", "listing_days": {}, "source": "s", "title": "T", "version": "2"}, "version must be an integer"),
    ],
)
def test_paperfeed_records_are_checked(record: dict[str, Any], reason: str) -> None:
    [item] = _parse(record)
    assert isinstance(item, Rejection) and reason in item.reason


def test_paperfeed_ignores_unknown_keys() -> None:
    [paper] = _parse({"id": "x", "listing_days": {}, "source": "s", "title": "T", "from_the_future": 1})
    assert paper == Paper(id="x", title="T", source="s")


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        " ",
        "\n",
        "plain",
        "wrapped\nline",
        "two  spaces",
        "trailing \n",
        "\nleading",
        "  indented\nparagraph",
        "para one.\n\npara two",
        "para one.\n  para two",
        "tab\there",
        "crlf\r\nline",
        "nbsp\u00a0here",
        "ünïcode\nwrap",
        "ends\n",
        "x\x1cy",
    ],
)
def test_clean_text_shortcut_matches_the_general_rule(text: str | None) -> None:
    assert clean_text(text) == _clean_text_general(text)


def test_clean_text_shortcut_on_real_abstracts() -> None:
    for path, key in ((KAGGLE, "abstract"), (LISTINGS, "summary")):
        for line in _lines(path):
            record = orjson.loads(line)
            assert clean_text(record[key]) == _clean_text_general(record[key])
            assert clean_text(record["title"]) == _clean_text_general(record["title"])


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("Mon, 2 Apr 2007 19:18:42 GMT", "2007-04-02"),
        ("Sat, 13 Dec 2008 17:26:00 GMT", "2008-12-13"),
        ("2 Apr 2007 19:18:42 GMT", "2007-04-02"),
        ("Tue, 24 Jul 2007 20:10:27 +0000", "2007-07-24"),
        ("Tue,  24 July 2007 20:10:27 +0000", "2007-07-24"),  # long month name: the email.utils fallback
        ("yesterday", None),
        (None, None),
    ],
)
def test_rfc2822_day(stamp: str | None, expected: str | None) -> None:
    assert _rfc2822_day(stamp) == expected


def test_paperfeed_links_that_are_not_http_are_dropped() -> None:
    record = {"id": "x", "listing_days": {}, "source": "s", "title": "T"}
    [paper] = _parse({**record, "code_urls": ["javascript:alert(1)", "https://github.com/a/b"]})
    assert isinstance(paper, Paper) and paper.code_urls == ["https://github.com/a/b"]
    [paper] = _parse({**record, "project_urls": ["data:text/html,x", "vbscript:y", "/relative"]})
    assert isinstance(paper, Paper) and paper.project_urls == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"abstract": 3}, "abstract must be text"),
        ({"authors": ["A", 2]}, "authors must be a list of strings"),
        ({"listing_days": {"2026-01-01": 1}}, "listing_days must map days"),
        ({"listing_days": {"2026-01-01": "annonced"}}, "unknown listing kind 'annonced' (known: cross, derived,"),
        ({"sightings": {"s": 1}}, "each of the sightings must be an object"),
        ({"abstract": "a \u0000 b"}, "abstract holds a NUL character"),
        ({"abstract": "x" * 20_001}, "abstract longer than 20,000 characters"),
    ],
)
def test_paperfeed_records_of_the_wrong_shape_are_rejected(changes: dict[str, Any], reason: str) -> None:
    [item] = _parse({"id": "x", "listing_days": {}, "source": "s", "title": "T", **changes})
    assert isinstance(item, Rejection) and item.where == "t.jsonl:1" and reason in item.reason


def test_listings_records_over_a_limit_or_with_nul_are_rejected_naming_file_and_line() -> None:
    good = _lines(LISTINGS)
    nul = orjson.loads(good[1])
    nul["title"] = "A title \x00 with NUL"
    huge = orjson.loads(good[2])
    huge["summary"] = "word " * 10_000
    items = list(parse_jsonl([good[0], orjson.dumps(nul), orjson.dumps(huge), good[3]], "l.jsonl", "listings"))
    assert [type(i).__name__ for i in items] == ["Paper", "Rejection", "Rejection", "Paper"]
    assert items[1] == Rejection("l.jsonl:2", f"record {nul['id']}: title holds a NUL character")
    assert items[2] == Rejection("l.jsonl:3", f"record {huge['id']}: abstract longer than 20,000 characters")


def test_a_line_longer_than_the_maximum_is_rejected_unread() -> None:
    [item] = list(parse_jsonl([b"{" + b" " * MAX_LINE + b"}"], "l.jsonl", "listings"))
    assert item == Rejection("l.jsonl:1", "line longer than 32 MB")
