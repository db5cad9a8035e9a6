"""Paper identity, text clean-up, link finding and the merge of two sightings."""

from __future__ import annotations

import pytest

from paperfeed.papers import (
    Paper,
    clean_text,
    content_hash,
    content_id,
    find_links,
    merge,
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
