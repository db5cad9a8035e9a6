"""Hugging Face papers API shapes: the real ``huggingface_hub`` client parses every shape we build (directly and
over HTTP), our objects carry every top-level field the recorded real responses carry (deliberate omissions are
listed here), paperfeed's own HF importer reads them back, and timestamps/ids have HF's formats."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.hf_api import PaperInfo
from huggingface_hub.utils import _http

from paperfeed.formats.hf import (
    PaperActivity,
    comment_json,
    daily_item_json,
    hf_datetime,
    list_item_json,
    object_id,
    paper_json,
    search_item_json,
    user_json,
)
from paperfeed.papers import Paper
from paperfeed.sources.hf_daily import parse_daily_papers

FIXTURES = Path(__file__).parent / "fixtures" / "hf_daily"
REAL_DAILY_2024 = json.loads((FIXTURES / "daily_papers_2024-10-25_excerpt_first2.json").read_text("utf-8"))
REAL_DAILY_2026 = json.loads((FIXTURES / "hf_daily_papers_item.json").read_text("utf-8"))
# First element of GET /api/papers/search?q=attention as of 2024-09 (huggingface_hub issue #2553).
REAL_SEARCH_2024 = {
    "id": "2409.07146",
    "title": "Gated Slot Attention for Efficient Linear-Time Sequence Modeling",
    "thumbnailUrl": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2409.07146.png",
    "source": "hf",
}
# Fields of HF's OpenAPI spec (no recorded real response) for the shapes with no fixture.
SPEC_PAPER_PAGE = {
    *("id", "authors", "mediaUrls", "publishedAt", "submittedOnDailyAt", "title", "submittedOnDailyBy"),
    *("summary", "upvotes", "withdrawnAt", "discussionId", "projectPage", "githubRepo", "ai_summary"),
    *("ai_keywords", "githubStars", "linkedModels", "numTotalModels", "linkedDatasets", "numTotalDatasets"),
    *("linkedSpaces", "numTotalSpaces"),
}
SPEC_LIST_ITEM = {
    *("id", "title", "upvotes", "publishedAt", "thumbnailUrl", "authors", "summary", "projectPage"),
    *("githubRepo", "ai_summary", "organization"),
}

# Deliberately not produced, and why.
OMITTED = {
    "organization": "HF organisations; paperfeed has none",
    "githubRepoAddedBy": "HF moderation detail",
    "withdrawnAt": "withdrawals are not tracked (HF omits it for live papers too)",
}
# Produced only when Hugging Face told us (imported signals); never made up.
FROM_HF_ONLY = {"githubStars", "ai_summary", "ai_keywords"}
# Author entries linked to HF accounts have these; our authors are never linked to accounts.
AUTHOR_ACCOUNT_FIELDS = {"user", "status", "statusLastChangedAt"}

BASE = "https://papers.example.org"
HF_SIGNALS = {
    "upvotes": 10,
    "num_comments": 1,
    "submitted_by": "marco-garosi",
    "github_stars": 9,
    "ai_summary": "Large Multimodal Models demonstrate superior performance in closed-world classification.",
    "ai_keywords": ["Vision-Language Models", "in-context learning"],
}
CIRCLE = Paper(
    id="2602.23229",
    title="Large Multimodal Models as General\n  In-Context Classifiers",
    abstract="Which multimodal model should we use for classification? Previous studies suggest CLIP-like VLMs.",
    version=1,
    authors=["Marco Garosi", "Matteo Farina", "Alessandro Conti", "Massimiliano Mancini", "Elisa Ricci"],
    categories=["cs.CV", "cs.AI"],
    submitted="2026-02-26",
    announced="2026-02-27",
    code_urls=["https://gitlab.com/mirror/circle", "https://github.com/marco-garosi/CIRCLE"],
    project_urls=["https://circle-lmm.github.io/"],
    listing_days={"2026-02-27": "new", "2026-03-06": "hf-daily"},
    source="arxiv-rss",
    sightings={"hf-daily": {"first_seen": "2026-03-06T04:00:00Z", "signals": HF_SIGNALS}},
)
CIRCLE_ACTIVITY = PaperActivity(
    upvotes=3,
    num_comments=2,
    submitter="marco-garosi",
    submitted_at=datetime(2026, 3, 6, 3, 55, 12, 777000, tzinfo=UTC),
    hf_upvotes=10,
)
QUIET = Paper(
    id="2611.01234",
    title="A Quiet Paper on $a_b$ Spaces",
    abstract="Nothing links here.",
    authors=["Ada Lovelace", "Ada Lovelace"],
    categories=["math.AG"],
    submitted="2026-11-18",
    announced="2026-11-20",
    source="arxiv-rss",
)
NO_DATES = Paper(id="pf-0123456789ab", title="A Workshop Note", authors=["Jane Doe"], source="seed")

SHAPES: dict[str, Callable[[Paper, PaperActivity], dict[str, Any]]] = {
    "daily": lambda p, a: daily_item_json(p, a, base_url=BASE, day="2026-11-20"),
    "paper": lambda p, a: paper_json(p, a, base_url=BASE),
    "list": lambda p, a: list_item_json(p, a, base_url=BASE),
    "search": lambda p, a: search_item_json(p, a, base_url=BASE, highlight="A <em>Quiet</em> Paper"),
}
CASES = [
    ("circle", CIRCLE, CIRCLE_ACTIVITY),
    ("quiet", QUIET, PaperActivity()),
    ("no-dates", NO_DATES, PaperActivity(upvotes=1, submitter="jane")),
]


def parse(item: dict[str, Any]) -> PaperInfo:
    # PaperInfo pops keys out of the nested "paper" dict: hand it a copy.
    return PaperInfo(**copy.deepcopy(item))


def midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "paper", "activity"), CASES, ids=[c[0] for c in CASES])
def test_real_client_parses(shape: str, name: str, paper: Paper, activity: PaperActivity) -> None:
    item = SHAPES[shape](paper, activity)
    json.dumps(item)  # plain JSON: no datetimes or dataclasses left in
    info = parse(item)

    assert info.id == paper.id
    assert info.title == " ".join(paper.title.split())
    assert info.summary == paper.abstract
    assert [a.name for a in info.authors or []] == paper.authors
    assert all(a.hidden is False and a.user is None for a in info.authors or [])
    assert info.upvotes == activity.upvotes + activity.hf_upvotes
    assert info.comments == activity.num_comments
    assert info.discussion_id == object_id("discussion", paper.id)
    daily_day = "2026-11-20" if shape == "daily" else paper.announced
    expected_daily = activity.submitted_at or (midnight(daily_day) if daily_day else None)
    first_day = paper.submitted or paper.announced
    # A paper with no date of its own is dated by its arrival in the feed (when that is known).
    assert info.published_at == (midnight(first_day) if first_day else expected_daily)
    # With no daily-feed time at all, search items repeat the paper's own date at the top level (as HF does).
    assert info.submitted_at == expected_daily or (shape == "search" and info.submitted_at == info.published_at)

    if activity.submitter:
        assert info.submitted_by is not None
        assert info.submitted_by.username == activity.submitter
        assert info.submitted_by.fullname == activity.submitter
        assert info.submitted_by.user_type == "user"
    else:
        assert info.submitted_by is None

    if paper is CIRCLE:
        assert info.github_repo == "https://github.com/marco-garosi/CIRCLE"  # the first one on github.com
        assert info.project_page == "https://circle-lmm.github.io/"
        assert info.github_stars == 9
        assert info.ai_summary == HF_SIGNALS["ai_summary"]
        assert info.ai_keywords == HF_SIGNALS["ai_keywords"]
    else:
        assert info.github_repo is None and info.project_page is None and info.github_stars is None

    if shape == "paper":
        assert info.linked_models == [] and info.linked_datasets == [] and info.linked_spaces == []
        assert info.num_total_models == 0 and info.num_total_datasets == 0
    if shape == "search":
        assert info.source == "paperfeed"
        assert info.highlight == "A <em>Quiet</em> Paper"  # type: ignore[attr-defined]


def test_real_client_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """``HfApi(endpoint=…)`` unchanged: the three paper methods against our shapes behind a mock transport."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.url.path} {dict(request.url.params)}")
        if request.url.path == "/api/daily_papers":
            body: Any = [SHAPES["daily"](p, a) for _, p, a in CASES]
        elif request.url.path == "/api/papers/search":
            body = [SHAPES["search"](CIRCLE, CIRCLE_ACTIVITY)]
        elif request.url.path == f"/api/papers/{CIRCLE.id}":
            body = SHAPES["paper"](CIRCLE, CIRCLE_ACTIVITY)
        else:
            return httpx2.Response(404, json={"error": "not found"})
        return httpx2.Response(200, json=body)

    with _mock_hub(handler):
        api = HfApi(endpoint=BASE, token=False)
        daily = list(api.list_daily_papers(date="2026-11-20"))
        found = list(api.list_papers(query="multimodal"))
        page = api.paper_info(CIRCLE.id)

    assert [p.id for p in daily] == [c[1].id for c in CASES]
    assert daily[0].submitted_by is not None and daily[0].submitted_by.username == "marco-garosi"
    assert daily[0].upvotes == 13 and daily[0].comments == 2
    assert [p.id for p in found] == [CIRCLE.id]
    assert page.title == "Large Multimodal Models as General In-Context Classifiers"
    assert page.num_total_models == 0
    papers_calls = [call for call in seen if "papers" in call]  # also its agent-harness registry fetch
    assert papers_calls == [
        "/api/daily_papers {'date': '2026-11-20'}",
        "/api/papers/search {'q': 'multimodal'}",
        f"/api/papers/{CIRCLE.id} {{}}",
    ]


class _mock_hub:
    def __init__(self, handler: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.handler = handler
        self.previous = _http._GLOBAL_CLIENT_FACTORY

    def __enter__(self) -> None:
        _http.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(self.handler)))

    def __exit__(self, *exc: object) -> None:
        _http.set_client_factory(self.previous)


def _keys(item: dict[str, Any]) -> set[str]:
    return set(item)


def test_daily_item_has_every_field_of_the_real_responses() -> None:
    ours = SHAPES["daily"](CIRCLE, CIRCLE_ACTIVITY)
    for real in [REAL_DAILY_2026, *REAL_DAILY_2024]:
        assert _keys(real) - _keys(ours) <= set(OMITTED), _keys(real) - _keys(ours)
        assert _keys(real["paper"]) - _keys(ours["paper"]) <= set(OMITTED), _keys(real["paper"]) - _keys(ours["paper"])
        for author in real["paper"]["authors"]:
            assert set(author) - set(ours["paper"]["authors"][0]) <= AUTHOR_ACCOUNT_FIELDS
        assert set(real["submittedBy"]) <= set(ours["submittedBy"])
    assert set(REAL_DAILY_2026["paper"]["submittedOnDailyBy"]) <= set(ours["paper"]["submittedOnDailyBy"])
    # And the omissions really are omitted (so this list stays honest).
    assert not set(OMITTED) & (_keys(ours) | _keys(ours["paper"]))


def test_fields_only_hugging_face_can_give_are_absent_without_its_signals() -> None:
    quiet = SHAPES["daily"](QUIET, PaperActivity())
    assert not FROM_HF_ONLY & _keys(quiet["paper"])
    assert _keys(SHAPES["daily"](CIRCLE, CIRCLE_ACTIVITY)["paper"]) >= FROM_HF_ONLY
    # The HF importer's own sighting counts too (a paper whose latest sighting came from hf-daily).
    direct = Paper(id="2410.17243", title="T", source="hf-daily", signals={"github_stars": 4})
    assert SHAPES["paper"](direct, PaperActivity())["githubStars"] == 4


@pytest.mark.parametrize(
    ("shape", "spec"), [("paper", SPEC_PAPER_PAGE), ("list", SPEC_LIST_ITEM)], ids=["paper-page", "list-item"]
)
def test_flat_shapes_have_every_spec_field(shape: str, spec: set[str]) -> None:
    ours = _keys(SHAPES[shape](CIRCLE, CIRCLE_ACTIVITY))
    assert spec - ours <= set(OMITTED), spec - ours


def test_search_item_carries_both_known_search_shapes() -> None:
    ours = SHAPES["search"](CIRCLE, CIRCLE_ACTIVITY)
    assert set(REAL_SEARCH_2024) <= _keys(ours)
    assert _keys(REAL_DAILY_2026) - _keys(ours) <= set(OMITTED)
    assert search_item_json(CIRCLE, CIRCLE_ACTIVITY, base_url=BASE).get("highlight") is None


@pytest.mark.parametrize("real", [REAL_DAILY_2026, *REAL_DAILY_2024], ids=["2026", "2024-1", "2024-2"])
def test_the_client_reads_the_real_fixtures_the_way_we_assume(real: dict[str, Any]) -> None:
    # The assumptions our shapes rest on, checked against the real responses: top-level publishedAt is the
    # daily-feed time, the paper's publishedAt its arXiv date, the title comes from the top level.
    info = parse(real)
    assert info.submitted_at is not None and info.published_at is not None
    assert hf_datetime(info.submitted_at) == real["publishedAt"]
    assert info.title == real["title"]
    assert info.comments == real["numComments"]


def test_paperfeeds_own_importer_reads_our_daily_items() -> None:
    data = json.dumps([SHAPES["daily"](p, a) for _, p, a in CASES[:2]]).encode()
    circle, quiet = parse_daily_papers(data, where="ours").items
    assert isinstance(circle, Paper) and isinstance(quiet, Paper)
    assert circle.id == CIRCLE.id and circle.title == "Large Multimodal Models as General In-Context Classifiers"
    assert circle.authors == CIRCLE.authors and circle.submitted == "2026-02-26"
    assert circle.listing_days == {"2026-03-06": "hf-daily"}
    assert circle.code_urls == ["https://github.com/marco-garosi/CIRCLE"]
    assert circle.signals["upvotes"] == 13 and circle.signals["num_comments"] == 2
    assert circle.signals["submitted_by"] == "marco-garosi" and circle.signals["github_stars"] == 9
    assert quiet.listing_days == {"2026-11-20": "hf-daily"} and "submitted_by" not in quiet.signals


TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _timestamps(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith("At") and inner is not None:
                yield inner
            yield from _timestamps(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _timestamps(inner)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_timestamp_has_hfs_format(shape: str) -> None:
    stamps = list(_timestamps(SHAPES[shape](CIRCLE, CIRCLE_ACTIVITY)))
    assert stamps and all(TIMESTAMP_RE.match(s) for s in stamps), stamps


DATETIMES = [
    ("date", "2026-11-20", "2026-11-20T00:00:00.000Z"),
    ("date with time", "2026-11-20T13:14:15Z", "2026-11-20T00:00:00.000Z"),
    ("aware, UTC", datetime(2026, 3, 6, 3, 55, 12, 777999, tzinfo=UTC), "2026-03-06T03:55:12.777Z"),
    ("aware, +02:00", datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), "2025-12-31T23:00:00.000Z"),
    ("naive means UTC", datetime(2026, 1, 1, 12, 0, 0, 5000), "2026-01-01T12:00:00.005Z"),
    ("None", None, None),
    ("unreadable", "someday", None),
]


@pytest.mark.parametrize(("name", "value", "expected"), DATETIMES, ids=[d[0] for d in DATETIMES])
def test_hf_datetime(name: str, value: datetime | str | None, expected: str | None) -> None:
    assert hf_datetime(value) == expected


def test_ids_are_stable_24_hex_and_distinct() -> None:
    first = SHAPES["paper"](QUIET, PaperActivity())
    again = SHAPES["daily"](QUIET, PaperActivity())
    ids = [a["_id"] for a in first["authors"]]
    assert ids == [a["_id"] for a in again["paper"]["authors"]]
    assert len(set(ids)) == 2  # the same name twice is two author entries
    assert first["discussionId"] == again["paper"]["discussionId"]
    other = SHAPES["paper"](CIRCLE, PaperActivity())
    assert other["discussionId"] != first["discussionId"]
    for value in [*ids, first["discussionId"], user_json("jane")["_id"]]:
        assert re.fullmatch(r"[0-9a-f]{24}", value)
    assert user_json("jane") == user_json("jane") and user_json("jane")["_id"] != user_json("john")["_id"]


def test_upvotes_add_hugging_face_signals_to_ours() -> None:
    item = SHAPES["paper"](CIRCLE, PaperActivity(upvotes=2, hf_upvotes=40))
    assert item["upvotes"] == 42


def test_user_json() -> None:
    user = user_json("marco-garosi")
    assert user["name"] == user["user"] == user["fullname"] == "marco-garosi"
    assert user["type"] == "user" and user["avatarUrl"] == f"/avatars/{user['_id']}.svg"
    assert set(REAL_DAILY_2026["submittedBy"]) <= set(user)


# -- field for field against the real responses, the spec and docs/hf-api.md ---------------------------------------
DOCS = (Path(__file__).parents[1] / "docs" / "hf-api.md").read_text("utf-8")
SPEC_COMMENT_DATA = {
    *("edited", "hidden", "hiddenBy", "hiddenReason", "latest", "numEdits", "editors", "editorAvatarUrls"),
    *("reactions", "identifiedLanguage", "relatedEventId", "isReport", "parentCommentId"),
}
COMMENT_DATA_UNKNOWN = {"hiddenBy", "identifiedLanguage", "relatedEventId"}  # not recorded: left out


def _all_keys(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _all_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _all_keys(inner)


def test_docs_table_names_every_field_hf_sends() -> None:
    documented = set(re.findall(r"`(?:[a-zA-Z]+\.|[a-zA-Z]+\[\]\.)?([a-zA-Z_]+)`", DOCS))
    sent_by_hf = {*_all_keys(REAL_DAILY_2026), *_all_keys(REAL_DAILY_2024), *REAL_SEARCH_2024}
    spec = SPEC_PAPER_PAGE | SPEC_LIST_ITEM | SPEC_COMMENT_DATA | {"submissionDeadline", "comments"}
    # Inside user overviews and organisations, and the HF author entries, which the tables cover as groups.
    grouped = {"avatar", "status", "statusLastChangedAt"}
    assert not (sent_by_hf | spec) - documented - grouped, sorted((sent_by_hf | spec) - documented - grouped)


def test_every_daily_paper_has_a_submitter_object() -> None:
    listed = Paper(id="2611.00009", title="T", announced="2026-11-20", listing_days={"2026-11-20": "new"})
    seed = Paper(id="pf-000000000009", title="S", listing_days={"2025-03-14": "seed"}, source="seeds")
    on_hf = Paper(id="2611.00010", title="H", listing_days={"2026-11-20": "hf-daily"}, source="hf-daily",
                  signals={"submitted_by": "akhaliq"})  # fmt: skip
    for item, name, kind in [
        (SHAPES["daily"](listed, PaperActivity()), "arxiv", "org"),
        (SHAPES["daily"](seed, PaperActivity()), "daily-papers", "org"),
        (SHAPES["daily"](on_hf, PaperActivity()), "akhaliq", "user"),
        (SHAPES["daily"](on_hf, PaperActivity(submitter="ada")), "ada", "user"),
    ]:
        assert item["submittedBy"] == item["paper"]["submittedOnDailyBy"]
        assert (item["submittedBy"]["name"], item["submittedBy"]["type"]) == (name, kind)
        assert set(REAL_DAILY_2026["submittedBy"]) <= set(item["submittedBy"])
        info = parse(item)
        assert info.submitted_by is not None and info.submitted_by.username == name
    # Never in a feed, no member: nothing to name.
    assert SHAPES["paper"](QUIET, PaperActivity())["submittedOnDailyBy"] is None


def test_published_at_is_the_real_submission_time() -> None:
    (imported,) = parse_daily_papers(json.dumps([REAL_DAILY_2026]).encode(), where="real").items
    assert isinstance(imported, Paper)
    ours = SHAPES["daily"](imported, PaperActivity())
    assert ours["paper"]["publishedAt"] == REAL_DAILY_2026["paper"]["publishedAt"] == "2026-02-26T17:08:18.000Z"
    # A stamp of another day than the paper's first version (an older sighting) is not used.
    stale = Paper(id="2611.00011", title="T", submitted="2026-11-18", signals={"submitted_at": "2026-10-01T10:00:00Z"})
    assert SHAPES["paper"](stale, PaperActivity())["publishedAt"] == "2026-11-18T00:00:00.000Z"


def test_comment_fields_follow_the_spec() -> None:
    shown = comment_json(7, "2026-11-20T10:11:12.345678+00:00", "ada", "Hi", "<p>Hi</p>")
    hidden = comment_json(8, "2026-11-20T10:11:12+00:00", "bob", "x", "<p>x</p>", hidden=True, hidden_reason="Spam")
    assert shown["createdAt"] == "2026-11-20T10:11:12.345Z" and TIMESTAMP_RE.match(hidden["createdAt"])
    assert SPEC_COMMENT_DATA - set(hidden["data"]) == COMMENT_DATA_UNKNOWN
    assert SPEC_COMMENT_DATA - set(shown["data"]) == COMMENT_DATA_UNKNOWN | {"hiddenReason"}
    assert hidden["data"]["hiddenReason"] == "Spam" and hidden["data"]["hidden"] is True
    assert shown["author"]["user"] == "ada" and shown["data"]["latest"]["author"]["name"] == "ada"
