"""Paper identity, text clean-up, link finding and the merge of two sightings."""

from __future__ import annotations

from typing import Any

import pytest

from paperfeed.papers import (
    Paper,
    Rejection,
    checked,
    clean_text,
    content_hash,
    content_id,
    find_links,
    is_web_url,
    merge,
    record_problem,
    split_arxiv_id,
    split_authors,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2503.01234", ("2503.01234", None)),
        ("2503.01234v12", ("2503.01234", 12)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("arXiv:2410.17243", ("2410.17243", None)),
        ("https://arxiv.org/abs/2410.17243v3", ("2410.17243", 3)),
        ("https://arxiv.org/pdf/2410.17243v1.pdf", ("2410.17243", 1)),
        ("http://arxiv.org/abs/astro-ph/0601001v1", ("astro-ph/0601001", 1)),
        ("not an id", None),
        ("abc", None),
    ],
)
def test_split_arxiv_id(raw: str, expected: tuple[str, int | None] | None) -> None:
    assert split_arxiv_id(raw) == expected


def test_content_id_is_stable_across_case_and_punctuation() -> None:
    assert content_id("PanGu-$α$: Large Models") == content_id("pangu α   large models")
    assert content_id("A") != content_id("B")
    assert content_id("A").startswith("pf-")


def test_clean_text_unwraps_lines_and_keeps_paragraphs() -> None:
    assert (
        clean_text("  A fully differential\ncalculation is\npresented.\n")
        == "A fully differential calculation is presented."
    )
    assert clean_text("First.\n\nSecond\npara.") == "First.\n\nSecond para."


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("Igor A. Zaliznyak and John M. Tranquada", ["Igor A. Zaliznyak", "John M. Tranquada"]),
        (
            "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
            ["C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"],
        ),
        ("A. One, B. Two, and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("Martin Luther King, Jr.", ["Martin Luther King, Jr."]),
        ("", []),
    ],
)
def test_split_authors(raw: str, names: list[str]) -> None:
    assert split_authors(raw) == names


def test_find_links_separates_code_from_project_pages() -> None:
    code, project = find_links(
        "Code: https://github.com/marco-garosi/CIRCLE. Project page at https://circle-lmm.github.io/ .",
        "See https://arxiv.org/abs/1234.5678 and https://doi.org/10.1/x (https://huggingface.co/datasets/x/y)",
    )
    assert code == ["https://github.com/marco-garosi/CIRCLE", "https://huggingface.co/datasets/x/y"]
    assert project == ["https://circle-lmm.github.io/"]


def test_merge_is_idempotent_and_order_of_equal_versions_keeps_stored_text() -> None:
    a = Paper(id="1", title="Stored", abstract="x", version=1, listing_days={"2025-01-01": "new"})
    b = Paper(id="1", title="Other source", abstract="", version=1, doi="10.1/x")
    m = merge(a, b)
    assert (m.title, m.abstract, m.doi) == ("Stored", "x", "10.1/x")
    assert content_hash(merge(m, b)) == content_hash(m)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://github.com/a/b", True),
        ("HTTP://example.org", True),
        ("http://example.org/a?b=c#d", True),
        ("javascript:alert(1)", False),
        ("JavaScript://%0aalert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//evil.example/x", False),
        ("/relative/path", False),
        ("https://", False),
        ("https:///path", False),
        ("https://exa mple.org", False),
        ('https://example.org/"onmouseover="alert(1)', False),
        ("https://example.org/\nx", False),
        ("https://example.org/" + "a" * 3000, False),
        (None, False),
    ],
)
def test_only_http_urls_are_web_urls(url: object, ok: bool) -> None:
    assert is_web_url(url) is ok


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"title": "a\x00b"}, "title holds a NUL character"),
        ({"abstract": "x \ud800 y"}, "abstract is not valid Unicode"),
        ({"authors": ["Ada", "Bob\x00"]}, "authors holds a NUL character"),
        ({"signals": {"upvotes": 3, "submitted_by": ["x\x00"]}}, "signals holds a NUL character"),
        ({"listing_days": {"2026-01-01\x00": "new"}}, "listing_days holds a NUL character"),
        ({"abstract": "x" * 20_001}, "abstract longer than 20,000 characters"),
        ({"title": "x" * 2_001}, "title longer than 2,000 characters"),
        ({"comments": "x" * 10_001}, "comments longer than 10,000 characters"),
        ({"id": "1" * 101}, "id longer than 100 characters"),
        ({"authors": ["A"] * 10_001}, "more than 10,000 authors"),
        ({"authors": ["A" * 1_001]}, "one of the authors is longer than 1,000 characters"),
        ({"categories": ["cs.LG"] * 101}, "more than 100 categories"),
        ({"categories": ["x" * 2_001]}, "one of the categories is longer than 2,000 characters"),
        ({"code_urls": ["https://x.org/"] * 101}, "more than 100 code_urls"),
        ({"listing_days": {f"{i:05d}": "new" for i in range(10_001)}}, "more than 10,000 listing days"),
        ({"signals": {"k": ["x" * 2**20] * 17}}, "larger than 16 MB"),
    ],
)
def test_records_past_a_limit_or_with_unstorable_text_are_refused(changes: dict[str, Any], problem: str) -> None:
    paper = Paper(**{"id": "2501.00001", "title": "A title", "abstract": "Text.", **changes})
    found = record_problem(paper)
    assert found is not None and found.startswith(problem)
    rejected = checked(paper, "file.jsonl:7")
    assert isinstance(rejected, Rejection) and rejected.where == "file.jsonl:7" and problem in rejected.reason


def test_a_record_at_every_limit_is_taken_and_loses_only_its_bad_links() -> None:
    paper = Paper(
        id="2501.00001",
        title="t" * 2_000,
        abstract="a" * 19_960 + " \\u0000 is how JSON writes NUL",
        authors=["A" * 1_000] * 100,
        # arXiv's category field carries MSC and ACM classes; this one is real (2505.01754).
        categories=[
            "cs.AI",
            "68T09, 68T50, 68T05, 62R07, 68U15, 68T27, 68T20 68T09, 68T50, 68T05,\n  62R07, 68U15, 68T27, 68T20 "
            "68T09, 68T50, 68T05, 62R07, 68U15, 68T27, 68T20" + " 68T09" * 10,
        ],
        code_urls=["https://github.com/a/b", "javascript:alert(1)"],
        project_urls=["data:text/html,x", "http://example.org"],
        signals={"upvotes": 3, "ai_keywords": ["é", "ü"]},
    )
    assert record_problem(paper) is None
    kept = checked(paper, "x")
    assert isinstance(kept, Paper)
    assert kept.code_urls == ["https://github.com/a/b"] and kept.project_urls == ["http://example.org"]
