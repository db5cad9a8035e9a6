"""The keyword (BM25) index: tantivy over title, abstract, authors, categories and day, and query highlighting.

Why tantivy: an embedded Lucene-like engine with block-max WAND top-k pruning answers free-text queries over a
million abstracts in milliseconds with no server to run. The index is derived data: the store is the truth, the
caller feeds ``upsert`` / ``delete`` and remembers how far it got with ``set_meta``; a directory built by an older
schema is wiped and starts empty (so ``get_meta`` is empty again and the caller re-feeds it).

Ranking: free words are OR-ed, each scored in title (x2.5), abstract and authors; papers holding every word come
first (see ``_all_words_first``), stopwords are left out of free words (not of phrases). Phrases, author, title,
category and date filters and exclusions restrict without changing scores; a query with filters only lists its
matches newest first.

One writer at a time (this process's lock, then tantivy's writer lock across processes, each waited for at most
``lock_timeout``, held only for one commit: ``upsert`` / ``delete`` or a ``writing()`` block); readers never take
either lock and search the last commit, and ``search`` notices another instance's commits by watching tantivy's
``meta.json``.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from paperfeed.errors import StoreError
from paperfeed.papers import Paper
from paperfeed.search.query import Query

SCHEMA_VERSION = 2
META_FILE = "paperfeed-meta.json"
_SCHEMA_KEY = "_schema_version"
# BM25 weights per field for free words. "text" is title + abstract, scored as one field like single-field BM25: on
# the dev collections a large extra title weight (0.5 to 2.5) lowered nDCG@10 (docs/benchmarks.md); a small one
# only breaks ties in favour of papers whose title holds the words.
TEXT_BOOST = 1.0
TITLE_BOOST = 0.1
AUTHORS_BOOST = 1.0
# Papers matching every free word come first, then the rest by BM25 (see ``_all_words_first``), for queries of
# 2 to ALL_WORDS_MAX words (stopwords aside). Longer ones (a pasted title) use plain BM25 over OR: hardly any paper
# holds all their words, and at 1M papers the extra pass cost 10 ms at p50 for no better title@1.
ALL_WORDS_FIRST = True
ALL_WORDS_MAX = 6
_TEXT_FIELDS = ("text", "title", "authors")


def _field_boosts() -> tuple[tuple[str, float], ...]:
    """The ranked fields with their boosts, read when a query is built (benchmarks vary the boosts)."""
    return (("text", TEXT_BOOST), ("title", TITLE_BOOST), ("authors", AUTHORS_BOOST))


# "More like this" (``like_text``, the keyword side of similar papers): how many of a paper's most distinctive words
# make its query, and how many times a title word counts. Chosen once on the similar-paper benchmarks
# (docs/benchmarks.md, "Similar papers").
LIKE_TERMS = 25
LIKE_TITLE_TF = 2.0


# Free words too common to rank by or to be worth a <mark> ("for", "of", "the" are in nearly every abstract, and
# their long posting lists made 10-word title queries several times slower); inside a quoted phrase they count.
_STOPWORD_TEXT = (
    "a an and are as at be but by can for from has have if in into is it its no not of on or our over such that "
    "the their then there these they this to under via was we were what when which while will with within without"
)


class TextAnalyzers:
    """The two analysers the index uses, shared by indexing, query building and highlighting so all three agree.

    Text is split on non-alphanumerics, lowercased and ASCII-folded ("Schölkopf" matches "scholkopf"); titles and
    abstracts are also English-stemmed ("networks" matches "network"), names are not.
    """

    STEMMED = "pf_en"
    NAMES = "pf_name"

    def __init__(self) -> None:
        def base() -> tantivy.TextAnalyzerBuilder:
            return (
                tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                .filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase())
                .filter(tantivy.Filter.ascii_fold())
            )

        self.stemmed = base().filter(tantivy.Filter.stemmer("english")).build()
        self.names = base().build()
        self.stopwords = frozenset(t for word in _STOPWORD_TEXT.split() for t in self.stemmed.analyze(word))

    def register(self, index: tantivy.Index) -> None:
        # Custom analysers are not stored in the index: every opener must register them before use.
        index.register_tokenizer(self.STEMMED, self.stemmed)
        index.register_tokenizer(self.NAMES, self.names)

    def for_field(self, fname: str) -> tantivy.TextAnalyzer:
        return self.names if fname == "authors" else self.stemmed


class IndexBusy(StoreError):
    """Another process holds the keyword index's writer lock for longer than we were willing to wait."""


@dataclass(frozen=True)
class KeywordDoc:
    """What the keyword index knows of a paper. ``day`` is the ISO day date filters and listings sort by."""

    paper_id: str
    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    day: str | None = None

    @classmethod
    def from_paper(cls, paper: Paper) -> KeywordDoc:
        """The announcement day (else the first listing day, else submitted / updated) is the paper's day."""
        day = paper.announced or min(paper.listing_days, default=None) or paper.submitted or paper.updated
        return cls(paper.id, paper.title, paper.abstract, list(paper.authors), list(paper.categories), day)


@dataclass(frozen=True)
class KeywordHit:
    """One result; ``rank`` counts from 1. ``score`` is BM25 and falls with rank (papers missing a word are scaled
    below those holding every word); 0.0 for filter-only listings, which come newest first."""

    paper_id: str
    score: float
    rank: int


class KeywordWriter:
    """The changes of one commit, made while ``KeywordIndex.writing`` holds the writer."""

    def __init__(self, index: KeywordIndex, writer: tantivy.IndexWriter, *, empty: bool) -> None:
        self._index = index
        self._writer = writer
        self._empty = empty  # deleting by term costs a lookup per segment at commit: skip it while building from empty
        self._seen: set[str] = set()
        self.changed = False
        self.meta: dict[str, Any] = {}

    def upsert(self, docs: Iterable[KeywordDoc]) -> int:
        """Add or replace papers by id; returns how many documents were written."""
        written = 0
        for doc in docs:
            if not self._empty or doc.paper_id in self._seen:
                self._writer.delete_documents_by_term("paper_id", doc.paper_id)
            if self._empty:
                self._seen.add(doc.paper_id)
            self._writer.add_document(self._index._document(doc))
            written += 1
        self.changed = self.changed or written > 0
        return written

    def delete(self, ids: Iterable[str]) -> None:
        for paper_id in ids:
            self._writer.delete_documents_by_term("paper_id", paper_id)
            self.changed = True

    def clear(self) -> None:
        self._writer.delete_all_documents()
        self._empty, self.changed = True, True
        self._seen.clear()

    def get_meta(self, key: str) -> Any:
        return self.meta[key] if key in self.meta else self._index.get_meta(key)

    def set_meta(self, key: str, value: Any) -> None:
        """Set a meta value right after this commit (so it never runs ahead of the documents it describes)."""
        if key == _SCHEMA_KEY:
            raise ValueError(f"{key} is reserved")
        self.meta[key] = value


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("paper_id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title", tokenizer_name=TextAnalyzers.STEMMED)
    # Title and abstract as one field (two values: a phrase cannot span them), so BM25 sees one document length
    # and one term frequency per paper, as single-field BM25 does; the title field adds its extra weight on top.
    sb.add_text_field("text", tokenizer_name=TextAnalyzers.STEMMED)
    # Names are not stemmed ("Jones" is not "jone"); each name is its own value, so a phrase cannot span two names.
    sb.add_text_field("authors", tokenizer_name=TextAnalyzers.NAMES)
    # Categories lowercased, plus their archive ("cs.LG" → "cs.lg", "cs") so that cat:cs means any cs.* paper.
    sb.add_text_field("categories", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", indexed=True, fast=True)
    return sb.build()


class KeywordIndex:
    """A BM25 index over papers, on disk (``open``) or in memory (``in_memory``, for tests)."""

    def __init__(self, index: tantivy.Index, path: Path | None, writer_heap: int = 128_000_000) -> None:
        self._index = index
        self._path = path
        self._writer_heap = writer_heap
        self._analyzers = TextAnalyzers()
        self._analyzers.register(index)
        self._schema = index.schema
        index.config_reader("manual")
        self._seen_meta: tuple[int, int, int] | None = None
        self._write_lock = threading.Lock()
        self._memory_meta: dict[str, Any] = {}
        self._refresh()

    @classmethod
    def open(cls, path: Path, *, writer_heap: int = 128_000_000) -> KeywordIndex:
        """Open the index in ``path``, creating it (and the directory) when missing."""
        path.mkdir(parents=True, exist_ok=True)
        if tantivy.Index.exists(str(path)) and _read_meta(path).get(_SCHEMA_KEY) != SCHEMA_VERSION:
            _wipe(path)
        fresh = not tantivy.Index.exists(str(path))
        index = tantivy.Index(_schema(), path=str(path), reuse=True)
        if fresh:
            _write_meta(path, {_SCHEMA_KEY: SCHEMA_VERSION})
        return cls(index, path, writer_heap)

    @classmethod
    def in_memory(cls) -> KeywordIndex:
        return cls(tantivy.Index(_schema()), None)

    @property
    def path(self) -> Path | None:
        return self._path

    # -- writing ------------------------------------------------------------------------------------------------

    def upsert(self, docs: Iterable[KeywordDoc], *, lock_timeout: float = 30.0) -> int:
        """Add or replace papers by id, all in one commit; returns how many documents were written."""
        with self.writing(lock_timeout=lock_timeout) as batch:
            return batch.upsert(docs)

    def delete(self, ids: Iterable[str], *, lock_timeout: float = 30.0) -> None:
        with self.writing(lock_timeout=lock_timeout) as batch:
            batch.delete(ids)

    def clear(self, *, lock_timeout: float = 30.0) -> None:
        """Remove every document (meta stays): for a full rebuild."""
        with self.writing(lock_timeout=lock_timeout) as batch:
            batch.clear()

    @contextlib.contextmanager
    def writing(self, *, lock_timeout: float = 30.0) -> Iterator[KeywordWriter]:
        """Hold the index's writer (this process's and tantivy's lock, waiting at most ``lock_timeout`` seconds in
        all, else IndexBusy) for one commit: what the yielded ``KeywordWriter`` adds, deletes and sets as meta is
        committed together when the block ends, and nothing when it raises or changed nothing.

        Reading ``get_meta`` inside the block sees what the previous writer (any thread or process) left."""
        deadline = time.monotonic() + lock_timeout
        if not self._write_lock.acquire(timeout=max(lock_timeout, 0.0)):
            raise IndexBusy(f"keyword index {self._path} is being written by another thread")
        try:
            writer = self._open_writer(deadline)
            batch = KeywordWriter(self, writer, empty=self._searcher().num_docs == 0)
            try:
                yield batch
                if batch.changed:
                    writer.commit()
                else:
                    writer.rollback()
                # The meta (e.g. the store change applied) follows its commit while the lock is still held.
                for key, value in batch.meta.items():
                    self.set_meta(key, value)
            except BaseException:
                writer.rollback()
                raise
            finally:
                # Waiting for merges keeps the segment count low and is what releases the writer lock.
                writer.wait_merging_threads()
            if batch.changed:
                self._refresh()
        finally:
            self._write_lock.release()

    def _open_writer(self, deadline: float) -> tantivy.IndexWriter:
        while True:
            try:
                return self._index.writer(heap_size=self._writer_heap)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(f"keyword index {self._path} is being written by another process") from exc
                time.sleep(0.2)

    def _document(self, doc: KeywordDoc) -> tantivy.Document:
        d = tantivy.Document()
        d.add_text("paper_id", doc.paper_id)
        d.add_text("title", doc.title or "")
        d.add_text("text", doc.title or "")
        d.add_text("text", doc.abstract or "")
        for name in doc.authors:
            d.add_text("authors", name)
        for term in _category_terms(doc.categories):
            d.add_text("categories", term)
        day = _day_number(doc.day)
        if day is not None:
            d.add_integer("day", day)
        return d

    # -- reading ------------------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        self._index.reload()
        self._seen_meta = self._meta_stamp()

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path / "meta.json")
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _searcher(self) -> tantivy.Searcher:
        # tantivy replaces meta.json on every commit; a changed stamp means another instance committed.
        if self._path is not None and self._meta_stamp() != self._seen_meta:
            self._refresh()
        return self._index.searcher()

    def count(self, query: Query | None = None) -> int:
        """Documents in the index, or matching ``query``."""
        searcher = self._searcher()
        if query is None:
            return int(searcher.num_docs)
        built = self._build(query)
        if built is None:
            return 0
        # The type stubs lack SearchResult.count, which the binding has.
        result: Any = searcher.search(built, 1, count=True)
        return int(result.count)

    def search(self, query: Query, limit: int, offset: int = 0) -> list[KeywordHit]:
        """Best matches first (BM25); a query with filters but no text lists matches newest first."""
        built = self._build(query)
        if built is None or limit <= 0:
            return []
        offset = max(offset, 0)
        searcher = self._searcher()
        if not (query.has_text or query.paper_id):
            result = searcher.search(
                built, limit, count=False, offset=offset, order_by_field="day", order=tantivy.Order.Desc
            )
            scored = [(0.0, addr) for _, addr in result.hits]
        elif ALL_WORDS_FIRST and (every := self._build(query, all_words=True)) is not None:
            scored = self._all_words_first(searcher, every, built, limit, offset)
        else:
            result = searcher.search(built, limit, count=False, offset=offset)
            scored = [(float(score), addr) for score, addr in result.hits]
        return [
            KeywordHit(str(searcher.doc(addr).get_first("paper_id")), score, offset + i + 1)
            for i, (score, addr) in enumerate(scored)
        ]

    def _all_words_first(
        self, searcher: tantivy.Searcher, every: tantivy.Query, any_: tantivy.Query, limit: int, offset: int
    ) -> list[tuple[float, tantivy.DocAddress]]:
        """Papers with every word (by BM25), then the others (by BM25): two cheap passes instead of one slow one.

        Measured at 1M papers against plain OR and OR plus a boosted all-words clause (bench/keyword.py): the
        conjunction is driven by its rarest word, so 2-3 word queries get faster than OR (4.4 vs 5.8 ms p50) and
        99% of the top 10 hold every word (90% with OR; the boosted clause gets 99% at twice OR's latency). The
        second pass runs only when fewer than ``offset + limit`` papers hold every word; it needs no exclusion
        query because all of them are then in hand.
        """
        need = offset + limit
        first: Any = searcher.search(every, need, count=True)
        hits = [(float(s), a) for s, a in first.hits]
        if first.count < need:
            seen = {(a.segment_ord, a.doc) for _, a in hits}
            rest = [
                (float(s), a)
                for s, a in searcher.search(any_, need, count=False).hits
                if (a.segment_ord, a.doc) not in seen
            ]
            if hits and rest and rest[0][0] >= hits[-1][0]:
                # Keep scores falling with rank (score fusion needs it): scale the rest to sit just below the
                # last all-words paper. Every page computes the same factor, since all of those are in hand.
                factor = 0.999 * hits[-1][0] / rest[0][0]
                rest = [(s * factor, a) for s, a in rest]
            hits += rest
        return hits[offset:need]

    def filter_ids(self, query: Query, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` satisfy ``query`` (all of it: words, phrases, exclusions, filters).

        For checking candidates found elsewhere (the vector index) against what only this index can evaluate;
        cheaper and exact compared with listing every match of the query and intersecting. An empty query
        matches none.
        """
        wanted = list(dict.fromkeys(ids))
        built = self._build(query)
        if built is None or not wanted:
            return set()
        restricted = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, built),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self._schema, "paper_id", wanted)),
            ]
        )
        searcher = self._searcher()
        hits = searcher.search(restricted, len(wanted), count=False).hits
        return {str(searcher.doc(addr).get_first("paper_id")) for _, addr in hits}

    def like_text(
        self,
        title: str,
        abstract: str,
        limit: int,
        *,
        terms: int = LIKE_TERMS,
        title_tf: float = LIKE_TITLE_TF,
        exclude_id: str | None = None,
        date_from: str | None = None,
    ) -> list[KeywordHit]:
        """Papers sharing the most distinctive words of a title and abstract (BM25 of those words), best first.

        "More like this": the text's stemmed words (title words counted ``title_tf`` times, as a title states
        what the paper is about), weighted by sublinear tf × idf over this index, stopwords and words no
        other paper holds left out; the best ``terms`` of them, each boosted by its weight, are one OR query.
        Bounded work whatever the abstract's length: at most ``terms`` posting lists are read.
        """
        searcher = self._searcher()
        n_docs = int(searcher.num_docs)
        if n_docs == 0 or limit <= 0:
            return []
        counts: dict[str, float] = {}
        for weight, text in ((title_tf, title), (1.0, abstract)):
            for token in self._analyzers.stemmed.analyze(text or ""):
                if token not in self._analyzers.stopwords and not token.isdigit():
                    counts[token] = counts.get(token, 0.0) + weight
        weighted = []
        for token, tf in counts.items():
            df = int(searcher.doc_freq("text", token))
            if df < 2:  # only this paper (or none) holds it: it finds nothing
                continue
            weighted.append(((1.0 + math.log(tf)) * math.log(n_docs / df), token))
        weighted.sort(reverse=True)
        chosen = [(w, t) for w, t in weighted[:terms] if w > 0]
        if not chosen:
            return []
        words = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(self._schema, "text", t), w))
                for w, t in chosen
            ]
        )
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, words)]
        if exclude_id:
            clauses.append(
                (tantivy.Occur.MustNot, tantivy.Query.term_query(self._schema, "paper_id", exclude_id, "basic"))
            )
        if date_from:
            days = tantivy.Query.range_query(
                self._schema, "day", tantivy.FieldType.Integer, _day_number(date_from), None
            )
            clauses.append((tantivy.Occur.Must, _filter(days)))
        query = words if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)
        result = searcher.search(query, limit, count=False)
        return [
            KeywordHit(str(searcher.doc(addr).get_first("paper_id")), float(score), i + 1)
            for i, (score, addr) in enumerate(result.hits)
        ]

    def tokens(self, text: str) -> list[str]:
        """``text`` as this index ranks it: stemmed words in order, stopwords and bare numbers left out."""
        stop = self._analyzers.stopwords
        return [t for t in self._analyzers.stemmed.analyze(text or "") if t not in stop and not t.isdigit()]

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """log(N / df) of each token over the title + abstract field (0 for one no paper holds)."""
        searcher = self._searcher()
        n_docs = int(searcher.num_docs)
        out = {}
        for token in dict.fromkeys(tokens):
            df = int(searcher.doc_freq("text", token)) if n_docs else 0
            out[token] = math.log(n_docs / df) if df else 0.0
        return out

    def highlight(self, text: str, query: Query, *, authors: bool = False, snippet: int | None = None) -> str:
        """``text`` HTML-escaped with the query's terms (as the index matches them: stemmed) in ``<mark>``."""
        return highlight_html(text, query, self._analyzers, authors=authors, snippet=snippet)

    # -- query building -----------------------------------------------------------------------------------------

    def _build(self, q: Query, all_words: bool = False) -> tantivy.Query | None:
        """The tantivy query for ``q``, or None when it can match nothing (e.g. only unsearchable words).

        With ``all_words`` every free word (but stopwords) must match, and None means there are fewer than two or
        more than ``ALL_WORDS_MAX``.
        """
        if q.paper_id:
            return None if all_words else tantivy.Query.term_query(self._schema, "paper_id", q.paper_id, "basic")
        must: list[tantivy.Query] = []
        must_not: list[tantivy.Query] = []
        for phrase in q.phrases:
            clause = self._text_clause(phrase)
            if clause is None:
                continue
            must.append(clause)
        for name in q.authors:
            clause = self._field_clause("authors", name)
            if clause is None:
                return None
            must.append(_filter(clause))
        for term in q.title_terms:
            clause = self._field_clause("title", term)
            if clause is None:
                return None
            must.append(_filter(clause))
        if q.categories:
            cats = [c.lower() for c in q.categories]
            must.append(_filter(tantivy.Query.term_set_query(self._schema, "categories", cats)))
        if q.date_from or q.date_to:
            lo, hi = _day_number(q.date_from), _day_number(q.date_to)
            must.append(_filter(tantivy.Query.range_query(self._schema, "day", tantivy.FieldType.Integer, lo, hi)))
        for word in (*q.exclude_words, *q.exclude_phrases):
            clause = self._text_clause(word)
            if clause is not None:
                must_not.append(clause)
        for name in q.exclude_authors:
            clause = self._field_clause("authors", name)
            if clause is not None:
                must_not.append(clause)
        if q.exclude_categories:
            cats = [c.lower() for c in q.exclude_categories]
            must_not.append(tantivy.Query.term_set_query(self._schema, "categories", cats))

        words = self._words_query(q.words, all_words)
        if all_words and words is None:
            return None
        if words is None and not must and not must_not:
            return None  # nothing searchable was asked (only words the analyser drops, e.g. 50-letter ones)
        if words is not None and not must and not must_not:
            return words  # flat disjunction of term queries: tantivy's block-max WAND applies
        subqueries: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, m) for m in must]
        if words is not None:
            subqueries.append((tantivy.Occur.Must if not q.phrases else tantivy.Occur.Should, words))
        if not any(occur == tantivy.Occur.Must for occur, _ in subqueries):
            subqueries.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        subqueries += [(tantivy.Occur.MustNot, m) for m in must_not]
        return tantivy.Query.boolean_query(subqueries)

    def _words_query(self, words: tuple[str, ...], all_words: bool = False) -> tantivy.Query | None:
        """Free words: any may match (OR), each scored in title, abstract and authors with per-field weights.

        Stopwords are left out unless there is nothing else. With ``all_words``, each word must match (and
        None is returned unless 2 to ``ALL_WORDS_MAX`` words remain).
        """
        content = [w for w in words if not self._is_stopword(w)] or list(words)
        per_word: list[list[tantivy.Query]] = []
        for word in content:
            word_clauses = []
            for fname, boost in _field_boosts():
                q = self._field_clause(fname, word, index_option="freq")
                if q is not None:
                    word_clauses.append(q if boost == 1.0 else tantivy.Query.boost_query(q, boost))
            if word_clauses:
                per_word.append(word_clauses)
        if all_words:
            if not 2 <= len(per_word) <= ALL_WORDS_MAX:
                return None
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, _any(w)) for w in per_word])
        if not per_word:
            return None
        # Flat: a disjunction of plain term queries is what block-max WAND can prune.
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, c) for w in per_word for c in w])

    def _is_stopword(self, word: str) -> bool:
        tokens = self._analyzers.stemmed.analyze(word)
        return bool(tokens) and all(t in self._analyzers.stopwords for t in tokens)

    def _text_clause(self, text: str) -> tantivy.Query | None:
        """``text`` (a word or phrase) in any of title, abstract, authors: for phrases and exclusions."""
        clauses = [c for fname in _TEXT_FIELDS if (c := self._field_clause(fname, text)) is not None]
        return _any(clauses) if clauses else None

    def _field_clause(self, fname: str, text: str, index_option: str = "position") -> tantivy.Query | None:
        """A term query when ``text`` analyses to one token, a phrase query when to several ("k-means")."""
        tokens = self._analyzers.for_field(fname).analyze(text)
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self._schema, fname, tokens[0], index_option=index_option)
        words: list[str | tuple[int, str]] = list(tokens)
        return tantivy.Query.phrase_query(self._schema, fname, words)

    # -- meta ---------------------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> Any:
        """A value the caller stored with ``set_meta`` (e.g. the last store change indexed), or None."""
        meta = self._memory_meta if self._path is None else _read_meta(self._path)
        return meta.get(key)

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value; the file is replaced atomically (one writer process assumed)."""
        if key == _SCHEMA_KEY:
            raise ValueError(f"{key} is reserved")
        if self._path is None:
            self._memory_meta[key] = value
            return
        meta = _read_meta(self._path)
        meta[key] = value
        _write_meta(self._path, meta)

    def close(self) -> None:
        """Nothing stays open between calls (writers are per call); kept so callers can use ``with``."""

    def __enter__(self) -> KeywordIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _filter(query: tantivy.Query) -> tantivy.Query:
    """A restriction that must not move the ranking: it matches or not, with score 0."""
    return tantivy.Query.const_score_query(query, 0.0)


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _category_terms(categories: Iterable[str]) -> list[str]:
    terms: list[str] = []
    for cat in categories:
        for term in (cat.lower(), cat.lower().split(".", 1)[0]):
            if term and term not in terms:
                terms.append(term)
    return terms


def _day_number(day: str | None) -> int | None:
    """``2025-03-01`` → 20250301 (an integer fast field sorts and ranges like the date)."""
    if not day or len(day) < 10:
        return None
    digits = day[:10].replace("-", "")
    return int(digits) if digits.isdigit() and len(digits) == 8 else None


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".meta-", dir=path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(meta, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path / META_FILE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _wipe(path: Path) -> None:
    """Remove an index built by another schema version: only tantivy's own files and our meta."""
    managed = path / ".managed.json"
    names = {"meta.json", ".managed.json", META_FILE, ".tantivy-meta.lock", ".tantivy-writer.lock"}
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        names.update(json.loads(managed.read_text(encoding="utf-8")))
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (path / name).unlink()


def highlight_html(
    text: str, query: Query, analyzers: TextAnalyzers, *, authors: bool = False, snippet: int | None = None
) -> str:
    """See ``KeywordIndex.highlight``; ``authors=True`` marks author filters and words in a list of names.

    The text is tokenised with the index's own analyser (which reports character offsets), so a mark lands
    exactly where the index saw a match: free words as single tokens (common stopwords skipped), phrases and
    multi-token words ("k-means") only where their tokens are consecutive. Nothing inside ``$…$`` math is marked
    (a tag there would break the formula's typesetting). With ``snippet``, a text longer than that many
    characters is cut to a window around the first match, at word boundaries and never inside math.
    """
    analyzer = analyzers.names if authors else analyzers.stemmed
    singles: set[str] = set()
    sequences: set[tuple[str, ...]] = set()
    sources = [*query.words, *query.title_terms]
    if authors:
        sources += query.authors
    for part in sources:
        tokens = analyzer.analyze(part)
        if len(tokens) == 1 and (authors or tokens[0] not in analyzers.stopwords):
            singles.add(tokens[0])
        elif len(tokens) > 1:
            sequences.add(tuple(tokens))
    for phrase in query.phrases:
        tokens = analyzer.analyze(phrase)
        if tokens:
            sequences.add(tuple(tokens))
    math = [m.span() for m in _MATH_RE.finditer(text)]
    if not singles and not sequences:
        return _window_html(text, [], math, snippet)
    toks = [(t.text, t.char_offset_from, t.char_offset_to) for t in analyzer.pre_tokenize(text).tokens]
    spans: list[tuple[int, int]] = []
    for i, (tok, start, end) in enumerate(toks):
        if tok in singles:
            spans.append((start, end))
        for seq in sequences:
            if tok == seq[0] and tuple(t[0] for t in toks[i : i + len(seq)]) == seq:
                spans.append((start, toks[i + len(seq) - 1][2]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # Overlapping marks, and marks only whitespace apart ("graph neural"), become one.
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    merged = [(a, b) for a, b in merged if not any(a < m_end and m_start < b for m_start, m_end in math)]
    return _window_html(text, merged, math, snippet)


# Inline and display math as KaTeX's auto-render finds it in paper text.
_MATH_RE = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)


def _window_html(text: str, marks: list[tuple[int, int]], math: list[tuple[int, int]], snippet: int | None) -> str:
    start, end = 0, len(text)
    if snippet is not None and len(text) > snippet:
        first = marks[0][0] if marks else 0
        start = _boundary(text, max(0, first - snippet // 4), math, forward=True) if first > snippet // 4 else 0
        end = _boundary(text, min(len(text), start + snippet), math, forward=False)
        if end <= start:
            start, end = 0, min(len(text), snippet)
    out: list[str] = ["…"] if start > 0 else []
    pos = start
    for a, b in marks:
        if a < start or b > end:
            continue
        out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


def _boundary(text: str, at: int, math: list[tuple[int, int]], *, forward: bool) -> int:
    """The nearest word boundary from ``at`` (going forward or back) that is not inside a math span."""
    for m_start, m_end in math:
        if m_start < at < m_end:
            at = m_end if forward else m_start
    found = text.find(" ", at) if forward else text.rfind(" ", 0, at)
    if found < 0:
        return len(text) if not forward else at
    return found + 1 if forward else found
