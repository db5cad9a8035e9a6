"""Search on the site and the APIs answers honestly: a query about nothing in the store says "No results" with the
query syntax to try instead (the page), an empty list (the HF-compatible API) and a zero total (paperfeed's API);
counts are of matches. The small corpus is test_web's."""

from __future__ import annotations

import re

import test_web
from web_support import Site, listed

library = test_web.library  # the small corpus fixture, used as it is


def test_a_query_about_nothing_says_no_results_and_how_to_search(library: Site) -> None:
    page = library.browser().get("/search", params={"q": "qwxzv blorft"})
    assert listed(page) == []
    assert 'class="count">No results ·' in page.text and not re.search(r"\d+ results?\b", page.text)
    assert "No papers match <strong>qwxzv blorft</strong>" in page.text
    assert "What to try" in page.text and "cat:cs.LG" in page.text and "year:2024..2025" in page.text
    assert 'class="search-help"' in page.text


def test_the_search_page_before_a_search_shows_the_syntax(library: Site) -> None:
    page = library.browser().get("/search")
    assert "How to search" in page.text and "cat:cs.LG" in page.text and "No papers match" not in page.text


def test_the_count_is_of_the_papers_that_match(library: Site) -> None:
    page = library.browser().get("/search", params={"q": "graph neural networks"})
    found = listed(page)
    assert found and f"{len(found)} result" in page.text  # every match fits on one page: the count is all of them
    data = library.browser().get("/api/search", params={"q": "graph neural networks"}).json()
    assert data["total"] == len(data["papers"]) == len(found) and data["total_exact"] is True


def test_the_apis_find_nothing_for_nothing(library: Site) -> None:
    client = library.browser()
    assert client.get("/api/papers/search", params={"q": "qwxzv blorft"}).json() == []
    own = client.get("/api/search", params={"q": "qwxzv blorft"}).json()
    assert (own["total"], own["papers"]) == (0, [])
    assert (
        client.get("/search", params={"q": "qwxzv blorft"}, headers={"Accept": "application/json"}).json()["total"] == 0
    )
    assert client.get("/api/papers/search", params={"q": "graph neural networks"}).json()  # a real query still finds
