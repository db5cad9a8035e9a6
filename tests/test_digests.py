"""Digest composition: shared topic results computed once per period, assembled per subscriber (pure parts
table-driven; the rest on a real store, both backends, with the real search indexes for saved queries).

``corpus`` and ``FRIDAY`` are shared with test_delivery.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import paperfeed.digests.compose as compose
from paperfeed.config import Config, load_config
from paperfeed.digests.compose import (
    TRENDING,
    PeriodResults,
    _round_robin,
    assemble,
    compose_period,
    gather,
    name_words,
    paper_count,
    topic_key,
)
from paperfeed.digests.emails import Digest
from paperfeed.errors import BadInput
from paperfeed.papers import Paper
from paperfeed.periods import parse_period
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.store import Store, open_store
from paperfeed.store.subscriptions import Subscriber, Topic, sort_topics

FRIDAY = "2026-11-20"
THURSDAY = "2026-11-19"
MONDAY = "2026-11-16"
SITE = "https://papers.example.org"


def _paper(pid: str, title: str, abstract: str, authors: list[str], cats: list[str], day: str, **extra: Any) -> Paper:
    kind = extra.pop("kind", "new")
    return Paper(
        id=pid, title=title, abstract=abstract, authors=authors, categories=cats, announced=day,
        listing_days={day: kind}, source=extra.pop("source", "test"), signals=extra.pop("signals", {}), **extra,
    )  # fmt: skip


def corpus() -> list[Paper]:
    """Papers of ISO week 2026-W47; HF upvotes make some of them trend."""
    hf = {"source": "hf-daily"}
    return [
        _paper("2611.00001", "Diffusion models for protein design", "We train denoising diffusion models on protein "
               "backbones and fold them.", ["Ada Lovelace", "Alan Turing"], ["cs.LG", "q-bio.BM"], FRIDAY,
               signals={"upvotes": 10}, **hf),
        _paper("2611.00002", "Graph neural networks at scale", "Message passing on graphs with a billion edges.",
               ["Grace Hopper"], ["cs.LG"], FRIDAY),
        _paper("2611.00003", "Speech recognition for low-resource languages", "Automatic speech recognition "
               "with little transcribed audio.", ["Alan M. Turing"], ["cs.CL"], FRIDAY, signals={"upvotes": 3}, **hf),
        _paper("2611.00004", "Latent diffusion for video generation", "We extend latent diffusion models to "
               "video.", ["José Núñez"], ["cs.CV", "cs.LG"], FRIDAY),
        _paper("2611.00005", "Score-based generative modelling of molecules", "Denoising score matching "
               "generates molecules.", ["Grace Hopper"], ["cs.LG"], FRIDAY),
        _paper("2611.00006", "A survey of diffusion models in robotics", "Diffusion models plan robot motion.",
               ["Zhang Wei"], ["cs.RO"], FRIDAY),
        _paper("2611.00010", "Diffusion models for weather forecasting", "Ensembles from a diffusion model.",
               ["Ada Lovelace"], ["cs.LG"], THURSDAY, signals={"upvotes": 50}, **hf),
        _paper("2611.00011", "Tokenizers for code", "Byte-pair encodings for programming languages.",
               ["Alan Turing"], ["cs.CL"], MONDAY),
    ]  # fmt: skip


def sub(sid: int = 1, *topics: str, trending: bool = True, max_papers: int = 10, **extra: Any) -> Subscriber:
    parsed = sort_topics([Topic(t.split(":", 1)[0], t.split(":", 1)[1]) for t in topics])  # type: ignore[arg-type]
    return Subscriber(
        id=sid, email=f"r{sid}@example.org", status="active", frequency=extra.get("frequency", "daily"),
        include_trending=trending, max_papers=max_papers, send_hour=8, timezone="UTC", topics=parsed,
    )  # fmt: skip


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def feed_store(store_url: str, tmp_path: Path, cache_dir: Path) -> Iterator[Store]:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(cache_dir)))
        store.upsert_papers(corpus())
        indexes_for(store).sync()
        yield store


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Config:
    return load_config(
        env={"PAPERFEED_DATA_DIR": str(tmp_path), "PAPERFEED_DATABASE_URL": store_url,
             "PAPERFEED_SECRET_KEY": "k", "PAPERFEED_BASE_URL": SITE + "/"}
    )  # fmt: skip


def section_ids(digest: Digest) -> list[tuple[str, list[str]]]:
    return [(s.title, [e.paper.id for e in s.entries]) for s in digest.sections]


def reasons(digest: Digest) -> dict[str, tuple[str, ...]]:
    return {e.paper.id: e.reasons for s in digest.sections for e in s.entries}


# --- pure parts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lists", "limit", "expected"),
    [
        ([], 10, {}),
        ([["a", "b", "c"]], 2, {"a": 0, "b": 0}),
        ([["a", "b"], ["c", "d"]], 3, {"a": 0, "c": 1, "b": 0}),
        ([["a", "b"], ["a", "c"]], 10, {"a": 0, "c": 1, "b": 0}),  # a duplicate is skipped, the next one taken
        ([["a"], ["a"], ["a", "b"]], 10, {"a": 0, "b": 2}),
        ([[], ["x", "y", "z"]], 2, {"x": 1, "y": 1}),
        ([["a", "b", "c", "d"], ["e"]], 4, {"a": 0, "e": 1, "b": 0, "c": 0}),
    ],
)
def test_round_robin(lists: list[list[str]], limit: int, expected: dict[str, int]) -> None:
    picked = _round_robin(lists, limit)
    assert picked == expected
    assert list(picked) == list(expected)  # pick order too


@pytest.mark.parametrize(
    ("topic", "key"),
    [
        (Topic("cat", "cs.LG"), ("cat", "cs.lg")),
        (Topic("query", "Diffusion   Models"), ("query", "diffusion models")),
        (Topic("author", "José  Núñez"), ("author", "jose nunez")),
        (Topic("author", "O'Brien, J.-P."), ("author", "o brien j p")),
    ],
)
def test_topic_key(topic: Topic, key: tuple[str, str]) -> None:
    assert topic_key(topic) == key


def test_name_words() -> None:
    assert name_words("Zoë Ångström-Łukasz") == ["zoe", "angstrom", "łukasz"]


def _results(**ranked: list[str]) -> PeriodResults:
    results = PeriodResults(parse_period(FRIDAY))
    for pid in {pid for ids in ranked.values() for pid in ids}:
        results.papers[pid] = Paper(id=pid, title=f"Paper {pid}", abstract="", authors=["A"], categories=["cs.LG"])
    keys = {"trending": TRENDING, "lg": ("cat", "cs.lg"), "q": ("query", "diffusion"), "ada": ("author", "ada")}
    for name, ids in ranked.items():
        results.put(keys[name], ids)
    return results


def test_assemble_dedupes_gives_reasons_and_shares_max_papers() -> None:
    results = _results(trending=["t1", "c1", "t2", "t3"], lg=["c1", "c2", "c3"], q=["c2", "q1"])
    subscriber = sub(1, "cat:cs.LG", "query:diffusion", max_papers=5)
    digest = assemble(subscriber, results, site=SITE, unsubscribe=f"{SITE}/u", manage=f"{SITE}/m")
    assert section_ids(digest) == [
        ("Trending today", ["t1", "t2"]),
        ("cs.LG", ["c1", "c3"]),
        ("query: diffusion", ["c2"]),
    ]
    assert reasons(digest) == {
        "t1": ("trending",),
        "t2": ("trending",),
        "c1": ("trending", "cat:cs.LG"),
        "c3": ("cat:cs.LG",),
        "c2": ("cat:cs.LG", "query: diffusion"),
    }
    assert digest.subject == "paperfeed: 5 new papers · Friday, 20 November 2026"
    assert digest.sections[0].entries[0].url == f"{SITE}/papers/t1"
    assert (digest.unsubscribe_url, digest.manage_url, digest.site_url) == (f"{SITE}/u", f"{SITE}/m", SITE)


def test_assemble_without_trending_and_with_nothing_new() -> None:
    results = _results(trending=["t1"], lg=[], ada=["a1"])
    only_topics = assemble(sub(1, "author:Ada", trending=False), results, site=SITE, unsubscribe="u", manage="m")
    assert section_ids(only_topics) == [("author: Ada", ["a1"])]
    assert only_topics.subject.startswith("paperfeed: 1 new paper ·")
    nothing = assemble(sub(2, "cat:cs.LG", trending=False), results, site=SITE, unsubscribe="u", manage="m")
    assert (nothing.sections, paper_count(nothing), nothing.subject) == ((), 0, "paperfeed: nothing new")
    unknown = assemble(sub(3, "cat:math.AG", trending=False), results, site=SITE, unsubscribe="u", manage="m")
    assert paper_count(unknown) == 0


# --- on a store ------------------------------------------------------------------------------------------------


def test_a_day_of_topics(feed_store: Store, config: Config) -> None:
    subscriber = sub(1, "cat:CS.lg", "author:alan turing", "query:diffusion models", max_papers=20)
    [(who, digest)] = list(compose_period(feed_store, config, parse_period(FRIDAY), [subscriber]))
    assert who == subscriber
    found = dict(section_ids(digest))
    # Sections take turns: trending's best, then cs.LG's best not yet taken, then the author's, then the query's.
    # Trending holds Friday's papers only (Thursday's 50-upvote paper trended the day before).
    assert found["Trending today"] == ["2611.00001"]
    assert found["author: alan turing"] == ["2611.00003"]  # "Alan M. Turing" holds both words
    assert found["CS.lg"][0] == "2611.00002"
    assert "2611.00006" in found["query: diffusion models"]
    assert sorted(found["CS.lg"] + found["query: diffusion models"]) == [
        "2611.00002", "2611.00004", "2611.00005", "2611.00006"
    ]  # fmt: skip
    why = reasons(digest)
    assert why["2611.00001"] == ("trending", "cat:CS.lg", "author:alan turing", "query: diffusion models")
    assert why["2611.00003"] == ("trending", "author:alan turing")  # "Alan M. Turing" holds both words
    assert why["2611.00004"] == ("cat:CS.lg", "query: diffusion models")
    # Score-based modelling is close in meaning but lacks "diffusion"; Monday's and Thursday's papers are not new.
    assert {"2611.00005", "2611.00010", "2611.00011"}.isdisjoint(
        pid for pid, r in why.items() if "query: diffusion models" in r
    )
    assert {"2611.00010", "2611.00011"}.isdisjoint(why)
    assert digest.unsubscribe_url.startswith(f"{SITE}/unsubscribe?token=")
    assert digest.manage_url == f"{SITE}/settings#subscriptions"


def test_a_week_and_the_max(feed_store: Store, config: Config) -> None:
    week = parse_period("2026-W47")
    weekly = replace(sub(1, "author:Ada Lovelace", "cat:cs.CL", max_papers=3), frequency="weekly")
    [(_, digest)] = list(compose_period(feed_store, config, week, [weekly]))
    assert section_ids(digest) == [
        ("Trending this week", ["2611.00010"]),
        ("cs.CL", ["2611.00003"]),
        ("author: Ada Lovelace", ["2611.00001"]),
    ]
    assert digest.period_label == week.label
    assert reasons(digest)["2611.00010"] == ("trending", "author:Ada Lovelace")


def test_nothing_new_is_an_empty_digest(feed_store: Store, config: Config) -> None:
    lonely = sub(1, "cat:math.AG", "author:Nobody Known", "query:quantum chromodynamics", trending=False)
    [(_, digest)] = list(compose_period(feed_store, config, parse_period(FRIDAY), [lonely]))
    assert paper_count(digest) == 0
    [(_, saturday)] = list(compose_period(feed_store, config, parse_period("2026-11-21"), [sub(2, "cat:cs.LG")]))
    assert paper_count(saturday) == 0


def test_months_are_not_digest_periods(feed_store: Store, config: Config) -> None:
    with pytest.raises(BadInput) as info:
        gather(feed_store, parse_period("2026-11"), [sub()])
    assert info.value.where == "period"


def test_each_distinct_topic_is_computed_once(
    feed_store: Store, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, list[Any]] = {"search": [], "rank": [], "listing": []}

    def counting(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name].append(args[1:2])
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(compose, "search", counting("search", compose.search))
    monkeypatch.setattr(compose, "rank", counting("rank", compose.rank))
    monkeypatch.setattr(feed_store, "listing", counting("listing", feed_store.listing))
    topics = ["cat:cs.LG", "cat:cs.lg", "author:Ada Lovelace", "author:ada  lovelace", "query:diffusion models",
              "query:Diffusion Models", "query:speech", "cat:cs.CL"]  # fmt: skip
    subscribers = [sub(i, topics[i % 8], topics[(i + 3) % 8], topics[(i + 5) % 8]) for i in range(60)]
    composed = list(compose_period(feed_store, config, parse_period(FRIDAY), subscribers))
    assert len(composed) == 60 and all(paper_count(d) for _, d in composed)
    assert sorted(q.lower() for (q,) in calls["search"]) == ["diffusion models", "speech"]
    assert len(calls["rank"]) == 1
    assert len(calls["listing"]) == 1
