"""Hugging Face Daily Papers: the parser on real responses (a 2024 excerpt and a 2026 element) and the paging
fetcher on httpx.MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, Rejection
from paperfeed.sources.hf_daily import MIN_INTERVAL, fetch_daily_papers, parse_daily_papers
from paperfeed.sources.http import PoliteClient, polite_client
from support import FakeTime

FIXTURES = Path(__file__).parent / "fixtures" / "hf_daily"
DAY_2024 = (FIXTURES / "daily_papers_2024-10-25_excerpt_first2.json").read_bytes()  # a list of 2
ITEM_2026 = (FIXTURES / "hf_daily_papers_item.json").read_bytes()  # one element, not wrapped in a list


def papers(data: bytes, day: str | None = None) -> list[Paper]:
    items = parse_daily_papers(data, day=day).items
    assert all(isinstance(item, Paper) for item in items)
    return [item for item in items if isinstance(item, Paper)]


CASES: list[tuple[str, bytes, int, dict[str, Any]]] = [
    (
        "2024-first",  # wrapped title; no submittedOnDailyAt: the element's publishedAt gives the day
        DAY_2024,
        0,
        dict(
            id="2410.17243",
            version=None,
            title="Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss",
            authors=[
                "Zesen Cheng",
                "Hang Zhang",
                "Kehan Li",
                "Sicong Leng",
                "Zhiqiang Hu",
                "Fei Wu",
                "Deli Zhao",
                "Xin Li",
                "Lidong Bing",
            ],
            submitted="2024-10-22",
            code_urls=[],
            project_urls=[],
            listing_days={"2024-10-25": "hf-daily"},
            signals={
                "upvotes": 64,
                "num_comments": 3,
                "submitted_by": "ClownRat",
                "submitted_at": "2024-10-22T17:59:30.000Z",  # paper.publishedAt: the first version's time
            },
        ),
    ),
    (
        "2024-second",
        DAY_2024,
        1,
        dict(
            id="2410.16251",
            title="Can Knowledge Editing Really Correct Hallucinations?",
            authors=["Baixiang Huang", "Canyu Chen", "Xiongxiao Xu", "Ali Payani", "Kai Shu"],
            submitted="2024-10-21",
            listing_days={"2024-10-25": "hf-daily"},
            signals={
                "upvotes": 41,
                "num_comments": 2,
                "submitted_by": "canyuchen",
                "submitted_at": "2024-10-21T17:55:54.000Z",
            },
        ),
    ),
    (
        "2026-item",  # newer fields: submittedOnDailyAt/By, githubRepo, projectPage, stars, AI summary/keywords
        ITEM_2026,
        0,
        dict(
            id="2602.23229",
            title="Large Multimodal Models as General In-Context Classifiers",
            authors=["Marco Garosi", "Matteo Farina", "Alessandro Conti", "Massimiliano Mancini", "Elisa Ricci"],
            submitted="2026-02-26",
            code_urls=["https://github.com/marco-garosi/CIRCLE"],
            project_urls=["https://circle-lmm.github.io/"],
            listing_days={"2026-03-06": "hf-daily"},
        ),
    ),
]


@pytest.mark.parametrize(("data", "index", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_item(data: bytes, index: int, expected: dict[str, Any]) -> None:
    paper = papers(data)[index]
    assert {key: getattr(paper, key) for key in expected} == expected
    assert paper.source == "hf-daily"
    assert paper.abstract and "\n" not in paper.abstract and "\n" not in paper.title


def test_signals_of_a_2026_item() -> None:
    (paper,) = papers(ITEM_2026)
    signals = dict(paper.signals)
    assert signals.pop("ai_summary").startswith("Large Multimodal Models demonstrate superior performance")
    assert signals.pop("ai_keywords")[:2] == ["Vision-Language Models", "Large Multimodal Models"]
    assert signals == {
        "upvotes": 10,
        "num_comments": 1,
        "submitted_by": "marco-garosi",
        "github_stars": 9,
        "submitted_at": "2026-02-26T17:08:18.000Z",
    }


def test_day_overrides_the_listing_day() -> None:
    assert {d for p in papers(DAY_2024, day="2024-10-26") for d in p.listing_days} == {"2024-10-26"}
    with pytest.raises(BadInput, match="not an ISO date"):
        parse_daily_papers(DAY_2024, day="25/10/2024")


def test_hidden_authors_are_kept_in_order() -> None:
    records = json.loads(DAY_2024)
    records[0]["paper"]["authors"][1]["hidden"] = True
    (first, _second) = papers(json.dumps(records).encode())
    assert first.authors[:3] == ["Zesen Cheng", "Hang Zhang", "Kehan Li"]


def test_bad_items_become_rejections_naming_their_index() -> None:
    records = json.loads(DAY_2024)
    del records[0]["paper"]["id"]
    records[1]["paper"]["title"] = " "
    records[1]["title"] = ""
    records.append("not an object")
    records.append({"paper": {"id": "not-arxiv", "title": "T"}})
    records.append(json.loads(ITEM_2026))
    items = parse_daily_papers(json.dumps(records).encode(), where="day").items
    assert items[:4] == [
        Rejection("day[0]", "item has no paper id"),
        Rejection("day[1]", "paper 2410.16251 has no title"),
        Rejection("day[2]", "item is not a JSON object"),
        Rejection("day[3]", "paper id 'not-arxiv' is not an arXiv id"),
    ]
    assert isinstance(items[4], Paper) and items[4].id == "2602.23229"


def test_flat_paper_shape() -> None:
    # /api/papers returns the paper object alone, without the daily wrapper.
    paper_only = json.loads(ITEM_2026)["paper"]
    (paper,) = papers(json.dumps([paper_only]).encode())
    assert paper.id == "2602.23229" and paper.listing_days == {"2026-03-06": "hf-daily"}
    assert "num_comments" not in paper.signals and paper.signals["submitted_by"] == "marco-garosi"


@pytest.mark.parametrize(
    ("data", "message", "where"),
    [
        (DAY_2024[:500], "malformed JSON: .* column 501", "hf-daily:1"),  # the real response is one line
        (ITEM_2026[:1000], "malformed JSON", "hf-daily:20"),  # cut inside `false` on line 20
        (b'"just a string"', "expected a JSON list or object", "hf-daily"),
        (b"[\xff]", "not UTF-8", "hf-daily"),
    ],
    ids=["truncated-one-line", "truncated-pretty", "string", "binary"],
)
def test_unreadable_response(data: bytes, message: str, where: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_daily_papers(data)
    assert caught.value.where == where


def test_empty_day() -> None:
    assert parse_daily_papers(b"[]").items == []


def client_for(pages: list[httpx.Response], requests: list[httpx.Request], time: FakeTime) -> PoliteClient:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return pages.pop(0)

    transport = httpx.MockTransport(handler)
    return polite_client(
        min_interval=MIN_INTERVAL, transport=transport, sleep=time.sleep, clock=time.clock, wall_clock=time.clock
    )


def test_fetch_pages_until_a_short_page() -> None:
    # limit=2 so that the real 2-element excerpt is a full page and the single 2026 element a short one.
    pages = [httpx.Response(200, content=DAY_2024), httpx.Response(200, content=ITEM_2026)]
    requests: list[httpx.Request] = []
    time = FakeTime()
    with client_for(pages, requests, time) as client:
        items = fetch_daily_papers(client, "2024-10-25", limit=2)
    assert [item.id for item in items if isinstance(item, Paper)] == ["2410.17243", "2410.16251", "2602.23229"]
    assert [dict(r.url.params) for r in requests] == [
        {"p": "0", "limit": "2", "date": "2024-10-25"},
        {"p": "1", "limit": "2", "date": "2024-10-25"},
    ]
    assert str(requests[0].url).startswith("https://huggingface.co/api/daily_papers?")
    assert all(p.listing_days == {"2024-10-25": "hf-daily"} for p in items if isinstance(p, Paper))
    assert time.waits == [1.0]  # one request a second


def test_fetch_stops_when_pages_repeat() -> None:
    # Should HF ever ignore ``p``, every page repeats the first: stop instead of looping.
    pages = [httpx.Response(200, content=DAY_2024) for _ in range(3)]
    requests: list[httpx.Request] = []
    with client_for(pages, requests, FakeTime()) as client:
        items = fetch_daily_papers(client, None, limit=2)
    assert len(items) == 2 and len(requests) == 2
    assert "date" not in requests[0].url.params


def test_fetch_waits_out_a_429() -> None:
    pages = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=b"[]")]
    time = FakeTime()
    with client_for(pages, [], time) as client:
        assert fetch_daily_papers(client, "2026-03-06") == []
    assert time.waits == [7.0]


def test_fetch_rejects_a_bad_day() -> None:
    requests: list[httpx.Request] = []
    with client_for([], requests, FakeTime()) as client, pytest.raises(BadInput):
        fetch_daily_papers(client, "yesterday")
    assert requests == []


def test_links_that_are_not_http_are_dropped() -> None:
    record = json.loads(ITEM_2026)
    record["paper"]["githubRepo"] = "javascript:alert(document.cookie)"
    record["paper"]["projectPage"] = "data:text/html,<script>alert(1)</script>"
    (paper,) = papers(json.dumps([record]).encode())
    assert not any(u.startswith(("javascript:", "data:")) for u in paper.code_urls + paper.project_urls)
    record["paper"]["githubRepo"] = "https://github.com/a/b"
    (paper,) = papers(json.dumps([record]).encode())
    assert "https://github.com/a/b" in paper.code_urls


def test_an_item_with_a_nul_byte_is_rejected_naming_its_index() -> None:
    record = json.loads(ITEM_2026)
    record["paper"]["summary"] = "An abstract \u0000 with a NUL."
    (item,) = parse_daily_papers(json.dumps([record]).encode(), where="day").items
    assert isinstance(item, Rejection) and item.where == "day[0]" and "NUL" in item.reason
