"""Reading files: format detection, gzip by magic bytes, batching, and the dispatch to the page parsers."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import paperfeed
from paperfeed.errors import BadInput, NotFound, SourceError
from paperfeed.papers import Paper, ParsedItem, Rejection
from paperfeed.sources import ParsedPage, registry
from paperfeed.sources.files import detect_format, read_file
from paperfeed.sources.jsonl import JSONL_FORMATS
from paperfeed.sources.registry import FORMATS, SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "files"
SEEDS_DIR = Path(paperfeed.__file__).parent / "demo" / "seeds"
KAGGLE_GZ = FIXTURES / "arxiv-metadata-oai-snapshot.head200.jsonl.gz"
LISTINGS_GZ = FIXTURES / "arxiv_daily_listings.head50.jsonl.gz"


def _items(path: Path, fmt: str | None = None, batch_size: int = 1000) -> list[ParsedItem]:
    return [item for batch in read_file(path, fmt, batch_size) for item in batch.items]


def _plain(tmp_path: Path, gz: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes(gzip.decompress(gz.read_bytes()))
    return target


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (KAGGLE_GZ, "kaggle"),
        (LISTINGS_GZ, "listings"),
        (SEEDS_DIR / "000_486a168e9da9813e.txt", "seeds"),
        (SEEDS_DIR / "003_f9f2776c37a74193.txt", "seeds"),  # the page with the extra "Daily Papers" header line
        (FIXTURES / "arxiv_api_atom_2026_trimmed.xml", "arxiv-api"),
        (FIXTURES / "arxiv_api_2016_id_list_1111.2011v2.xml", "arxiv-api"),  # legacy feed: no opensearch up front
        (FIXTURES / "arxiv_rss_atom_cs.AI_2026_trimmed.xml", "arxiv-rss"),
        (FIXTURES / "arxiv_oai_ListRecords_arXiv_0801.3931.xml", "arxiv-oai"),
        (FIXTURES / "daily_papers_2024-10-25_excerpt_first2.json", "hf-daily"),
    ],
)
def test_detect_format_on_real_files(path: Path, expected: str) -> None:
    assert detect_format(path) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'\xef\xbb\xbf\n{"id": "0704.0001", "title": "t", "versions": []}\n', "kaggle"),
        (b'{"id": "0704.0001", "title": "t", "versions": [', "kaggle"),  # a first line cut off by the sniff
        (b'{"id": "0704.0001", "title": "t", "vers\n{"id": "0704.0002", "title": "t", "versions": []}\n', "kaggle"),
        (b'{\n  "paper": {\n    "id": "2602.23229"', "hf-daily"),  # one pretty-printed daily_papers item
        (b'{"paper": {"id": "2602.23229"}, "title": "t"}\n', "hf-daily"),
        (b'[\n  {"id": "2409.07146", "title": "Gated Slot Attention"}', None),  # HF search results: not supported
        (b'{"id": "2503.00001", "title": "t"}\n', None),
        (b"<?xml version='1.0'?>\n<!-- <feed> -->\n<oai:OAI-PMH xmlns:oai='x'>", "arxiv-oai"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel>', "arxiv-rss"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "arxiv-rss"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Someone else\'s blog</title>', None),
        (b"<html><body><h1>Retry after 10 seconds</h1></body></html>", None),
        (b"New\n\nSubscribe\n", "seeds"),
        (b"listing_date\tposition\tarxiv_id\n", None),
        (b"", None),
    ],
)
def test_sniff_format(head: bytes, expected: str | None) -> None:
    assert registry.sniff(head) == expected


def test_gzip_is_recognised_by_magic_not_name(tmp_path: Path) -> None:
    renamed = tmp_path / "listings.jsonl"  # gzip content, no .gz suffix
    shutil.copy(LISTINGS_GZ, renamed)
    plain = _plain(tmp_path, KAGGLE_GZ, "kaggle.jsonl.gz")  # plain content, misleading suffix
    assert detect_format(renamed) == "listings"
    assert detect_format(plain) == "kaggle"
    assert len(_items(renamed)) == 50
    assert len(_items(plain)) == 200


def test_read_file_batches_and_meta() -> None:
    batches = list(read_file(KAGGLE_GZ, batch_size=64))
    assert [len(b.items) for b in batches] == [64, 64, 64, 8]
    assert all(b.meta == {"path": str(KAGGLE_GZ), "format": "kaggle"} and b.checkpoint is None for b in batches)
    assert all(b.checked for b in batches)  # its parser checked every record: the store need not again
    items = [i for b in batches for i in b.items]
    assert isinstance(items[0], Paper) and items[0].id == "0704.0001" and items[0].source == "kaggle"


def test_read_file_listings_and_seeds() -> None:
    listings = _items(LISTINGS_GZ)
    assert len(listings) == 50 and all(isinstance(p, Paper) and p.source == "listings" for p in listings)
    seeds = _items(SEEDS_DIR / "002_ffcb257b28d417c8.txt", "seeds")
    assert len(seeds) == 89 and all(isinstance(p, Paper) and p.source == "seeds" for p in seeds)


def test_all_seed_pages_through_read_file_give_368_ids() -> None:
    ids = {i.id for path in SEEDS_DIR.glob("*.txt") for i in _items(path) if isinstance(i, Paper)}
    assert len(ids) == 368


def test_broken_lines_are_rejections_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    good = gzip.decompress(KAGGLE_GZ.read_bytes()).splitlines(keepends=True)[:3]
    path.write_bytes(good[0] + b'{"id": "0704.9999", "versions": []}\n' + b"{not json\n" + b"\n" + good[1])
    items = _items(path)
    assert [type(i).__name__ for i in items] == ["Paper", "Rejection", "Rejection", "Paper"]
    assert isinstance(items[1], Rejection) and items[1].where == f"{path}:2" and "without title" in items[1].reason
    assert isinstance(items[2], Rejection) and items[2].where == f"{path}:3" and "broken JSON" in items[2].reason


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [
        (KAGGLE_GZ, "listings", "given as listings, but the content looks like kaggle"),
        (LISTINGS_GZ, "arxiv-oai", "given as arxiv-oai, but the content looks like listings"),
        (SEEDS_DIR / "000_486a168e9da9813e.txt", "kaggle", "given as kaggle, but the content looks like seeds"),
        (FIXTURES / "arxiv_api_atom_2026_trimmed.xml", "arxiv-rss", "looks like arxiv-api"),
        (KAGGLE_GZ, "csv", "unknown format 'csv'"),
    ],
)
def test_explicit_format_must_match_content(path: Path, fmt: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as err:
        read_file(path, fmt)  # raises at the call, not at the first batch
    assert err.value.where == str(path)


def test_explicit_format_for_undetected_content(tmp_path: Path) -> None:
    # A Kaggle extract without the fields detection looks for: taken on the user's word...
    extract = tmp_path / "extract.jsonl"
    extract.write_bytes(b'{"id": "0704.0001", "title": "T", "abstract": "A"}\n')
    with pytest.raises(BadInput, match="unrecognised file format"):
        read_file(extract)
    [paper] = _items(extract, "kaggle")
    assert isinstance(paper, Paper) and paper.source == "kaggle"
    # ...but JSON Lines must at least look like JSON.
    text = tmp_path / "notes.txt"
    text.write_bytes(b"just some notes\n")
    with pytest.raises(BadInput, match="not JSON Lines"):
        read_file(text, "kaggle")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "unrecognised file format"),
        (b"listing_date\tposition\tarxiv_id\n2025-03-18\t1\t2503.11677\n", "unrecognised file format"),
        (b"<html><body>Retry after 10 seconds</body></html>", "unrecognised file format"),
        (gzip.compress(b"hello"), "unrecognised file format"),
    ],
)
def test_unknown_content_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(content)
    for call in (detect_format, read_file):
        with pytest.raises(BadInput, match=message) as err:
            call(path)
        assert err.value.where == str(path) and str(path) in str(err.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_file(tmp_path / "nope.jsonl")
    with pytest.raises(BadInput, match="cannot read"):
        detect_format(tmp_path)


def test_truncated_gzip_reports_the_line_it_reached(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    data = LISTINGS_GZ.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    batches = read_file(path, batch_size=5)
    with pytest.raises(BadInput, match="corrupt gzip data after line") as err:
        list(batches)
    assert err.value.where is not None and err.value.where.startswith(f"{path}:")


def test_malformed_seed_page_raises_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_bytes(b"New\n\nSubscribe\n\nThis is no date\n")
    with pytest.raises(BadInput, match="not a Daily Papers page") as err:
        read_file(path)
    assert err.value.where == f"{path}:5"


def _fake_parser(monkeypatch: pytest.MonkeyPatch, fmt: str, impl: Any) -> None:
    monkeypatch.setitem(SOURCES, fmt, dataclasses.replace(SOURCES[fmt], parse=impl))


def test_dispatch_unwraps_pages_and_passes_the_file_name(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, str]] = []

    def parse_oai_page(data: bytes, where: str) -> Any:
        seen.append((data, where))
        return ParsedPage([Paper(id="0801.3931", title="T", source="arxiv-oai")], resumption_token="t")

    _fake_parser(monkeypatch, "arxiv-oai", parse_oai_page)
    path = FIXTURES / "arxiv_oai_ListRecords_arXiv_0801.3931.xml"
    [batch] = list(read_file(path))
    assert [p.id for p in batch.items if isinstance(p, Paper)] == ["0801.3931"]
    assert batch.meta["format"] == "arxiv-oai"
    assert seen == [(path.read_bytes(), str(path))]


@pytest.mark.parametrize(
    ("error", "where_suffix"),
    [
        (ET.ParseError("mismatched tag: line 7, column 2"), ":7"),
        (ValueError("no JSON here"), ""),
    ],
)
def test_dispatch_turns_stray_parse_errors_into_bad_input(
    monkeypatch: pytest.MonkeyPatch, error: Exception, where_suffix: str
) -> None:
    if isinstance(error, ET.ParseError):
        error.position = (7, 2)

    def parse_listing_feed(data: bytes, where: str) -> ParsedPage:
        raise error

    _fake_parser(monkeypatch, "arxiv-rss", parse_listing_feed)
    path = FIXTURES / "arxiv_rss_atom_cs.AI_2026_trimmed.xml"
    with pytest.raises(BadInput, match="malformed content") as err:
        read_file(path)
    assert err.value.where == f"{path}{where_suffix}"


def test_dispatch_turns_a_saved_error_response_into_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse_oai_page(data: bytes, where: str) -> Any:
        raise SourceError("OAI-PMH error badVerb: Bad verb.")

    _fake_parser(monkeypatch, "arxiv-oai", parse_oai_page)
    path = FIXTURES / "arxiv_oai_ListRecords_arXiv_0801.3931.xml"
    with pytest.raises(BadInput, match="error response: OAI-PMH error badVerb") as err:
        read_file(path)
    assert err.value.where == str(path)


@pytest.mark.parametrize(
    ("name", "fmt", "module"),
    [
        ("arxiv_oai_ListRecords_arXiv_0801.3931.xml", "arxiv-oai", "oai"),
        ("arxiv_api_atom_2026_trimmed.xml", "arxiv-api", "arxiv_api"),
        ("arxiv_api_2016_id_list_1111.2011v2.xml", "arxiv-api", "arxiv_api"),
        ("arxiv_rss_atom_cs.AI_2026_trimmed.xml", "arxiv-rss", "arxiv_rss"),
        ("daily_papers_2024-10-25_excerpt_first2.json", "hf-daily", "hf_daily"),
    ],
)
def test_dispatch_to_the_real_parsers(name: str, fmt: str, module: str) -> None:
    assert SOURCES[fmt].parse is not None and SOURCES[fmt].parse.__module__ == f"paperfeed.sources.{module}"
    items = _items(FIXTURES / name)
    papers = [p for p in items if isinstance(p, Paper)]
    assert papers and all(isinstance(i, Paper | Rejection) for i in items)
    assert all(p.source == fmt for p in papers)


def test_every_format_has_a_parser() -> None:
    streamed = [name for name in FORMATS if SOURCES[name].read_lines]
    paged = [name for name in FORMATS if SOURCES[name].parse]
    assert sorted(streamed) == sorted(JSONL_FORMATS) and not set(streamed) & set(paged)
    assert sorted(FORMATS) == sorted([*streamed, *paged]) and all(SOURCES[name].sniff for name in FORMATS)


def test_paperfeed_export_file_round_trips(tmp_path: Path) -> None:
    from paperfeed.sources.jsonl import export_record

    papers = [p for p in _items(LISTINGS_GZ) if isinstance(p, Paper)]
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(export_record(p) for p in papers) + b"\n"))
    assert detect_format(path) == "paperfeed"
    assert _items(path) == papers
