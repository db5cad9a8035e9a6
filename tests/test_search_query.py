"""The search box syntax: what each kind of input parses to, table-driven, and that parsing never fails."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from paperfeed.search.query import Query, parse_query

# (typed text, the Query fields that differ from an empty Query). ``text_parts`` and ``warnings`` are checked only
# when a case names them.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("   ", {}),
    ("graph neural networks", {"words": ("graph", "neural", "networks")}),
    ("Graph graph GRAPH", {"words": ("Graph", "graph", "GRAPH")}),  # repeats weigh in BM25
    ('"graph neural network"', {"phrases": ("graph neural network",)}),
    ("“graph neural network”", {"phrases": ("graph neural network",)}),
    ('"graph   neural\tnetwork"', {"phrases": ("graph neural network",)}),
    (
        'molecules "graph neural network" design',
        {
            "words": ("molecules", "design"),
            "phrases": ("graph neural network",),
            "text_parts": ("molecules", "graph neural network", "design"),
        },
    ),
    ('molecules "graph neural', {"words": ("molecules",), "phrases": ("graph neural",)}),
    ('"', {}),
    ('""', {}),
    ('don"t panic', {"words": ("dont", "panic")}),
    ("-survey diffusion", {"words": ("diffusion",), "exclude_words": ("survey",)}),
    ('agents -"large language models"', {"words": ("agents",), "exclude_phrases": ("large language models",)}),
    ('-"unclosed exclusion', {"exclude_phrases": ("unclosed exclusion",)}),
    ("state-of-the-art k-means", {"words": ("state-of-the-art", "k-means")}),
    ("- diffusion --", {"words": ("diffusion",)}),
    ("& diffusion", {"words": ("diffusion",)}),
    ("author:hinton", {"authors": ("hinton",)}),
    ('author:"Geoffrey Hinton"', {"authors": ("Geoffrey Hinton",)}),
    ('author:"Geoffrey Hinton', {"authors": ("Geoffrey Hinton",)}),
    ("au:Bengio AUTHOR:lecun", {"authors": ("Bengio", "lecun")}),
    ("author:Geoffrey Hinton", {"authors": ("Geoffrey",), "words": ("Hinton",)}),
    ("-author:smith rl", {"words": ("rl",), "exclude_authors": ("smith",)}),
    ("cat:cs.LG", {"categories": ("cs.LG",)}),
    ("cat:cs.LG cat:stat.ML", {"categories": ("cs.LG", "stat.ML")}),
    ("cat:cs.LG,cs.CL", {"categories": ("cs.LG", "cs.CL")}),
    ("category:hep-th", {"categories": ("hep-th",)}),
    ("cat:cs", {"categories": ("cs",)}),
    ("cat:cs.LG cat:CS.lg", {"categories": ("cs.LG",)}),
    ("-cat:cs.CV diffusion", {"words": ("diffusion",), "exclude_categories": ("cs.CV",)}),
    ("cat:12", {"words": ("12",), "warnings": ("cat:12: not an arXiv category, searched as words",)}),
    ("title:diffusion", {"title_terms": ("diffusion",)}),
    ('ti:"diffusion models" sampling', {"title_terms": ("diffusion models",), "words": ("sampling",)}),
    ("-title:survey", {"exclude_words": ("survey",)}),
    ("year:2025", {"date_from": "2025-01-01", "date_to": "2025-12-31"}),
    ("year:2023..2025", {"date_from": "2023-01-01", "date_to": "2025-12-31"}),
    ("year:2025..2023", {"date_from": "2023-01-01", "date_to": "2025-12-31"}),
    ("year:2023-2025", {"date_from": "2023-01-01", "date_to": "2025-12-31"}),
    ("year:2023..", {"date_from": "2023-01-01"}),
    ("year:..2024", {"date_to": "2024-12-31"}),
    ("after:2025-03-01", {"date_from": "2025-03-01"}),
    ("before:2025-06-30", {"date_to": "2025-06-30"}),
    ("after:2025-03-01 before:2025-06-30", {"date_from": "2025-03-01", "date_to": "2025-06-30"}),
    ("after:2025-02", {"date_from": "2025-02-01"}),
    ("before:2024-02", {"date_to": "2024-02-29"}),
    ("before:2025", {"date_to": "2025-12-31"}),
    ("after:2025-3-7", {"date_from": "2025-03-07"}),
    ("year:2024 after:2024-06-01", {"date_from": "2024-06-01", "date_to": "2024-12-31"}),
    (
        "year:abc",
        {"words": ("year:abc",), "warnings": ("year:abc: not a valid year, searched as words",)},
    ),
    (
        "after:2025-02-30",
        {"words": ("after:2025-02-30",), "warnings": ("after:2025-02-30: not a valid after, searched as words",)},
    ),
    ("-year:2025 rl", {"words": ("rl",), "warnings": ("-year:2025: a date filter cannot be negated and was ignored",)}),
    ("Title: A study", {"words": ("A", "study"), "warnings": ("title: has no value and was ignored",)}),
    ("foo:bar", {"words": ("foo:bar",)}),
    ("http://example.com/x", {"words": ("http://example.com/x",)}),
    ("cat:cs.CL year:2025", {"categories": ("cs.CL",), "date_from": "2025-01-01", "date_to": "2025-12-31"}),
    (
        '"graph neural network" -survey -"large language" author:"Geoffrey Hinton" cat:cs.LG cat:stat.ML '
        "title:molecule year:2023..2025 drug",
        {
            "words": ("drug",),
            "phrases": ("graph neural network",),
            "exclude_words": ("survey",),
            "exclude_phrases": ("large language",),
            "authors": ("Geoffrey Hinton",),
            "categories": ("cs.LG", "stat.ML"),
            "title_terms": ("molecule",),
            "date_from": "2023-01-01",
            "date_to": "2025-12-31",
            "text_parts": ("graph neural network", "drug"),
        },
    ),
    # An arXiv id or URL as the whole query is a lookup, nothing else.
    ("2503.01234", {"paper_id": "2503.01234"}),
    (" 2503.01234 ", {"paper_id": "2503.01234"}),
    ("2503.01234v2", {"paper_id": "2503.01234", "version": 2}),
    ("0704.0001", {"paper_id": "0704.0001"}),
    ("arXiv:2503.01234", {"paper_id": "2503.01234"}),
    ("arxiv:2503.01234v3", {"paper_id": "2503.01234", "version": 3}),
    ("arXiv: 2503.01234", {"paper_id": "2503.01234"}),
    ("https://arxiv.org/abs/2503.01234", {"paper_id": "2503.01234"}),
    ("https://arxiv.org/abs/2503.01234v2", {"paper_id": "2503.01234", "version": 2}),
    ("http://arxiv.org/pdf/2503.01234v1.pdf", {"paper_id": "2503.01234", "version": 1}),
    ("https://export.arxiv.org/abs/2503.01234", {"paper_id": "2503.01234"}),
    ("https://arxiv.org/html/2503.01234v1", {"paper_id": "2503.01234", "version": 1}),
    ("https://arxiv.org/pdf/hep-th/9901001v1", {"paper_id": "hep-th/9901001", "version": 1}),
    ("hep-th/9901001", {"paper_id": "hep-th/9901001"}),
    ("math.GT/0309136", {"paper_id": "math.GT/0309136"}),
    ("https://huggingface.co/papers/2503.01234", {"paper_id": "2503.01234"}),
    # … but an id among other words, or things that only look numeric, are words.
    ("2503.01234 transformers", {"words": ("2503.01234", "transformers")}),
    ("arXiv", {"words": ("arXiv",)}),
    ("2025", {"words": ("2025",)}),
    ("3.14159", {"words": ("3.14159",)}),
    ("https://example.com/2503.01234", {"words": ("https://example.com/2503.01234",)}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_parse(text: str, expected: dict[str, Any]) -> None:
    got = parse_query(text)
    assert got.raw == text
    ignore = {k: () for k in ("text_parts", "warnings") if k not in expected}
    assert dataclasses.replace(got, **ignore) == Query(raw=text, **expected)


@pytest.mark.parametrize(
    ("text", "dense"),
    [
        ("graph neural networks", "graph neural networks"),
        ('"graph neural network" for molecules', "graph neural network for molecules"),
        ("diffusion cat:cs.CV -survey author:ho year:2024", "diffusion"),
        ('Transformers "in-context learning"', "Transformers in-context learning"),
        ("cat:cs.CL year:2025", ""),
        ("2503.01234", ""),
    ],
)
def test_text_for_dense(text: str, dense: str) -> None:
    assert parse_query(text).text_for_dense == dense


@pytest.mark.parametrize(
    ("text", "is_empty", "has_text", "has_filters"),
    [
        ("", True, False, False),
        ('"" - --', True, False, False),
        ("diffusion", False, True, False),
        ('"diffusion model"', False, True, False),
        ("cat:cs.CL year:2025", False, False, True),
        ("author:hinton", False, False, True),
        ("-survey", False, False, True),
        ("-cat:cs.CV", False, False, True),
        ("after:2025-01-01", False, False, True),
        ("diffusion cat:cs.CV", False, True, True),
        ("2503.01234", False, False, False),
    ],
)
def test_predicates(text: str, is_empty: bool, has_text: bool, has_filters: bool) -> None:
    q = parse_query(text)
    assert (q.is_empty, q.has_text, q.has_filters) == (is_empty, has_text, has_filters)


def test_never_raises_on_noise() -> None:
    rng = random.Random(1)
    alphabet = ['"', "“", "-", ":", " ", "\t", ".", ",", "a", "Z", "0", "9", "é", "author", "cat", "year", "..", "/"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        q = parse_query(text)
        assert q.raw == text
        assert all(part.strip() for part in (*q.words, *q.phrases, *q.authors, *q.categories, *q.title_terms))
        if q.date_from and q.date_to:
            assert len(q.date_from) == len(q.date_to) == 10
