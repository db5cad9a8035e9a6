"""Daily Papers text pages: the four real pages bundled with the demo, and hand-made irregular ones."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

import paperfeed
from paperfeed.errors import BadInput
from paperfeed.papers import Paper, ParsedItem, content_id
from paperfeed.sources.seeds import DEFAULT_SEED_YEAR, looks_like_seed_page, parse_seed_page

SEEDS_DIR = Path(paperfeed.__file__).parent / "demo" / "seeds"
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
ABSTRACT = "An abstract long enough to be one. " * 5


def _page(name: str) -> list[ParsedItem]:
    return parse_seed_page((SEEDS_DIR / name).read_bytes(), name).items


def _papers(items: list[ParsedItem]) -> list[Paper]:
    return [p for p in items if isinstance(p, Paper)]


@pytest.mark.parametrize(
    ("name", "count", "day", "title_start"),
    [
        ("000_486a168e9da9813e.txt", 61, "2025-03-14", "Direct3D: Scalable Image-to-3D Generation via"),
        ("001_0bcb5151a6c02ef0.txt", 161, "2025-03-14", "A-SDM: Accelerating Stable Diffusion through"),
        ("002_ffcb257b28d417c8.txt", 89, "2025-03-11", "Navigating Data Heterogeneity in Federated"),
        ("003_f9f2776c37a74193.txt", 105, "2025-07-29", "SkeletonX: Data-Efficient Skeleton-based Action"),
    ],
)
def test_real_pages(name: str, count: int, day: str, title_start: str) -> None:
    items = _page(name)
    papers = _papers(items)
    assert len(items) == len(papers) == count
    assert papers[0].title.startswith(title_start)
    assert papers[0].id == content_id(papers[0].title)
    assert all(p.source == "seeds" and p.listing_days == {day: "seed"} for p in papers)
    assert all(p.abstract and "\n" not in p.title and p.id.startswith("pf-") for p in papers)


def test_all_pages_yield_368_distinct_papers_with_identical_duplicates() -> None:
    by_id: dict[str, list[Paper]] = defaultdict(list)
    entries = 0
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        for paper in _papers(parse_seed_page(path.read_bytes(), path.name).items):
            by_id[paper.id].append(paper)
            entries += 1
    assert entries == 416
    assert len(by_id) == 368
    # The 48 repeated entries are the same paper on another page: same title and abstract, another day.
    assert all(len({(p.title, p.abstract) for p in copies}) == 1 for copies in by_id.values())
    days = {d for copies in by_id.values() for p in copies for d in p.listing_days}
    assert days == {"2025-03-11", "2025-03-14", "2025-07-29"}


def test_links_and_unicode_titles() -> None:
    papers = {p.title: p for p in _papers(_page("001_0bcb5151a6c02ef0.txt"))}
    assert (
        "PanGu-$α$: Large-scale Autoregressive Pretrained Chinese Language Models with Auto-parallel Computation"
        in (papers)
    )
    with_code = [p for p in papers.values() if p.code_urls]
    assert with_code and all(url.startswith("https://") for p in with_code for url in p.code_urls)


@pytest.mark.parametrize(
    ("year", "text", "day"),
    [
        (None, HEADER + "Mar 14\n\nTitle\n\n" + ABSTRACT, f"{DEFAULT_SEED_YEAR}-03-14"),
        (2024, HEADER + "Mar 14\n\nTitle\n\n" + ABSTRACT, "2024-03-14"),
        (2024, HEADER + "Feb 29\n\nTitle\n\n" + ABSTRACT, "2024-02-29"),
        (None, HEADER + "Dec 3, 2023\n\nTitle\n\n" + ABSTRACT, "2023-12-03"),  # a year on the page wins
        (None, HEADER.replace("new", "New") + "Daily Papers\n\nSept 9\n\nTitle\n\n" + ABSTRACT, "2025-09-09"),
        (None, (HEADER + "Jul 29\n\nTitle\n\n" + ABSTRACT).replace("\n", "\r\n"), "2025-07-29"),
    ],
)
def test_page_date(year: int | None, text: str, day: str) -> None:
    [paper] = parse_seed_page(text.encode(), "p.txt", year=year).items
    assert isinstance(paper, Paper)
    assert paper.listing_days == {day: "seed"}
    assert (paper.title, paper.abstract) == ("Title", ABSTRACT.strip())


def test_irregular_blocks_become_rejections_and_pairing_resynchronises() -> None:
    text = (
        HEADER
        + "Mar 14\n\n"
        + "First\n\n"
        + ABSTRACT
        + "\n\n"
        + ("An orphaned abstract whose title went missing. " * 10)
        + "\n\nSecond\n\n"
        + ABSTRACT
        + "\n\nMar 15\n\nThird\n\n"
        + ABSTRACT
        + "\n\n\n\nA title\nwrapped on two lines\n\n"
        + ABSTRACT
        + "\n\nLast title, no abstract\n"
    )
    items = parse_seed_page(text.encode(), "p.txt").items
    summary = [(i.title, i.listing_days) if isinstance(i, Paper) else str(i) for i in items]
    assert summary == [
        ("First", {"2025-03-14": "seed"}),
        "p.txt:15: expected a title, found a 469-character paragraph",
        ("Second", {"2025-03-14": "seed"}),
        ("Third", {"2025-03-15": "seed"}),
        ("A title wrapped on two lines", {"2025-03-15": "seed"}),
        "p.txt:34: title without abstract: 'Last title, no abstract'",
    ]


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b"Hello\n\nworld\n", "p.txt:1", "not a Daily Papers page"),
        (HEADER.encode() + b"Title\n\nAbstract\n", "p.txt:9", "not a Daily Papers page"),
        (HEADER.encode(), "p.txt:7", "without a date line"),
        (b"", "p.txt:1", "without a date line"),
        (HEADER.encode() + b"Mar 14\n\nT\xe9l\xe9\n\nAbstract\n", "p.txt:11", "not UTF-8"),
    ],
)
def test_not_a_page(data: bytes, where: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as err:
        parse_seed_page(data, "p.txt")
    assert err.value.where == where


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEADER, True),
        ("\n\n  New  \n\nSubscribe", True),
        ("Daily Papers\n", True),
        ('{"id": 1}', False),
        ("Mar 14\n\nTitle", False),
        ("", False),
    ],
)
def test_looks_like_seed_page(text: str, expected: bool) -> None:
    assert looks_like_seed_page(text) is expected
