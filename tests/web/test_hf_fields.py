"""Hugging Face API fields, field for field, through the real ``huggingface_hub`` client on a live server: every
daily item names its submitter (HF always sends an object), ``publishedAt`` is the submission time a source gave,
``/api/papers/search`` serves up to HF's limit of 120, and comments carry HF's comment fields and timestamps.

The shapes themselves are tested without a server in tests/test_hf_format.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.utils import _detect_agent

from browser_support import live
from paperfeed.community import rules
from paperfeed.papers import Paper, content_id
from paperfeed.search.indexes import indexes_for
from web_support import Site, paper

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MANY = [paper(f"2610.{i:05d}", f"Graph network study {i}", "2026-10-05") for i in range(1, 126)]
# Seen through the arXiv API: the first version's time to the second.
TIMED = Paper(
    id="2602.23229", title="Large Multimodal Models as General In-Context Classifiers", abstract="Which model?",
    authors=["Marco Garosi"], submitted="2026-02-26", announced="2026-02-27", listing_days={"2026-02-27": "new"},
    source="arxiv-api", signals={"submitted_at": "2026-02-26T17:08:18Z"},
)  # fmt: skip
SEED = Paper(
    id=content_id("A seed paper on graphs"), title="A seed paper on graphs", abstract="Graphs.",
    listing_days={"2026-10-05": "seed"}, source="seeds",
)  # fmt: skip


@pytest.fixture
def hub(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HfApi, str, Site]]:
    site.add(*MANY, TIMED, SEED)
    member = site.person("carol")
    site.store.add_comment(member.id, TIMED.id, "Nice *work*.", rules.now_iso())
    indexes_for(site.store).sync()
    with live(site.app) as url:
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
        monkeypatch.setattr(constants, "ENDPOINT", url)
        monkeypatch.setattr(_detect_agent, "_registry", _detect_agent._EMPTY_REGISTRY)
        yield HfApi(endpoint=url, token=False), url, site


def test_search_serves_up_to_hfs_limit_of_120(hub: tuple[HfApi, str, Site]) -> None:
    api, url, _ = hub
    assert len(list(api.list_papers(query="graph network study", limit=120))) == 120
    assert httpx.get(f"{url}/api/papers/search", params={"q": "graph", "limit": 121}).status_code == 422


def test_every_daily_item_names_who_or_what_put_it_in_the_feed(hub: tuple[HfApi, str, Site]) -> None:
    api, url, _ = hub
    daily = list(api.list_daily_papers(date="2026-10-05", limit=100))
    assert len(daily) == 100 and all(p.submitted_by is not None for p in daily)
    raw = httpx.get(f"{url}/api/daily_papers", params={"date": "2026-10-05", "limit": 100}).json()
    by_id = {item["paper"]["id"]: item for item in raw}
    arxiv = by_id["2610.00001"]
    assert arxiv["submittedBy"]["name"] == arxiv["paper"]["submittedOnDailyBy"]["user"] == "arxiv"
    assert arxiv["submittedBy"]["type"] == "org" and arxiv["submittedBy"]["fullname"] == "arXiv daily listing"
    if SEED.id in by_id:
        assert by_id[SEED.id]["submittedBy"]["name"] == "daily-papers"


def test_published_at_is_the_submission_time_a_source_gave(hub: tuple[HfApi, str, Site]) -> None:
    api, url, _ = hub
    info = api.paper_info(TIMED.id)
    assert info.published_at is not None and info.published_at.isoformat() == "2026-02-26T17:08:18+00:00"
    assert httpx.get(f"{url}/api/papers/{TIMED.id}").json()["publishedAt"] == "2026-02-26T17:08:18.000Z"
    # A paper whose sources gave only a day: midnight of its submission day, as before.
    assert httpx.get(f"{url}/api/papers/2610.00001").json()["publishedAt"] == "2026-10-05T00:00:00.000Z"


def test_comments_have_hfs_fields_and_timestamps(hub: tuple[HfApi, str, Site]) -> None:
    _, url, _ = hub
    (comment,) = httpx.get(f"{url}/api/papers/{TIMED.id}", params={"field": "comments"}).json()["comments"]
    assert TIMESTAMP_RE.match(comment["createdAt"]) and TIMESTAMP_RE.match(comment["data"]["latest"]["updatedAt"])
    assert comment["author"]["name"] == comment["author"]["user"] == "carol"
    data = comment["data"]
    assert (data["edited"], data["numEdits"], data["hidden"], data["reactions"]) == (False, 0, False, [])
    assert data["parentCommentId"] is None and data["isReport"] is False and "hiddenReason" not in data
    assert data["latest"]["raw"] == "Nice *work*." and "<em>work</em>" in data["latest"]["html"]
    assert data["editors"] == ["carol"] and data["latest"]["author"]["name"] == "carol"
