"""The worker's listing-feed job on recorded feeds (httpx.MockTransport, no network): each harvested category's
feed read once per listing day, politely (3 s apart), its kinds replacing derived days; a feed not rebuilt yet
retried until 06:00 Eastern, then given up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from paperfeed.config import Config, load_config
from paperfeed.errors import BadInput
from paperfeed.jobs.tasks import listing_categories, read_listings, tick
from paperfeed.papers import Paper
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources.http import PoliteClient
from paperfeed.store import Store
from support import FakeTime

FEEDS = Path(__file__).parent / "fixtures" / "arxiv_rss"
ATOM = (FEEDS / "arxiv_rss_atom_cs.AI_2026_trimmed.xml").read_bytes()  # the listing of Tue 2026-09-29
RSS2 = (FEEDS / "arxiv_rss_rss2_cs.AI_constructed.xml").read_bytes()
TUESDAY_1AM = datetime(2026, 9, 29, 5, 0, tzinfo=UTC)  # 01:00 EDT: Tuesday's feeds are out


@pytest.mark.parametrize(
    ("sets", "categories"),
    [
        (["cs:cs:LG"], ["cs.LG"]),
        (["cs:cs:LG", "stat:stat:ML", "cs:cs:LG"], ["cs.LG", "stat.ML"]),
        (["physics:cond-mat", "math", "physics:physics:optics"], ["cond-mat", "math", "physics.optics"]),
        ([], []),
    ],
)
def test_listing_categories_of_oai_sets(sets: list[str], categories: list[str]) -> None:
    assert listing_categories(sets) == categories


@pytest.fixture
def config(tmp_path: Path, store_url: str, store: Store) -> Config:
    config = load_config(
        env={
            "PAPERFEED_DATABASE_URL": store_url,
            "PAPERFEED_DATA_DIR": str(tmp_path),
            "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
            "PAPERFEED_ARXIV_SETS": "cs:cs:AI cs:cs:LG",
            "PAPERFEED_ARXIV_RSS_URL": "https://rss.test/atom",
        }
    )
    register(store, SearchSettings.from_config(config))  # as the worker does: the job indexes what it read
    return config


class Feeds:
    """Recorded feeds by category; every request is kept."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.requests: list[str] = []
        self.time = FakeTime(1000.0)

    def client(self) -> PoliteClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request.url.path)
            return httpx.Response(200, content=self.bodies[request.url.path.rsplit("/", 1)[1]])

        return PoliteClient(
            min_interval=3.0, transport=httpx.MockTransport(handle), sleep=self.time.sleep, clock=self.time.clock
        )


def test_each_feed_is_read_once_per_listing_day_and_its_kinds_replace_derived_days(
    store: Store, config: Config
) -> None:
    # Harvested before the listing: the first paper has the day its submission time gave (a day early, say).
    store.upsert_papers([Paper(id="2609.31763", title="SMARtCARE", listing_days={"2026-09-28": "derived"})])
    feeds = Feeds({"cs.AI": ATOM, "cs.LG": RSS2})
    detail = read_listings(store, config, TUESDAY_1AM, feeds.client())
    assert detail is not None
    assert (detail["day"], detail["categories"], detail["stale"]) == ("2026-09-29", ["cs.AI", "cs.LG"], [])
    assert feeds.requests == ["/atom/cs.AI", "/atom/cs.LG"]
    assert feeds.time.waits == [3.0]  # one request per 3 s
    days = store.get_papers(["2609.31763", "2301.02225", "2306.13961"])
    assert days["2609.31763"].listing_days == {"2026-09-29": "new"}
    assert days["2301.02225"].listing_days == {"2026-09-29": "cross"}
    assert days["2306.13961"].listing_days == {"2026-09-29": "replace"}
    assert store.listing("2026-09-29", "2026-09-29")[0] == ["2609.31763", "2301.02225"]

    # Read for the day: later ticks the same day fetch nothing.
    assert read_listings(store, config, TUESDAY_1AM.replace(hour=15), feeds.client()) is None
    (result,) = tick(store, config, TUESDAY_1AM.replace(hour=20), only="listings")
    assert result.status == "not-due"
    assert len(feeds.requests) == 2


def test_a_feed_not_rebuilt_yet_is_retried_until_six_then_given_up(store: Store, config: Config) -> None:
    feeds = Feeds({"cs.AI": ATOM, "cs.LG": ATOM})  # still Tuesday's listing on Wednesday
    wednesday = datetime(2026, 9, 30, 5, 0, tzinfo=UTC)  # 01:00 EDT
    detail = read_listings(store, config, wednesday, feeds.client())
    assert detail is not None and detail["day"] == "2026-09-30" and detail["stale"] == ["cs.AI", "cs.LG"]
    # Written all the same (an old listing is still true), but not taken as Wednesday's.
    assert store.get_paper("2609.31763").listing_days == {"2026-09-29": "new"}
    again = read_listings(store, config, wednesday.replace(hour=9), feeds.client())  # 05:00 EDT
    assert again is not None and again["stale"] == ["cs.AI", "cs.LG"]
    late = read_listings(store, config, wednesday.replace(hour=10, minute=30), feeds.client())  # 06:30 EDT
    assert late is not None and late["stale"] == []
    assert read_listings(store, config, wednesday.replace(hour=12), feeds.client()) is None
    assert len(feeds.requests) == 6


def test_a_category_read_before_a_failure_is_not_read_again(store: Store, config: Config) -> None:
    feeds = Feeds({"cs.AI": ATOM})  # cs.LG answers nothing readable
    feeds.bodies["cs.LG"] = b"<html>busy</html>"
    with pytest.raises(BadInput):
        read_listings(store, config, TUESDAY_1AM, feeds.client())
    assert store.get_state("job:listings") == {"day": "2026-09-29", "read": ["cs.AI"]}
    feeds.bodies["cs.LG"] = RSS2
    detail = read_listings(store, config, TUESDAY_1AM, feeds.client())
    assert detail is not None and detail["categories"] == ["cs.LG"]
    assert feeds.requests == ["/atom/cs.AI", "/atom/cs.LG", "/atom/cs.LG"]


def test_no_sets_no_listings(store: Store, tmp_path: Path, store_url: str) -> None:
    config = load_config(env={"PAPERFEED_DATABASE_URL": store_url, "PAPERFEED_ARXIV_SETS": ""})
    assert read_listings(store, config, TUESDAY_1AM, Feeds({}).client()) is None
