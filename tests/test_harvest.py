"""harvest_oai over httpx.MockTransport serving recorded arXiv OAI-PMH responses, with a fake clock.

Multi-page lists are built from real ListRecords pages with only the resumption token changed (the recorded pages
are single pages of longer lists, trimmed by their authors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperfeed.errors import BadInput, SourceError
from paperfeed.papers import Paper
from paperfeed.sources import Batch
from paperfeed.sources.harvest import harvest_oai, oai_state_key
from paperfeed.sources.http import PoliteClient
from paperfeed.sources.oai import OaiError
from support import FakeTime

FIX = Path(__file__).parent / "fixtures" / "oai"
URL = "https://oaipmh.arxiv.org/oai"
MIKE = FIX / "mikesaelim_arXivOAIHarvester"
BAD_TOKEN = (MIKE / "ErrorResponseBadResumptionToken.xml").read_bytes()


Route = Callable[[dict[str, str]], httpx.Response]


class Server:
    """A MockTransport handler that logs each request's query and time and answers through ``route``."""

    def __init__(self, time: FakeTime, route: Route) -> None:
        self.time = time
        self.route = route
        self.requests: list[dict[str, str]] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.requests.append(params)
        self.times.append(self.time.now)
        return self.route(params)

    def client(self) -> PoliteClient:
        return PoliteClient(
            min_interval=3.0,
            transport=httpx.MockTransport(self),
            sleep=self.time.sleep,
            clock=self.time.clock,
            wall_clock=self.time.clock,
        )


def with_token(body: bytes, token: str, cursor: int, size: int) -> bytes:
    """The same page with its resumptionToken replaced (or added before ``</ListRecords>``)."""
    element = f'<resumptionToken cursor="{cursor}" completeListSize="{size}">{token}</resumptionToken>'.encode()
    if b"<resumptionToken" in body:
        return re.sub(rb"<resumptionToken[^>]*(?:/>|>[^<]*</resumptionToken>)", element, body)
    return body.replace(b"</ListRecords>", element + b"\n</ListRecords>")


def xml(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": "text/xml"}, content=body)


# Three pages of one arXiv-format list (distinct ids per page): hep-th page → hep-ex page → astro-ph page (last).
ARXIV_PAGES = [
    with_token((FIX / "inspirehep_hepcrawl/functional/arxiv-physics-hep-th.xml").read_bytes(), "7|3", 0, 7),
    with_token((FIX / "inspirehep_hepcrawl/functional/arxiv-physics-hep-ex.xml").read_bytes(), "7|6", 3, 7),
    with_token((FIX / "more/arxiv_oai_ListRecords_arXiv_0801.3931.xml").read_bytes(), "", 6, 7),
]
ARXIV_IDS = [
    ["1412.8323", "1507.07790", "1607.01710"],
    ["1706.05371", "1706.09418", "1707.00874"],
    ["0801.3931"],
]
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "physics", "from": "2017-12-14"}


def arxiv_route(stale: frozenset[str] = frozenset(), stale_status: int = 200) -> Route:
    tokens = {"7|3": ARXIV_PAGES[1], "7|6": ARXIV_PAGES[2]}

    def route(params: dict[str, str]) -> httpx.Response:
        if "resumptionToken" in params:
            assert set(params) == {"verb", "resumptionToken"}  # OAI: nothing but verb + token
            token = params["resumptionToken"]
            return xml(BAD_TOKEN, stale_status) if token in stale else xml(tokens[token])
        assert params == FIRST
        return xml(ARXIV_PAGES[0])

    return route


def harvest(server: Server, state: dict[str, Any] | None = None) -> Generator[Batch, None, None]:
    run = harvest_oai(
        server.client(), base_url=URL, set_spec="physics", from_date="2017-12-14", metadata_prefix="arXiv", state=state
    )
    assert isinstance(run, Generator)  # so that a test can abandon it like a killed process would
    return run


def ids(batch: Batch) -> list[str]:
    return [p.id for p in batch.items if isinstance(p, Paper)]


KEY = oai_state_key(URL, "arXiv", "physics", "2017-12-14", None)


def test_state_key() -> None:
    assert KEY == "oai:https://oaipmh.arxiv.org/oai:arXiv:physics:2017-12-14:None"


def test_multi_page_harvest() -> None:
    server = Server(FakeTime(1_000_000.0), arxiv_route())
    batches = list(harvest(server))
    assert [ids(b) for b in batches] == ARXIV_IDS
    assert [b.checkpoint for b in batches] == [
        (KEY, {"resumption_token": "7|3", "pages": 1}),
        (KEY, {"resumption_token": "7|6", "pages": 2}),
        (KEY, None),
    ]
    assert [b.meta["page"] for b in batches] == [1, 2, 3]
    assert [b.meta["complete_list_size"] for b in batches] == [7, 7, 7]
    assert all(b.meta["deleted"] == [] and not b.meta["restarted"] for b in batches)
    assert server.requests == [
        FIRST,
        {"verb": "ListRecords", "resumptionToken": "7|3"},
        {"verb": "ListRecords", "resumptionToken": "7|6"},
    ]


def test_multi_page_arxiv_raw_default_prefix() -> None:
    real = (MIKE / "ListRecordsResponse.xml").read_bytes()  # page 1 as recorded, token 726959|1001
    pages = {"726959|1001": with_token(real, "726959|2002", 1001, 58011), "726959|2002": with_token(real, "", 2002, 0)}

    def route(params: dict[str, str]) -> httpx.Response:
        if "resumptionToken" in params:
            return xml(pages[params["resumptionToken"]])
        assert params == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "2014-10-01"}
        return xml(real)

    server = Server(FakeTime(1_000_000.0), route)
    batches = list(harvest_oai(server.client(), set_spec=None, from_date="2014-10-01", base_url=URL))
    assert [len(b.items) for b in batches] == [6, 6, 6]
    assert batches[0].checkpoint == (
        oai_state_key(URL, "arXivRaw", None, "2014-10-01", None),
        {"resumption_token": "726959|1001", "pages": 1},
    )
    assert batches[-1].checkpoint is not None and batches[-1].checkpoint[1] is None
    assert [b.meta["cursor"] for b in batches] == [0, 1001, 2002]
    first = batches[0].items[1]
    assert isinstance(first, Paper) and (first.id, first.version, first.source) == ("0704.0716", 4, "arxiv-oai")


@pytest.mark.parametrize(("work", "sleeps"), [(0.0, [3.0, 3.0]), (1.0, [2.0, 2.0]), (5.0, [])])
def test_page_requests_are_spaced_by_three_seconds(work: float, sleeps: list[float]) -> None:
    time = FakeTime(1_000_000.0)
    server = Server(time, arxiv_route())
    for _batch in harvest(server):
        time.now += work  # the caller ingesting the page
    assert len(server.times) == 3
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert all(gap >= 3.0 for gap in gaps), gaps
    assert time.waits == sleeps


def test_crash_after_first_page_then_resume_fetches_only_the_rest() -> None:
    store: dict[str, dict[str, Any]] = {}

    def save(batch: Batch) -> None:
        assert batch.checkpoint is not None
        key, value = batch.checkpoint
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value

    crashed = Server(FakeTime(1_000_000.0), arxiv_route())
    run = harvest(crashed)
    first = next(run)
    save(first)
    run.close()  # killed after page 1 was written
    assert ids(first) == ARXIV_IDS[0]
    assert crashed.requests == [FIRST]  # nothing fetched ahead of the consumer
    assert store == {KEY: {"resumption_token": "7|3", "pages": 1}}

    resumed = Server(FakeTime(1_000_000.0), arxiv_route())
    batches = []
    for batch in harvest(resumed, state=store.get(KEY)):
        save(batch)
        batches.append(batch)
    assert resumed.requests == [
        {"verb": "ListRecords", "resumptionToken": "7|3"},
        {"verb": "ListRecords", "resumptionToken": "7|6"},
    ]
    assert [ids(b) for b in batches] == ARXIV_IDS[1:]
    assert [b.meta["page"] for b in batches] == [2, 3]
    assert store == {}  # the completed list cleared its checkpoint


@pytest.mark.parametrize("status", [200, 400])
def test_expired_token_restarts_from_the_beginning(status: int) -> None:
    server = Server(FakeTime(1_000_000.0), arxiv_route(stale=frozenset({"old|1000"}), stale_status=status))
    batches = list(harvest(server, state={"resumption_token": "old|1000", "pages": 4}))
    assert server.requests[:2] == [{"verb": "ListRecords", "resumptionToken": "old|1000"}, FIRST]
    assert len(server.requests) == 4
    assert [ids(b) for b in batches] == ARXIV_IDS
    assert [b.meta["page"] for b in batches] == [1, 2, 3]
    assert all(b.meta["restarted"] for b in batches)
    assert batches[-1].checkpoint == (KEY, None)


def test_token_expiring_again_after_a_restart_is_an_error() -> None:
    server = Server(FakeTime(1_000_000.0), arxiv_route(stale=frozenset({"old|1000", "7|3"})))
    run = harvest(server, state={"resumption_token": "old|1000", "pages": 1})
    assert ids(next(run)) == ARXIV_IDS[0]
    with pytest.raises(OaiError) as info:
        next(run)
    assert info.value.code == "badResumptionToken"


def test_503_retry_after_recorded_exchange() -> None:
    """The paperhive nock recording: export.arxiv.org answered 503 "Retry after 10 seconds", then the page."""
    recording = json.loads(
        (FIX / "paperhive_oai-pmh/oaipmh-listrecords---should-list-identifiers-from-arxiv.json").read_text()
    )
    assert [r["status"] for r in recording] == [503, 200]
    replies = iter(recording)
    time = FakeTime(1_000_000.0)

    def route(params: dict[str, str]) -> httpx.Response:
        reply = next(replies)
        recorded = httpx.URL(reply["scope"] + reply["path"])
        assert params == dict(recorded.params)
        raw = reply["rawHeaders"]
        headers = list(zip(raw[::2], raw[1::2], strict=True))
        return httpx.Response(reply["status"], headers=headers, content=reply["response"].encode())

    server = Server(time, route)
    batches = list(
        harvest_oai(
            server.client(),
            base_url="http://export.arxiv.org/oai2",
            metadata_prefix="arXiv",
            set_spec=None,
            from_date="2015-01-01",
            until="2015-01-03",
        )
    )
    assert time.waits == [10.0]
    assert server.times[1] - server.times[0] == 10.0
    assert len(server.requests) == 2
    (batch,) = batches
    assert ids(batch) == ["1412.8544", "hep-th/9504118"]
    assert batch.checkpoint == (
        oai_state_key("http://export.arxiv.org/oai2", "arXiv", None, "2015-01-01", "2015-01-03"),
        None,
    )


def test_no_records_match_is_one_empty_batch() -> None:
    server = Server(FakeTime(1_000_000.0), lambda params: xml((MIKE / "ErrorResponseNoRecordsMatch.xml").read_bytes()))
    (batch,) = list(harvest(server))
    assert batch.items == [] and batch.checkpoint == (KEY, None) and batch.meta["page"] == 1


def test_other_oai_errors_propagate() -> None:
    server = Server(FakeTime(1_000_000.0), lambda params: xml((MIKE / "ErrorResponseBadArgument.xml").read_bytes()))
    with pytest.raises(OaiError) as info:
        list(harvest(server))
    assert info.value.code == "badArgument"


def test_http_error_without_oai_body_is_a_source_error() -> None:
    server = Server(
        FakeTime(1_000_000.0), lambda params: httpx.Response(400, text="<html><body>Bad Request</body></html>")
    )
    with pytest.raises(SourceError, match="HTTP 400"):
        list(harvest(server))


def test_malformed_page_names_the_page() -> None:
    def route(params: dict[str, str]) -> httpx.Response:
        if "resumptionToken" in params:
            return xml(ARXIV_PAGES[1][:500])
        return xml(ARXIV_PAGES[0])

    run = harvest(Server(FakeTime(1_000_000.0), route))
    next(run)
    with pytest.raises(BadInput) as info:
        next(run)
    assert info.value.where is not None and info.value.where.startswith(f"{URL}#page2:")


def test_repeated_token_is_refused() -> None:
    def route(params: dict[str, str]) -> httpx.Response:
        return xml(ARXIV_PAGES[0])  # always answers with token 7|3, also to 7|3

    run = harvest(Server(FakeTime(1_000_000.0), route))
    next(run)
    with pytest.raises(SourceError, match="loops"):
        next(run)


@pytest.mark.parametrize(("name", "value"), [("from_date", "2017/12/14"), ("until", "20171214")])
def test_dates_must_be_iso_days(name: str, value: str) -> None:
    args: dict[str, Any] = {"from_date": "2017-12-14", "until": None, name: value}
    server = Server(FakeTime(1_000_000.0), arxiv_route())
    with pytest.raises(BadInput) as info:
        next(harvest_oai(server.client(), base_url=URL, set_spec=None, **args))
    assert info.value.where == name
    assert server.requests == []


def test_unsupported_metadata_prefix_is_refused() -> None:
    server = Server(FakeTime(1_000_000.0), arxiv_route())
    with pytest.raises(BadInput) as info:
        next(harvest_oai(server.client(), set_spec=None, from_date=None, metadata_prefix="oai_dc"))
    assert info.value.where == "metadata_prefix"
    assert server.requests == []
