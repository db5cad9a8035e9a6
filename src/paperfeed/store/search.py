"""What search needs from the store: the change feed for outside indexes, filters, and pgvector on PostgreSQL.

The keyword index (tantivy) and, on SQLite, the vector index live in files beside the store; they stay in step by
reading ``changes_since(seq)`` — every write stamps changed rows with an increasing ``seq``. On PostgreSQL, vectors
live in the ``paper_vectors`` table with one HNSW index per embedding model (its dimension is the model's).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from paperfeed.papers import Paper
from paperfeed.store.db import Database

# A paper's day, for date filters, sorting and recency: its announcement, else the first day a listing showed it
# (a Daily Papers page's date line for a seed paper), else its submission or update date. A paper with none of
# these has no day (NULL): it matches no date filter and gets no recency. The day it was loaded is never its day.
_FIRST_LISTED = "(SELECT min(d.day) FROM paper_days d WHERE d.paper_id = p.id)"
_UNANNOUNCED_DAY = f"COALESCE({_FIRST_LISTED}, p.submitted, p.updated)"
_DAY = f"COALESCE(p.announced, {_UNANNOUNCED_DAY})"


@dataclass
class IndexRow:
    """One changed paper as the search indexes see it (``deleted`` rows must leave the indexes)."""

    pk: int
    id: str
    seq: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    day: str | None
    deleted: bool


def _model_slug(model: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:40]


class SearchStoreMixin:
    db: Database

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:  # provided by Store
        raise NotImplementedError

    @property
    def _live_keys_index(self) -> str:
        # SQLite's planner prefers rowid lookups to any index for "pk IN (…)"; name the covering one (PostgreSQL
        # picks its index-only scan by itself).
        return "INDEXED BY papers_live_keys" if self.db.dialect == "sqlite" else ""

    def max_seq(self) -> int:
        row = self.db.query_one("SELECT max(seq) FROM papers")
        return int(row[0] or 0) if row else 0

    def count_changes_since(self, seq: int) -> int:
        row = self.db.query_one("SELECT count(*) FROM papers WHERE seq > ?", (seq,))
        return int(row[0]) if row else 0

    def changes_since(self, seq: int, limit: int = 5000) -> list[IndexRow]:
        rows = self.db.query(
            f"SELECT p.pk, p.id, p.seq, p.title, p.abstract, p.authors, p.categories, {_DAY}, p.deleted_at "
            "FROM papers p WHERE p.seq > ? ORDER BY p.seq LIMIT ?",
            (seq, limit),
        )
        return [
            IndexRow(
                pk=int(r[0]),
                id=r[1],
                seq=int(r[2]),
                title=r[3],
                abstract=r[4],
                authors=orjson.loads(r[5]),
                categories=orjson.loads(r[6]),
                day=r[7],
                deleted=r[8] is not None,
            )
            for r in rows
        ]

    def filter_rows_since(self, seq: int, limit: int = 20000) -> list[tuple[int, int, list[str], str | None, bool]]:
        """What a filter needs of each paper changed after ``seq``: (pk, seq, categories, day, deleted), in ``seq``
        order; the light cousin of ``changes_since`` (no text) for an in-memory copy of the filters."""
        rows = self.db.query(
            f"SELECT p.pk, p.seq, p.categories, {_DAY}, p.deleted_at IS NOT NULL "
            "FROM papers p WHERE p.seq > ? ORDER BY p.seq LIMIT ?",
            (seq, limit),
        )
        return [(int(r[0]), int(r[1]), orjson.loads(r[2]), r[3], bool(r[4])) for r in rows]

    def ids_for_pks(self, pks: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for condition, params in self.db.any_of("pk", [int(k) for k in pks]):
            found.update(
                (int(r[0]), r[1])
                for r in self.db.query(
                    f"SELECT pk, id FROM papers {self._live_keys_index} WHERE deleted_at IS NULL AND {condition}",
                    params,
                )
            )
        return found

    def pks_for_ids(self, ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for condition, params in self.db.any_of("id", list(ids)):
            found.update(
                (r[1], int(r[0]))
                for r in self.db.query(f"SELECT pk, id FROM papers WHERE deleted_at IS NULL AND {condition}", params)
            )
        return found

    def filter_pks(
        self,
        *,
        categories: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
    ) -> list[int]:
        """Keys of live papers in any of ``categories`` and within the date range (inclusive), newest first."""
        where, params = self._filter_sql(categories, date_from, date_to)
        sql = f"SELECT p.pk FROM papers p WHERE {where} ORDER BY {_DAY} DESC NULLS LAST, p.pk DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [int(r[0]) for r in self.db.query(sql, params)]

    def days_for_pks(self, pks: Sequence[int]) -> dict[int, str | None]:
        found: dict[int, str | None] = {}
        for condition, params in self.db.any_of("p.pk", [int(k) for k in pks]):
            found.update(
                (int(r[0]), r[1]) for r in self.db.query(f"SELECT p.pk, {_DAY} FROM papers p WHERE {condition}", params)
            )
        return found

    @staticmethod
    def _filter_sql(categories: Sequence[str], date_from: str | None, date_to: str | None) -> tuple[str, list[Any]]:
        clauses = ["p.deleted_at IS NULL"]
        params: list[Any] = []
        if categories:
            clauses.append(
                "EXISTS (SELECT 1 FROM paper_categories c WHERE c.paper_id = p.id "
                f"AND c.category IN ({Database.placeholders(len(categories))}))"
            )
            params.extend(categories)
        if date_from or date_to:
            # Announced papers by the papers_announced index; the few others (no announcement day) by their own
            # day. Both sides are index scans, where one expression over both would read every paper.
            bounds = [b for b in ((">=", date_from), ("<=", date_to)) if b[1]]
            announced = " AND ".join(f"p.announced {op} ?" for op, _ in bounds)
            other = " AND ".join(f"{_UNANNOUNCED_DAY} {op} ?" for op, _ in bounds)
            clauses.append(f"(({announced}) OR (p.announced IS NULL AND {other}))")
            params.extend([value for _, value in bounds] * 2)
        return " AND ".join(clauses), params

    # -- pgvector (PostgreSQL only) ---------------------------------------------------------------------------
    def vector_hashes(self, model: str, pks: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for condition, params in self.db.any_of("paper_pk", [int(k) for k in pks]):
            found.update(
                (int(r[0]), r[1])
                for r in self.db.query(
                    f"SELECT paper_pk, text_hash FROM paper_vectors WHERE model = ? AND {condition}", [model, *params]
                )
            )
        return found

    def put_vectors(self, model: str, rows: Sequence[tuple[int, str, Sequence[float]]]) -> None:
        """Store (paper pk, text hash, vector) rows for ``model``, replacing earlier vectors of those papers: one
        binary COPY into a staging table and one merge (a vector's text form cost ~60 µs to make; a million of
        them, a minute of CPU)."""
        if not rows:
            return
        with self.db.transaction():
            self.db.upsert_copy_data(
                "paper_vectors",
                ("model", "paper_pk", "text_hash", "embedding"),
                _vector_copy_data(model, rows),
                key=("model", "paper_pk"),
                update=("text_hash", "embedding"),
            )

    def delete_vectors(self, model: str, pks: Sequence[int]) -> None:
        with self.db.transaction():
            for condition, params in self.db.any_of("paper_pk", [int(k) for k in pks]):
                self.db.execute(f"DELETE FROM paper_vectors WHERE model = ? AND {condition}", [model, *params])

    def vector_of(self, model: str, pk: int) -> list[float] | None:
        """The stored vector of one paper for ``model``, or None when it has none."""
        row = self.db.query_one(
            "SELECT embedding::text FROM paper_vectors WHERE model = ? AND paper_pk = ?", (model, int(pk))
        )
        return None if row is None else [float(x) for x in orjson.loads(row[0])]

    def vectors_of_many(self, model: str, pks: Sequence[int]) -> dict[int, list[float]]:
        """The stored vectors of many papers for ``model`` (those that have one)."""
        found: dict[int, list[float]] = {}
        for condition, params in self.db.any_of("paper_pk", [int(k) for k in pks]):
            rows = self.db.query(
                f"SELECT paper_pk, embedding::text FROM paper_vectors WHERE model = ? AND {condition}", [model, *params]
            )
            found.update((int(r[0]), orjson.loads(r[1])) for r in rows)
        return found

    def count_vectors(self, model: str) -> int:
        row = self.db.query_one("SELECT count(*) FROM paper_vectors WHERE model = ?", (model,))
        return int(row[0]) if row else 0

    def ensure_vector_index(self, model: str, dim: int) -> None:
        """An HNSW index (cosine) over ``model``'s vectors; built once, maintained by PostgreSQL afterwards."""
        slug = _model_slug(model)
        with self.db.transaction():
            self.db.execute(
                f"CREATE INDEX IF NOT EXISTS paper_vectors_hnsw_{slug} ON paper_vectors "
                f"USING hnsw ((embedding::vector({int(dim)})) vector_cosine_ops) WHERE model = {_sql_string(model)}"
            )

    def vector_search(
        self,
        model: str,
        dim: int,
        query: Sequence[float],
        k: int,
        *,
        categories: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
        ef_search: int = 100,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest papers by cosine similarity (pgvector HNSW), with optional filters.

        An HNSW scan hands back its ``ef_search`` nearest rows and the filters then drop some, so a filter that few
        papers pass left fewer than ``k`` (often none). pgvector 0.8 scans on until ``k`` rows pass (iterative
        index scans, ``relaxed_order``; the outer ORDER BY restores exact order); older pgvector keeps the single
        pass."""
        where, params = self._filter_sql(categories, date_from, date_to)
        expr = f"v.embedding::vector({int(dim)})"
        # Session settings: reads must not take the writers' transaction lock. A single HNSW pass returns at most
        # ef_search rows: asked for more (search takes 300 candidates a side), it must look at as many (pgvector
        # allows up to 1000).
        self.db.execute(f"SET hnsw.ef_search = {min(max(int(ef_search), int(k)), 1000)}")
        iterate = bool(categories or date_from or date_to) and self._pgvector_iterates()
        sql = (
            f"SELECT v.paper_pk, 1 - ({expr} <=> ?::vector({int(dim)})) AS similarity FROM paper_vectors v "
            f"JOIN papers p ON p.pk = v.paper_pk WHERE v.model = ? AND {where} "
            f"ORDER BY {expr} <=> ?::vector({int(dim)}) LIMIT ?"
        )
        args = [_vector_literal(query), model, *params, _vector_literal(query), k]
        if not iterate:
            rows = self.db.query(sql, args)
        else:
            self.db.execute("SET hnsw.iterative_scan = relaxed_order")
            try:
                rows = self.db.query(
                    f"WITH nearest AS MATERIALIZED ({sql}) SELECT * FROM nearest ORDER BY similarity DESC", args
                )
            finally:
                self.db.execute("SET hnsw.iterative_scan = off")
        return [(int(r[0]), float(r[1])) for r in rows]

    def _pgvector_iterates(self) -> bool:
        """Whether the server's pgvector (0.8 or newer) has iterative index scans; asked once per store."""
        known: bool | None = getattr(self, "_iterative_scans", None)
        if known is None:
            row = self.db.query_one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            parts = [int(x) for x in str(row[0]).split(".")[:2]] if row else [0, 0]
            known = (parts[0], parts[1]) >= (0, 8)
            self._iterative_scans = known
        return known


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def _vector_copy_data(model: str, rows: Sequence[tuple[int, str, Sequence[float]]]) -> bytes:
    """PostgreSQL binary COPY data of (model, paper_pk, text_hash, embedding) rows; a vector's binary form is
    pgvector's (dimension, a zero, float4s, all big-endian)."""
    name = model.encode()
    lead = struct.pack(">hi", 4, len(name)) + name + struct.pack(">i", 8)
    parts = [_COPY_HEADER]
    for pk, text_hash, vector in rows:
        digest = text_hash.encode()
        dim = len(vector)
        parts.append(
            lead
            + struct.pack(f">qi{len(digest)}sihh{dim}f", int(pk), len(digest), digest, 4 + 4 * dim, dim, 0, *vector)
        )
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
