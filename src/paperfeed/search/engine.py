"""The one search function (and similar papers) that the CLI, API, pages, digests and benchmarks all call.

``search(store, query, limit)`` parses the query syntax, asks the keyword index (BM25) and the dense index
(semantic) for their top ``DEPTH`` candidates under the same filters, fuses the two rankings and optionally prefers
recent papers (``fusion.py`` holds how, and the weights), and returns the page of hits with the matched words
highlighted. An arXiv id or URL as the whole query goes straight to that paper. Constraints the dense side cannot
see (phrases, exclusions, authors, title terms) are enforced on its candidates through the keyword index, so every
hit satisfies the whole query. The store's indexes are the ones ``registry.py`` associates with it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import numpy as np

from paperfeed.errors import BadInput, NotFound
from paperfeed.papers import Paper, normalise_title
from paperfeed.search import fusion, rerank
from paperfeed.search.dense import Vector
from paperfeed.search.embed import embed_cached
from paperfeed.search.fusion import DENSE_FLOOR, QUERY_FLOOR, fuse, fuse_similar, newest_first, prefer_recent
from paperfeed.search.indexes import SearchIndexes, indexes_for
from paperfeed.search.query import Query, parse_query
from paperfeed.store import Store

Mode = Literal["hybrid", "keyword", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "dense")
SORTS = ("relevance", "published")  # published: the matches (the best ``depth`` of them) newest first
DEPTH = 300  # candidates taken from each side before fusion (the normalisation is over these)
SIMILAR_DEPTH = 100  # neighbours taken from each side of similar papers before fusion
# No search serves results past the 1000th (GitHub's search stops there too): the index's top-k allocates memory in
# proportion to offset + limit, so an unbounded page lets one request exhaust the machine, and nobody reads that far.
MAX_DEPTH = 1000
# The longest query taken (a title and a few filters fit many times over): every door's searches come through here,
# so a feed or the API cannot skip the cap the search page has.
MAX_QUERY = 500
# Test collections' queries are paragraphs (CISI's reach 2,023 characters); evaluation asks for this bound instead.
EVALUATION_MAX_QUERY = 10_000


@dataclass
class Hit:
    paper: Paper
    score: float
    keyword_rank: int | None = None
    dense_rank: int | None = None
    title_html: str = ""
    abstract_html: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "authors": self.paper.authors,
            "categories": self.paper.categories,
            "announced": self.paper.announced,
            "score": round(self.score, 6),
            "keyword_rank": self.keyword_rank,
            "dense_rank": self.dense_rank,
            "title_html": self.title_html,
            "abstract_html": self.abstract_html,
        }


@dataclass
class SearchResults:
    query: Query
    mode: Mode
    hits: list[Hit]
    total: int  # matches: keyword matches and semantic neighbours above the floor (see ``exact``)
    offset: int
    took_ms: float
    notes: list[str] = field(default_factory=list)
    exact: bool = True  # False: more keyword matches than were fetched, so ``total`` is a lower bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.raw,
            "mode": self.mode,
            "total": self.total,
            "total_exact": self.exact,
            "offset": self.offset,
            "took_ms": round(self.took_ms, 2),
            "notes": self.notes,
            "hits": [h.to_dict() for h in self.hits],
        }


def search(
    store: Store,
    query: str,
    limit: int = 20,
    *,
    offset: int = 0,
    mode: Mode = "hybrid",
    categories: Sequence[str] = (),
    authors: Sequence[str] = (),
    date_from: str | None = None,
    date_to: str | None = None,
    recency: float = 0.0,
    highlight: bool = True,
    snippet: int | None = None,
    depth: int = DEPTH,
    sort: str = "relevance",
    max_query: int = MAX_QUERY,
    dense_floor: float = DENSE_FLOOR,
    query_floor: float = QUERY_FLOOR,
) -> SearchResults:
    """Search the store. Filters given as arguments add to those typed in the query (``cat:``, ``author:``, …);
    ``snippet`` cuts highlighted abstracts to about that many characters around the first match; ``sort``
    "published" orders the matches newest first (semantic search finds neighbours of anything, so "the matches"
    are the best ``depth``, as ranked by relevance). Semantic neighbours below ``dense_floor`` (cosine) are no match,
    and none are when the nearest is below ``query_floor``, so a query about nothing in the store finds nothing
    (``fusion.DENSE_FLOOR`` / ``QUERY_FLOOR``; benchmarks vary them). ``max_query`` is for evaluation runs only:
    every door keeps the default."""
    started = time.perf_counter()
    if len(query) > max_query:
        raise BadInput(f"the query is longer than {max_query} characters", "q")
    if sort not in SORTS:
        raise BadInput(f"sort must be one of {', '.join(SORTS)}", "sort")
    if mode not in MODES:
        raise BadInput(f"mode must be one of {', '.join(MODES)}", "mode")
    if limit < 1 or offset < 0:
        raise BadInput("limit must be at least 1 and offset at least 0", "limit")
    if offset + limit > MAX_DEPTH:
        raise BadInput(f"search shows at most the first {MAX_DEPTH} results; ask for an earlier page", "offset")
    q = parse_query(query)
    q = replace(
        q,
        categories=(*q.categories, *categories),
        authors=(*q.authors, *authors),
        date_from=max(filter(None, (q.date_from, date_from)), default=None),
        date_to=min(filter(None, (q.date_to, date_to)), default=None),
    )
    indexes = indexes_for(store)
    notes: list[str] = list(q.warnings)
    if q.paper_id:
        found = store.get_papers([q.paper_id]).get(q.paper_id)
        hits = [Hit(found, 1.0, title_html=_esc(found.title), abstract_html=_esc(found.abstract))] if found else []
        if not found:
            notes.append(f"arXiv:{q.paper_id} is not in this paperfeed yet")
        return SearchResults(q, mode, hits, len(hits), 0, _ms(started), notes)
    if q.is_empty:
        return SearchResults(q, mode, [], 0, offset, _ms(started), notes)

    depth = min(max(depth, offset + limit), MAX_DEPTH)
    first = first_stage(store, q, depth, mode, dense_floor=dense_floor, query_floor=query_floor)
    keyword, dense, fused = first.keyword, first.dense, first.fused
    if mode == "hybrid" and rerank.DEPTH > 0 and fused:
        fused = rerank.rerank(fused, second_stage_features(store, first, rerank.DEPTH))
    total, exact = len(fused), True
    if len(keyword) >= depth:  # cut: the index counts all its matches (the union with the dense side is at least that)
        total, exact = max(total, indexes.keyword.count(q)), False
    if recency > 0 and fused:
        fused = prefer_recent(fused, _days(store, [pid for pid, _ in fused]), recency, date.today())
    if sort == "published" and fused:
        fused = newest_first(fused, _days(store, [pid for pid, _ in fused]))
    page = fused[offset : offset + limit]
    papers = store.get_papers([pid for pid, _ in page])
    kw_rank = {pid: i + 1 for i, (pid, _) in enumerate(keyword)}
    dn_rank = {pid: i + 1 for i, (pid, _) in enumerate(dense)}
    hits = []
    for pid, score in page:
        paper = papers.get(pid)
        if paper is None:  # deleted since the index saw it
            continue
        hit = Hit(paper, score, kw_rank.get(pid), dn_rank.get(pid))
        if highlight:
            hit.title_html = indexes.keyword.highlight(paper.title, q)
            hit.abstract_html = indexes.keyword.highlight(paper.abstract, q, snippet=snippet)
        hits.append(hit)
    return SearchResults(q, mode, hits, total, offset, _ms(started), notes, exact)


@dataclass
class FirstStage:
    """What the first stage of a search found: each side's candidates (best first), their fusion, and the query's
    vector (None when the dense side did not run)."""

    query: Query
    keyword: list[tuple[str, float]]
    dense: list[tuple[str, float]]
    fused: list[tuple[str, float]]
    vector: Vector | None


def first_stage(
    store: Store,
    q: Query,
    depth: int,
    mode: Mode = "hybrid",
    *,
    dense_floor: float = DENSE_FLOOR,
    query_floor: float = QUERY_FLOOR,
) -> FirstStage:
    """Each side's top ``depth`` for a parsed query with text or filters, fused (with the dense side's feedback
    when ``fusion.FEEDBACK_DOCS`` is on)."""
    indexes = indexes_for(store)
    indexes.catch_up_keyword()
    keyword: list[tuple[str, float]] = []
    if mode != "dense" or not q.has_text:
        keyword = [(h.paper_id, h.score) for h in indexes.keyword.search(q, depth)]
    dense: list[tuple[str, float]] = []
    vector: Vector | None = None
    if mode != "keyword" and q.has_text:
        vector = embed_cached(indexes.embedder, indexes.cache, [q.text_for_dense])[0]
        first = _dense_candidates(store, indexes, q, depth, vector)
        # The gate reads the query's own nearest neighbour, before feedback moves the vector (as calibrated).
        about_something = max((score for _, score in first), default=-1.0) >= query_floor
        dense = _above(first, dense_floor) if about_something else []
    fused = fuse(keyword, dense)
    if mode == "hybrid" and dense and vector is not None and fusion.FEEDBACK_DOCS > 0:
        moved = _feedback(store, indexes, vector, [pid for pid, _ in fused[: fusion.FEEDBACK_DOCS]])
        if moved is not None:
            dense = _above(_dense_candidates(store, indexes, q, depth, moved), dense_floor)
            fused = fuse(keyword, dense)
    return FirstStage(q, keyword, dense, fused, vector)


def second_stage_features(store: Store, first: FirstStage, depth: int) -> rerank.Features:
    """The re-ranker's features (``rerank.FEATURES``) of the ``depth`` best fused papers, in fused order."""
    indexes = indexes_for(store)
    head = first.fused[:depth]
    ids = [pid for pid, _ in head]
    papers = store.get_papers(ids)
    pks = store.pks_for_ids(ids)
    vectors, found = indexes.dense.vectors_of([pks.get(pid, -1) for pid in ids])
    kw = dict(first.keyword)
    kw_rank = {pid: i + 1 for i, (pid, _) in enumerate(first.keyword)}
    dn_rank = {pid: i + 1 for i, (pid, _) in enumerate(first.dense)}
    keyword = indexes.keyword
    titles, texts = [], []
    for pid in ids:
        paper = papers.get(pid)
        title = keyword.tokens(paper.title) if paper else []
        titles.append(title)
        texts.append(title + keyword.tokens(paper.abstract) if paper else [])
    query = keyword.tokens(first.query.text_for_dense)
    candidates = rerank.Candidates(
        ids,
        [score for _, score in head],
        [kw.get(pid) for pid in ids],
        [kw_rank.get(pid) for pid in ids],
        [dn_rank.get(pid) for pid in ids],
        titles,
        texts,
        vectors,
        found,
    )
    return rerank.features(query, keyword.idf(query), first.vector, candidates)


def _above(scored: list[tuple[str, float]], floor: float) -> list[tuple[str, float]]:
    """The semantic neighbours that count as matches (``fusion.DENSE_FLOOR``)."""
    return [(pid, score) for pid, score in scored if score >= floor]


def _feedback(store: Store, indexes: SearchIndexes, vector: Vector, top: list[str]) -> Vector | None:
    """The query vector moved towards the stored vectors of the best fused hits (Rocchio pseudo-relevance
    feedback, ``fusion.FEEDBACK_WEIGHT``), or None when none of them has a vector."""
    vectors, found = indexes.dense.vectors_of(list(store.pks_for_ids(top).values()))
    if not found.any():
        return None
    moved = vector + fusion.FEEDBACK_WEIGHT * vectors[found].mean(axis=0)
    norm = float(np.linalg.norm(moved))
    return (moved / norm).astype(np.float32) if norm > 0 else None


def _dense_candidates(
    store: Store, indexes: SearchIndexes, q: Query, depth: int, vector: Vector
) -> list[tuple[str, float]]:
    constrained = bool(q.phrases or q.exclude_words or q.exclude_phrases or q.authors or q.exclude_authors
                       or q.title_terms or q.exclude_categories)  # fmt: skip
    oversample = depth * 4 if constrained else depth
    scored = indexes.dense.nearest(
        vector, oversample, categories=q.categories, date_from=q.date_from, date_to=q.date_to
    )
    ids_by_pk = store.ids_for_pks([pk for pk, _ in scored])
    found = [(ids_by_pk[pk], score) for pk, score in scored if pk in ids_by_pk]
    if constrained:
        # The dense side cannot see phrases, exclusions or author filters: keep only papers the keyword index
        # confirms satisfy them (the same query without its free words).
        constraint = replace(q, words=(), text_parts=())
        ok = indexes.keyword.filter_ids(constraint, [pid for pid, _ in found])
        found = [(pid, score) for pid, score in found if pid in ok]
    return found[:depth]


def _days(store: Store, ids: list[str]) -> dict[str, str | None]:
    pks = store.pks_for_ids(ids)
    days = store.days_for_pks(list(pks.values()))
    return {pid: days.get(pk) for pid, pk in pks.items()}


# -- similar papers --------------------------------------------------------------------------------------------


def similar(store: Store, paper_id: str, limit: int = 10, *, recent_days: int | None = None) -> list[Hit]:
    """Papers like ``paper_id``, best first, without the paper itself or other versions of it.

    Two neighbour lists fused as search fuses (``fusion.fuse_similar``): nearest by the paper's stored vector, and
    BM25 of its most distinctive words ("more like this", ``KeywordIndex.like_text``). Never embeds (embedding is
    the index job's, not a page's): a paper the dense index has no vector for yet gets the keyword list alone."""
    _check_neighbours(limit, recent_days)
    paper = store.get_papers([paper_id]).get(paper_id)
    if paper is None:
        raise NotFound(f"no paper with id {paper_id!r}")
    indexes = indexes_for(store)
    depth = max(SIMILAR_DEPTH, limit + 10)
    indexes.catch_up_keyword()
    keyword = [
        (h.paper_id, h.score)
        for h in indexes.keyword.like_text(
            paper.title, paper.abstract, depth, exclude_id=paper_id, date_from=_since(recent_days)
        )
    ]
    pk = store.pks_for_ids([paper_id]).get(paper_id)
    vector = indexes.dense.vector_of(pk) if pk is not None else None
    dense: list[tuple[str, float]] = []
    if vector is not None:
        scored = indexes.dense.nearest(vector, depth, date_from=_since(recent_days))
        ids_by_pk = store.ids_for_pks([p for p, _ in scored])
        dense = [(ids_by_pk[p], score) for p, score in scored if p in ids_by_pk and ids_by_pk[p] != paper_id]
    fused = fuse_similar(keyword, dense)
    same = normalise_title(paper.title)
    kw_rank = {pid: i + 1 for i, (pid, _) in enumerate(keyword)}
    dn_rank = {pid: i + 1 for i, (pid, _) in enumerate(dense)}
    # Other versions of the paper (the same title) are not "similar": over-fetch a little, then drop them.
    candidates = fused[: limit + 10]
    papers = store.get_papers([pid for pid, _ in candidates])
    hits = [
        Hit(papers[pid], score, kw_rank.get(pid), dn_rank.get(pid), title_html=_esc(papers[pid].title))
        for pid, score in candidates
        if pid in papers and pid != paper_id and normalise_title(papers[pid].title) != same
    ]
    return hits[:limit]


def similar_to_text(store: Store, text: str, limit: int = 10, *, recent_days: int | None = None) -> list[Hit]:
    """Papers like a pasted abstract or draft."""
    _check_neighbours(limit, recent_days)
    if not text.strip():
        raise BadInput("empty text", "text")
    indexes = indexes_for(store)
    vector = embed_cached(indexes.embedder, indexes.cache, [text])[0]
    return _nearest(store, indexes, vector, limit, recent_days)


def _check_neighbours(limit: int, recent_days: int | None) -> None:
    if not 1 <= limit <= MAX_DEPTH:
        raise BadInput(f"limit must be between 1 and {MAX_DEPTH}", "limit")
    if recent_days is not None and not 0 <= recent_days <= 36_500:  # a century; further back overflows dates
        raise BadInput("recent days must be between 0 and 36500", "recent_days")


def _nearest(store: Store, indexes: SearchIndexes, vector: Vector, k: int, recent_days: int | None) -> list[Hit]:
    scored = indexes.dense.nearest(vector, k, date_from=_since(recent_days))
    ids_by_pk = store.ids_for_pks([pk for pk, _ in scored])
    papers = store.get_papers(ids_by_pk.values())
    return [
        Hit(papers[ids_by_pk[pk]], score, title_html=_esc(papers[ids_by_pk[pk]].title))
        for pk, score in scored
        if pk in ids_by_pk and ids_by_pk[pk] in papers
    ]


def _since(recent_days: int | None) -> str | None:
    return date.fromordinal(date.today().toordinal() - recent_days).isoformat() if recent_days else None


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
