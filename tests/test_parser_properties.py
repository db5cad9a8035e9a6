"""Property-based tests (hypothesis) for every parser of outside input: the source parsers (OAI-PMH, the arXiv API,
the listing feeds, Hugging Face daily papers JSON, JSON Lines: Kaggle, listings, paperfeed exports, seed pages) and
the search query syntax. Whatever the bytes, a parser returns its papers and rejections or raises the project's own
BadInput (an OAI-PMH ``<error>`` page is the repository's answer: OaiError); never anything else.

Random bytes alone rarely get past the first check, so most cases start from the real recordings in
``tests/fixtures/`` and damage them: cut them short, splice bytes in, swap the text of fields for hostile text
(NUL, lone surrogates as escapes, huge numbers, markup), or put values of the wrong JSON type in a record's fields.
"""

from __future__ import annotations

import gzip
import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, Rejection
from paperfeed.search.query import Query, parse_query
from paperfeed.sources import ParsedPage
from paperfeed.sources.arxiv_api import parse_api_feed
from paperfeed.sources.arxiv_rss import parse_listing_feed
from paperfeed.sources.hf_daily import parse_daily_papers
from paperfeed.sources.jsonl import JSONL_FORMATS, parse_jsonl
from paperfeed.sources.oai import OaiError, parse_oai_page
from paperfeed.sources.seeds import parse_seed_page

FIXTURES = Path(__file__).parent / "fixtures"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


OAI = [
    _read("oai/mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml"),
    _read("files/arxiv_oai_ListRecords_arXiv_0801.3931.xml"),
]
API = [_read("files/arxiv_api_2016_id_list_1111.2011v2.xml"), _read("files/arxiv_api_atom_2026_trimmed.xml")]
FEEDS = [
    _read("arxiv_rss/arxiv_rss_atom_cs.AI_2026_trimmed.xml"),
    _read("arxiv_rss/arxiv_rss_rss2_cs.AI_constructed.xml"),
]
HF = [_read("hf_daily/daily_papers_2024-10-25_excerpt_first2.json"), _read("hf_daily/hf_daily_papers_item.json")]
JSONL = {
    "kaggle": gzip.decompress(_read("files/arxiv-metadata-oai-snapshot.head200.jsonl.gz")).splitlines()[:20],
    "listings": gzip.decompress(_read("files/arxiv_daily_listings.head50.jsonl.gz")).splitlines()[:20],
}

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "\ud800",
            "<![CDATA[",
            "]]>",
            "&#0;",
            "&#xD800;",
            "&bogus;",
            "<script>alert(1)</script>",
            "9" * 400,
            "-1",
            "1e309",
            "javascript:alert(1)",
            "2026-02-30",
            "9999-99-99T99:99:99Z",
            "\u202e",
            "",
        ]
    ),
)


def _accepts(parse: Callable[[bytes], ParsedPage], data: bytes, *allowed: type[Exception]) -> None:
    try:
        page = parse(data)
    except (BadInput, *allowed):
        return
    assert isinstance(page, ParsedPage)
    for item in page.items:
        assert isinstance(item, Paper | Rejection)


@st.composite
def damaged(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real recording, cut short, with bytes spliced in, or with a run of its text replaced."""
    data = draw(st.sampled_from(originals))
    how = draw(st.sampled_from(["cut", "splice", "replace"]))
    at = draw(st.integers(0, len(data)))
    if how == "cut":
        return data[:at]
    insert = draw(st.one_of(st.binary(max_size=30), HOSTILE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))
    if how == "splice":
        return data[:at] + insert + data[at:]
    return data[:at] + insert + data[at + draw(st.integers(0, 200)) :]


@st.composite
def rewritten_xml(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real recording with the text between some tags swapped for hostile text (escaped, so the XML stays well
    formed and the parser's field handling is what gets tested)."""
    text = draw(st.sampled_from(originals)).decode()
    pieces = text.split(">")
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(pieces) - 1))
        head, lt, _rest = pieces[i].partition("<")
        if lt:
            value = draw(HOSTILE_TEXT).replace("&", "&amp;").replace("<", "&lt;")
            pieces[i] = value + lt + _rest if draw(st.booleans()) else head + lt + _rest
    return ">".join(pieces).encode("utf-8", "surrogatepass")


@PROPERTY
@given(st.one_of(st.binary(max_size=300), damaged(OAI), rewritten_xml(OAI)))
def test_oai_pages(data: bytes) -> None:
    _accepts(parse_oai_page, data, OaiError)


@PROPERTY
@given(st.one_of(st.binary(max_size=300), damaged(API), rewritten_xml(API)))
def test_arxiv_api_feeds(data: bytes) -> None:
    _accepts(parse_api_feed, data)


@PROPERTY
@given(st.one_of(st.binary(max_size=300), damaged(FEEDS), rewritten_xml(FEEDS)))
def test_listing_feeds(data: bytes) -> None:
    _accepts(parse_listing_feed, data)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | HOSTILE_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def _with_values_replaced(document: Any, draw: st.DrawFn) -> Any:
    """The document with some values (at any depth) replaced by values of any JSON type."""
    if isinstance(document, dict):
        return {
            k: draw(JSON_VALUES) if draw(st.integers(0, 4)) == 0 else _with_values_replaced(v, draw)
            for k, v in document.items()
        }
    if isinstance(document, list):
        return [_with_values_replaced(v, draw) for v in document]
    return draw(JSON_VALUES) if draw(st.integers(0, 3)) == 0 else document


@st.composite
def rewritten_json(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    document = json.loads(draw(st.sampled_from(originals)))
    return json.dumps(_with_values_replaced(document, draw)).encode()


@PROPERTY
@given(
    st.one_of(
        st.binary(max_size=300), damaged(HF), rewritten_json(HF), JSON_VALUES.map(lambda v: json.dumps(v).encode())
    )
)
def test_hf_daily_papers(data: bytes) -> None:
    _accepts(parse_daily_papers, data)


@st.composite
def jsonl_lines(draw: st.DrawFn, fmt: str) -> list[bytes]:
    lines = draw(st.lists(st.sampled_from(JSONL[fmt]), min_size=1, max_size=4))
    out = []
    for line in lines:
        kind = draw(st.sampled_from(["values", "damaged", "as is"]))
        if kind == "values":
            line = json.dumps(_with_values_replaced(json.loads(line), draw)).encode()
        elif kind == "damaged":
            line = draw(damaged([line]))
        out.append(line)
    return out


@PROPERTY
@given(st.sampled_from(sorted(JSONL)).flatmap(lambda fmt: st.tuples(st.just(fmt), jsonl_lines(fmt))))
def test_json_lines_kaggle_and_listings(case: tuple[str, list[bytes]]) -> None:
    fmt, lines = case
    for given_fmt in (fmt, None):  # told the format, and detecting it from the first record
        try:
            items = list(parse_jsonl(lines, "input.jsonl", given_fmt))
        except BadInput:
            continue
        assert all(isinstance(item, Paper | Rejection) for item in items)


@PROPERTY
@given(st.sampled_from(JSONL_FORMATS), st.lists(JSON_VALUES.map(lambda v: json.dumps(v).encode()), max_size=4))
def test_json_lines_of_any_json(fmt: str, lines: list[bytes]) -> None:
    try:
        items = list(parse_jsonl(lines, "input.jsonl", fmt))
    except BadInput:
        return
    assert all(isinstance(item, Paper | Rejection) for item in items)


SEED_TEXT = st.text(alphabet=string.printable + "·—“”é\x00", max_size=400)


@PROPERTY
@given(st.one_of(st.binary(max_size=300), SEED_TEXT.map(str.encode)))
def test_seed_pages(data: bytes) -> None:
    _accepts(lambda d: parse_seed_page(d, "seed.txt"), data)


QUERY_PIECES = st.sampled_from(
    ['"', "-", ":", "author:", "cat:", "title:", "year:", "after:", "before:", "..", "2024", "cs.LG", "“", "”", " "]
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(max_size=200), st.lists(st.one_of(QUERY_PIECES, st.text(max_size=8)), max_size=30).map("".join))
)
def test_query_syntax_never_raises(text: str) -> None:
    query = parse_query(text)
    assert isinstance(query, Query) and query.raw == text


@pytest.mark.parametrize("data", [b"", b"\x00", b"<", b"{", b"[]", b"\xff\xfe<\x00"])
def test_the_smallest_inputs(data: bytes) -> None:
    for parse, allowed in (
        (parse_oai_page, (OaiError,)),
        (parse_api_feed, ()),
        (parse_listing_feed, ()),
        (parse_daily_papers, ()),
    ):
        _accepts(parse, data, *allowed)
