"""The schema, as an ordered list of migrations per SQL dialect.

A migration is never edited once released: schema changes append a new one. ``paperfeed init`` applies what is
pending (each in its own transaction) and every start-up checks that the store is at the version this code expects.
Both dialects keep the same tables and columns; only what the engines do differently (auto keys, full-text) differs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgres: str

    def script(self, dialect: str) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgres


_PAPER_COLUMNS = """
    id TEXT NOT NULL UNIQUE,
    version INTEGER,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL DEFAULT '',
    authors TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    primary_category TEXT,
    submitted TEXT,
    updated TEXT,
    announced TEXT,
    comments TEXT,
    journal_ref TEXT,
    doi TEXT,
    license TEXT,
    code_urls TEXT NOT NULL DEFAULT '[]',
    project_urls TEXT NOT NULL DEFAULT '[]',
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    deleted_at TEXT
"""

_SHARED_TABLES = """
CREATE INDEX papers_announced ON papers (announced);
CREATE INDEX papers_primary_category ON papers (primary_category);

-- Every announcement day a paper was listed on, and how (new / cross / replace / replace-cross / hf-daily / seed).
CREATE TABLE paper_days (
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (paper_id, day)
);
CREATE INDEX paper_days_day ON paper_days (day, kind);

CREATE TABLE paper_categories (
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (paper_id, category)
);
CREATE INDEX paper_categories_category ON paper_categories (category);

-- Which sources saw the paper, when, and the external signals each carries (e.g. Hugging Face upvotes).
CREATE TABLE paper_sources (
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    signals TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (paper_id, source)
);
CREATE INDEX paper_sources_source ON paper_sources (source);

-- Resumable jobs (harvest resumption tokens, backfill positions), written in the same transaction as their data.
CREATE TABLE job_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

INITIAL = Migration(
    1,
    "papers, sources, days, categories, job state, keyword index",
    sqlite=f"""
CREATE TABLE papers (
    pk INTEGER PRIMARY KEY,
    {_PAPER_COLUMNS}
);
{_SHARED_TABLES}
-- Keyword index over title, abstract and authors (external content). The store writes it in the same transaction
-- as papers: FTS5 under a trigger flushes its pending terms on every row, which made bulk ingest 2.5x slower.
CREATE VIRTUAL TABLE papers_fts USING fts5 (
    title, abstract, authors, content='papers', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2'
);
""",
    postgres=f"""
CREATE TABLE papers (
    pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    {_PAPER_COLUMNS},
    -- Keyword index over title, abstract and authors: a generated column is in step with every write by construction.
    search_tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', authors), 'B')
        || setweight(to_tsvector('english', abstract), 'C')
    ) STORED
);
CREATE INDEX papers_search_tsv ON papers USING GIN (search_tsv);
{_SHARED_TABLES}
""",
)

SEARCH = Migration(
    2,
    "change sequence for search indexes; pgvector table for embeddings",
    sqlite="""
-- Every write stamps the rows it changes with the next number, so search indexes outside the database (keyword,
-- vectors) catch up by asking for everything after the last number they saw.
ALTER TABLE papers ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE papers SET seq = pk;
CREATE INDEX papers_seq ON papers (seq);
""",
    postgres="""
ALTER TABLE papers ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE papers SET seq = pk;
CREATE INDEX papers_seq ON papers (seq);
CREATE EXTENSION IF NOT EXISTS vector;
-- One row per paper and embedding model; HNSW indexes are created per model (their dimension is the model's).
CREATE TABLE paper_vectors (
    model TEXT NOT NULL,
    paper_pk BIGINT NOT NULL REFERENCES papers (pk) ON DELETE CASCADE,
    text_hash TEXT NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (model, paper_pk)
);
""",
)

LIVE_KEYS = Migration(
    3,
    "covering index from row key to paper id for live papers",
    # Search turns hundreds of vector-index keys into paper ids per query; with abstracts stored inline, looking
    # each key up in the table reads one random page per paper (60 ms a query at 1M papers on a cold cache).
    sqlite="CREATE INDEX papers_live_keys ON papers (pk, id) WHERE deleted_at IS NULL;",
    postgres="CREATE INDEX papers_live_keys ON papers (pk) INCLUDE (id) WHERE deleted_at IS NULL;",
)

MIGRATIONS: tuple[Migration, ...] = (INITIAL, SEARCH, LIVE_KEYS)
LATEST = MIGRATIONS[-1].version
