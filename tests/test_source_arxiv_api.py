"""arXiv API source: the Atom parser on real recorded responses (2026 and 2016 layouts) and the fetchers on
httpx.MockTransport serving those recordings, keyed by the request's query parameters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, Rejection
from paperfeed.sources import arxiv_api
from paperfeed.sources.arxiv_api import MIN_INTERVAL, lookup_ids, parse_api_feed, search_api
from paperfeed.sources.http import PoliteClient, polite_client
from support import FakeTime

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_api"
NEW = FIXTURES / "arxiv.py_2026" / "bodies"
OLD = FIXTURES / "arxiv.py_2016"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def body(name: str) -> bytes:
    path = NEW / name if (NEW / name).exists() else OLD / name
    if not path.exists():  # recorded 2026 bodies carry a hash suffix: match on the prefix
        (path,) = NEW.glob(f"{name}_*.xml")
    return path.read_bytes()


def recordings() -> dict[tuple[str, ...], tuple[int, bytes]]:
    """The 2026 recordings keyed like ``_key`` keys a request."""
    table: dict[tuple[str, ...], tuple[int, bytes]] = {}
    lines = (FIXTURES / "arxiv.py_2026" / "recordings.tsv").read_text().splitlines()[1:]
    for line in lines:
        name, status, url = line.split("\t")
        table[_key(httpx.URL(url))] = (int(status), (NEW / name).read_bytes())
    return table


def _key(url: httpx.URL) -> tuple[str, ...]:
    params = url.params
    if params.get("id_list"):
        # arxiv.py recorded every lookup with max_results=100; how many we ask for does not change the answer.
        return ("id_list", params["id_list"])
    return ("search", params.get("search_query", ""), params.get("start", ""), params.get("max_results", ""))


Handler = Callable[[httpx.Request], httpx.Response]


def serve(requests: list[httpx.Request], override: Handler | None = None) -> httpx.MockTransport:
    table = recordings()

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if override is not None:
            return override(request)
        status, content = table.get(_key(request.url), (404, b"not recorded"))
        return httpx.Response(status, content=content)

    return httpx.MockTransport(handler)


def client_for(transport: httpx.MockTransport, time: FakeTime) -> PoliteClient:
    return polite_client(
        min_interval=MIN_INTERVAL, transport=transport, sleep=time.sleep, clock=time.clock, wall_clock=time.clock
    )


# ---------------------------------------------------------------------------------------------------- parser

PAGES = [
    # file, entries, totalResults, startIndex, itemsPerPage
    ("id_1605.08386", 1, 1, 0, 100),
    ("id_0808.05394_1707.08567", 1, 1, 0, 100),  # the unknown id simply yields nothing
    ("id_0000.0000", 0, 0, 0, 100),
    ("q_testing_s0_m10", 10, 214881, 0, 10),
    ("q_testing_s10_m10", 10, 214881, 10, 10),
    ("q_testing_s0_m15", 15, 214881, 0, 15),
    ("id_list=1111.2011v2.xml", 1, 1, 0, 10),
    ("search_query=au_del_maestro.xml", 10, 31, 0, 10),
]


@pytest.mark.parametrize(("name", "count", "total", "start", "per_page"), PAGES)
def test_page_counters(name: str, count: int, total: int, start: int, per_page: int) -> None:
    page = parse_api_feed(body(name))
    assert (len(page.items), page.total, page.start, page.page_size) == (
        count,
        total,
        start,
        per_page,
    )
    for item in page.items:
        assert isinstance(item, Paper)
        assert item.source == "arxiv-api" and item.title and item.authors and item.categories
        assert item.version is not None and item.submitted and ISO_DATE.match(item.submitted)
        assert item.updated and ISO_DATE.match(item.updated)
        # The API does not say when a paper was announced: the first version's time gives the day by arXiv's
        # schedule, marked derived, on a weekday after the submission.
        ((day, kind),) = item.listing_days.items()
        assert kind == "derived" and day > item.submitted and date.fromisoformat(day).weekday() < 5
        assert "\n" not in item.title


FIRST_ENTRY: list[tuple[str, dict[str, Any]]] = [
    (
        "id_1605.08386",
        dict(
            id="1605.08386",
            version=1,
            title="Heat-bath random walks with Markov bases",
            authors=["Caprice Stanley", "Tobias Windisch"],
            categories=["math.CO", "math.ST"],
            submitted="2016-05-26",
            comments="20 pages, 3 figures",
            journal_ref=None,
            doi=None,
        ),
    ),
    (
        "id_astro-ph_0601001",  # old-style id; a URL in the comments becomes a project link
        dict(
            id="astro-ph/0601001",
            version=1,
            authors=["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"],
            categories=["astro-ph"],
            journal_ref="ActaAstron.56:1-50,2006",
            project_urls=["http://www.astronomy.ohio-state.edu/~gould/ogle_hot_jupiters.ps.gz"],
        ),
    ),
    ("id_quant-ph_0201082v1", dict(id="quant-ph/0201082", version=1, categories=["quant-ph", "cs.PL"])),
    ("id_2104.12255v1", dict(id="2104.12255", title="0", categories=["cs.CR"], comments=None)),
    (
        "id_1707.08567",
        dict(
            id="1707.08567",
            journal_ref=None,
            comments="44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck",
        ),
    ),
    (
        "q_testing_s0_m10",
        dict(
            id="2202.12139",
            categories=["cs.SE", "cs.LG"],
            doi="10.1109/ICSTW55395.2022.00035",
            journal_ref="Artificial Intelligence in Software Testing @ 2022 IEEE International Conference on "
            "Software Testing, Verification and Validation Workshops (ICSTW)",
        ),
    ),
    (
        "q_testing_s10_m10",  # revised paper: updated differs from submitted
        dict(
            id="2403.16981",
            version=2,
            submitted="2024-03-25",
            updated="2025-05-24",
            categories=["math.ST", "cs.IT", "stat.ML"],
        ),
    ),
    (
        "id_list=1111.2011v2.xml",  # legacy: namespaces declared per element, wrapped title, primary listed twice
        dict(
            id="1111.2011",
            version=2,
            title="Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit",
            authors=["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"],
            categories=["cond-mat.str-el", "cond-mat.stat-mech"],
            submitted="2011-11-08",
            updated="2012-04-02",
            doi="10.1103/PhysRevB.85.115117",
            journal_ref="Phys. Rev. B 85, 115117 (2012)",
            comments="8 pages, 3 figures. Published version",
        ),
    ),
    (
        "search_query=au_del_maestro+AND+ti_checkerboard.xml",
        dict(id="cond-mat/0603029", version=1, categories=["cond-mat.str-el", "cond-mat.supr-con"]),
    ),
]


@pytest.mark.parametrize(("name", "expected"), FIRST_ENTRY, ids=[n for n, _ in FIRST_ENTRY])
def test_first_entry(name: str, expected: dict[str, Any]) -> None:
    paper = parse_api_feed(body(name)).items[0]
    assert isinstance(paper, Paper)
    assert {key: getattr(paper, key) for key in expected} == expected


def test_authors_keep_order_and_utf8() -> None:
    (paper,) = parse_api_feed(body("id_1707.08567")).items
    assert isinstance(paper, Paper)
    assert len(paper.authors) == 34
    assert paper.authors[0] == "Kees A. Schouhamer Immink" and paper.authors[-1] == "Hirosuke Yamamoto"
    assert "Dirk Wübben" in paper.authors


def test_abstract_is_unwrapped() -> None:
    paper = parse_api_feed(body("id_list=1111.2011v2.xml")).items[0]
    assert isinstance(paper, Paper)
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")
    assert "\n" not in paper.abstract


def test_error_entry_raises_bad_input() -> None:
    with pytest.raises(BadInput) as caught:
        parse_api_feed(body("id_abc"), where="lookup")
    assert caught.value.reason == "incorrect id format for abc"
    assert caught.value.where == "lookup"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (body("id_1605.08386")[:900], "arxiv-api:14"),  # cut off mid-entry
        (b"<?xml version='1.0'?>\n<feed>\n<entry></feed>", "arxiv-api:3"),
        (b"", "arxiv-api:1"),
    ],
)
def test_malformed_xml_names_the_line(data: bytes, where: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_api_feed(data)
    assert caught.value.where == where


def test_not_a_feed() -> None:
    with pytest.raises(BadInput, match="not an Atom feed"):
        parse_api_feed(b"<html><body>Service unavailable</body></html>")


def test_bad_entries_become_rejections_and_parsing_continues() -> None:
    data = body("q_testing_s0_m10").decode()
    data = data.replace("<id>http://arxiv.org/abs/2202.12139v1</id>", "<id>http://example.org/nothing</id>", 1)
    page = parse_api_feed(data.encode(), where="page")
    assert page.items[0] == Rejection("page:entry[0]", "no arXiv id in <id> 'http://example.org/nothing'")
    assert all(isinstance(item, Paper) for item in page.items[1:])

    data = body("id_1605.08386").decode().replace("<title>Heat-bath random walks with Markov bases</title>", "<title/>")
    assert parse_api_feed(data.encode(), where="page").items == [Rejection("page:1605.08386", "entry has no title")]


# ---------------------------------------------------------------------------------------------------- fetchers


def test_lookup_ids() -> None:
    requests: list[httpx.Request] = []
    time = FakeTime()
    with client_for(serve(requests), time) as client:
        items = lookup_ids(client, ["0808.05394", "arXiv:1707.08567"])
    assert [item.id for item in items if isinstance(item, Paper)] == ["1707.08567"]
    assert requests[0].url.params["id_list"] == "0808.05394,1707.08567"
    assert str(requests[0].url).startswith("https://export.arxiv.org/api/query?")


def test_lookup_keeps_requested_version_and_old_style_ids() -> None:
    requests: list[httpx.Request] = []
    with client_for(serve(requests), FakeTime()) as client:
        items = lookup_ids(client, ["https://arxiv.org/abs/quant-ph/0201082v1"])
    assert requests[0].url.params["id_list"] == "quant-ph/0201082v1"
    assert [(p.id, p.version) for p in items if isinstance(p, Paper)] == [("quant-ph/0201082", 1)]


def test_lookup_chunks_requests_politely(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arxiv_api, "LOOKUP_CHUNK", 1)
    requests: list[httpx.Request] = []
    time = FakeTime()
    with client_for(serve(requests), time) as client:
        items = lookup_ids(client, ["1605.08386", "astro-ph/0601001", "1605.08386"])
    assert [item.id for item in items if isinstance(item, Paper)] == ["1605.08386", "astro-ph/0601001"]
    assert [r.url.params["id_list"] for r in requests] == ["1605.08386", "astro-ph/0601001"]
    assert time.waits == [3.0]


def test_lookup_of_unknown_id_yields_nothing() -> None:
    with client_for(serve([]), FakeTime()) as client:
        assert lookup_ids(client, ["0000.0000"]) == []
        assert lookup_ids(client, []) == []


def test_lookup_malformed_id_is_bad_input() -> None:
    with client_for(serve([]), FakeTime()) as client, pytest.raises(BadInput) as caught:
        lookup_ids(client, ["abc"])
    assert caught.value.reason == "incorrect id format for abc"
    assert caught.value.where == "arxiv-api id_list=abc"


def test_search_pages_until_max_results() -> None:
    requests: list[httpx.Request] = []
    time = FakeTime()
    with client_for(serve(requests), time) as client:
        batches = list(search_api(client, "testing", max_results=30, page_size=10))
    assert [(r.url.params["start"], r.url.params["max_results"]) for r in requests] == [
        ("0", "10"),
        ("10", "10"),
        ("20", "10"),
    ]
    assert [len(b.items) for b in batches] == [10, 10, 10]
    assert [b.meta["start"] for b in batches] == [0, 10, 20]
    assert batches[0].meta["total_results"] == 214881
    ids = [item.id for b in batches for item in b.items if isinstance(item, Paper)]
    assert len(ids) == 30 and ids[0] == "2202.12139" and ids[10] == "2403.16981"
    assert time.waits == [3.0, 3.0]  # arXiv's one request every 3 seconds


def test_search_single_page() -> None:
    requests: list[httpx.Request] = []
    with client_for(serve(requests), FakeTime()) as client:
        batches = list(search_api(client, "testing", max_results=15, page_size=15))
    assert len(requests) == 1 and [len(b.items) for b in batches] == [15]


def test_search_stops_at_total_results() -> None:
    page = body("q_testing_s0_m10").replace(b"<opensearch:totalResults>214881<", b"<opensearch:totalResults>10<")
    requests: list[httpx.Request] = []
    with client_for(serve(requests, lambda r: httpx.Response(200, content=page)), FakeTime()) as client:
        batches = list(search_api(client, "testing", max_results=100, page_size=10))
    assert len(requests) == 1 and len(batches) == 1


def test_search_stops_at_an_empty_page_before_total() -> None:
    empty = re.sub(rb"<entry>.*</entry>", b"", body("q_testing_s10_m10"), flags=re.DOTALL)

    def override(request: httpx.Request) -> httpx.Response:
        start = request.url.params["start"]
        return httpx.Response(200, content=body("q_testing_s0_m10") if start == "0" else empty)

    requests: list[httpx.Request] = []
    with client_for(serve(requests, override), FakeTime()) as client:
        batches = list(search_api(client, "testing", max_results=50, page_size=10))
    assert len(requests) == 2 and [len(b.items) for b in batches] == [10]


def test_search_waits_out_retry_after() -> None:
    answers = [httpx.Response(503, headers={"Retry-After": "20"}), httpx.Response(200, content=body("id_0000.0000"))]
    time = FakeTime()
    with client_for(serve([], lambda r: answers.pop(0)), time) as client:
        assert list(search_api(client, "nothing")) == []
    assert time.waits == [20.0]


def test_search_rejects_an_empty_query() -> None:
    with client_for(serve([]), FakeTime()) as client, pytest.raises(BadInput):
        list(search_api(client, "  "))
