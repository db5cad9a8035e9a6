"""The schema, as an ordered list of migrations per SQL dialect.

A migration is never edited once released: schema changes append a new one. ``paperfeed init`` applies what is
pending (each in its own transaction) and every start-up checks that the store is at the version this code expects.
Both dialects keep the same tables and columns; only what the engines do differently (auto keys,
extensions) differs.
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

_COMMUNITY_TABLES = """
CREATE TABLE users (
    id {key},
    name TEXT NOT NULL UNIQUE,
    email TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    created_at TEXT NOT NULL,
    blocked_at TEXT,
    blocked_by INTEGER
);

-- Only the SHA-256 of a session or API token is stored: a leaked database does not log anyone in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id {key},
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE votes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);
CREATE INDEX votes_paper ON votes (paper_id, created_at);

CREATE TABLE comments (
    id {key},
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    hidden_at TEXT,
    hidden_by INTEGER,
    hidden_reason TEXT
);
CREATE INDEX comments_paper ON comments (paper_id, created_at);
CREATE INDEX comments_user ON comments (user_id, created_at);

-- One submission per paper: the first member to submit it is its submitter; a removed one can be submitted again.
CREATE TABLE submissions (
    paper_id TEXT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_at TEXT,
    removed_by INTEGER
);
CREATE INDEX submissions_user ON submissions (user_id, created_at);
CREATE INDEX submissions_day ON submissions (day);

-- Per-paper counters kept in the same transaction as the votes, comments and sightings they count, so lists sort
-- and render without counting rows. external_* are the latest signals from other sites (Hugging Face).
CREATE TABLE paper_activity (
    paper_id TEXT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    upvotes INTEGER NOT NULL DEFAULT 0,
    comments INTEGER NOT NULL DEFAULT 0,
    external_upvotes INTEGER NOT NULL DEFAULT 0,
    external_comments INTEGER NOT NULL DEFAULT 0,
    last_activity TEXT
);
CREATE INDEX paper_activity_last ON paper_activity (last_activity);
CREATE INDEX papers_published ON papers ((COALESCE(submitted, announced, '')), id) WHERE deleted_at IS NULL;
-- Search's date filter (store/search.py `_DAY`): a week's papers by index instead of a scan of every paper.
CREATE INDEX papers_day ON papers ((COALESCE(announced, submitted, substr(created_at, 1, 10))));
-- Lists leave out deleted papers by these few ids instead of reading every listed paper's row (listing.py).
CREATE INDEX papers_deleted ON papers (id) WHERE deleted_at IS NOT NULL;

-- Fixed-window counters for rate limits, shared by every web worker.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL
);

-- Email digests. A subscriber is an address (optionally a member's); status pending until the signed
-- confirmation link is followed, then active; unsubscribed and bounced addresses get nothing more.
CREATE TABLE subscribers (
    id {key},
    email TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    frequency TEXT NOT NULL DEFAULT 'daily',
    include_trending INTEGER NOT NULL DEFAULT 1,
    max_papers INTEGER NOT NULL DEFAULT 10,
    send_hour INTEGER NOT NULL DEFAULT 8,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    unsubscribed_at TEXT,
    permanent_failures INTEGER NOT NULL DEFAULT 0,
    last_sent_at TEXT
);
CREATE INDEX subscribers_status ON subscribers (status, frequency);

CREATE TABLE subscription_topics (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, kind, value)
);

-- One row per message a subscriber is owed (a digest period, a confirmation): written before sending, marked sent
-- after, so a killed run resumes exactly where it stopped and nothing is sent twice.
CREATE TABLE deliveries (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    next_attempt_at TEXT,
    error TEXT,
    PRIMARY KEY (subscriber_id, kind, period)
);
CREATE INDEX deliveries_status ON deliveries (kind, period, status);
-- What is still owed (a sliver of all rows): what each run retries, without reading a year of sent digests.
CREATE INDEX deliveries_owed ON deliveries (kind, next_attempt_at) WHERE status IN ('pending', 'sending');
"""

COMMUNITY = Migration(
    4,
    "members, sessions, API tokens, votes, comments, submissions, activity counters, rate limits, subscriptions",
    sqlite=_COMMUNITY_TABLES.format(key="INTEGER PRIMARY KEY")
    + """
INSERT INTO paper_activity (paper_id, external_upvotes, external_comments)
SELECT paper_id, COALESCE(json_extract(signals, '$.upvotes'), 0), COALESCE(json_extract(signals, '$.num_comments'), 0)
FROM paper_sources WHERE source = 'hf-daily';
""",
    postgres=_COMMUNITY_TABLES.format(key="INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    + """
INSERT INTO paper_activity (paper_id, external_upvotes, external_comments)
SELECT paper_id, COALESCE((signals::jsonb ->> 'upvotes')::int, 0), COALESCE((signals::jsonb ->> 'num_comments')::int, 0)
FROM paper_sources WHERE source = 'hf-daily';
""",
)

NO_SQL_KEYWORD_INDEX = Migration(
    5,
    "drop the in-database keyword index (search reads the tantivy index in the index directory)",
    # Migration 1's FTS5 table / tsvector column was written on every upsert and read by nothing but tests; keeping
    # it in step was a large part of ingest time on both engines (FTS5 inserts; tsvector stemming in the server).
    sqlite="DROP TABLE IF EXISTS papers_fts;",
    postgres="DROP INDEX IF EXISTS papers_search_tsv;\nALTER TABLE papers DROP COLUMN IF EXISTS search_tsv;",
)

_LIBRARY_TABLES = """
-- A member's library: one row per saved paper, with a private note and a reading state. Tags are rows of their own
-- so that two tabs tagging at once both land (no read-modify-write of a list) and filtering by tag is an index scan.
CREATE TABLE library_entries (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'to-read' CHECK (state IN ('to-read', 'read')),
    note TEXT NOT NULL DEFAULT '',
    saved_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);
CREATE INDEX library_entries_saved ON library_entries (user_id, saved_at);
CREATE INDEX library_entries_paper ON library_entries (paper_id);

CREATE TABLE library_tags (
    user_id INTEGER NOT NULL,
    paper_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id, tag),
    FOREIGN KEY (user_id, paper_id) REFERENCES library_entries (user_id, paper_id) ON DELETE CASCADE
);
CREATE INDEX library_tags_tag ON library_tags (user_id, tag);

-- Named, hand-ordered lists of papers in the owner's library (a paper can be in several); public ones have a page.
CREATE TABLE collections (
    id {key},
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, slug)
);

-- Items reference the owner's library entry: unsaving a paper (or the paper going away) takes it out of every
-- collection in the same statement, so a collection never lists a paper its owner's library lacks.
CREATE TABLE collection_items (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    paper_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (collection_id, paper_id),
    FOREIGN KEY (user_id, paper_id) REFERENCES library_entries (user_id, paper_id) ON DELETE CASCADE
);
CREATE INDEX collection_items_order ON collection_items (collection_id, position);
CREATE INDEX collection_items_entry ON collection_items (user_id, paper_id);

-- Private "more like this" (+1) / "less like this" (-1), one per member and paper; never shown to anyone else.
CREATE TABLE ratings (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    rated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);
CREATE INDEX ratings_paper ON ratings (paper_id);

-- A deleted account keeps its row as a nameless tombstone, so that its public comments stay as anonymised text.
ALTER TABLE users ADD COLUMN deleted_at TEXT;
CREATE INDEX votes_user ON votes (user_id, created_at);
-- Imports match references without an arXiv id or DOI by title: candidates by index, not by reading every paper.
CREATE INDEX papers_title_lower ON papers (lower(title));
CREATE INDEX papers_doi_lower ON papers (lower(doi)) WHERE doi IS NOT NULL;
"""

LIBRARY = Migration(
    6,
    "members' libraries (entries, tags), collections and their items, private ratings; deleted accounts",
    sqlite=_LIBRARY_TABLES.format(key="INTEGER PRIMARY KEY"),
    postgres=_LIBRARY_TABLES.format(key="INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
)

_PREFERENCES = """
-- A member's For-you preferences: how much of the home page is personal (0 = the community's order, 100 = For you).
CREATE TABLE member_preferences (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    personal_weight INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
"""

MEMBER_PREFERENCES = Migration(7, "member preferences (the home page's community/personal blend)", _PREFERENCES,
                               _PREFERENCES)  # fmt: skip

NO_PAPERS_DAY_INDEX = Migration(
    8,
    "drop the unused papers_day index",
    # Migration 4 indexed COALESCE(announced, submitted, substr(created_at, 1, 10)) for search's date filter. Since a
    # paper's day is its announcement, else its first listing day, else its submission or update date (never the
    # day it was loaded: store/search.py's _DAY), no query computes that expression, so the index was only written.
    sqlite="DROP INDEX IF EXISTS papers_day;",
    postgres="DROP INDEX IF EXISTS papers_day;",
)

_SUMMARIES = """
-- A paper's machine-made summary (one sentence of its abstract) and keyphrases, made by the index job from the text
-- whose hash is kept: the job redoes a paper only when its title or abstract changed. Pages only read these.
CREATE TABLE paper_summaries (
    paper_pk {key} NOT NULL PRIMARY KEY REFERENCES papers (pk) ON DELETE CASCADE,
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    summary TEXT,
    keywords TEXT NOT NULL DEFAULT '[]',
    made_at TEXT NOT NULL
);
"""

PAPER_SUMMARIES = Migration(
    9,
    "papers' machine-made summaries and keyphrases",
    sqlite=_SUMMARIES.format(key="INTEGER"),
    postgres=_SUMMARIES.format(key="BIGINT"),
)

MIGRATIONS: tuple[Migration, ...] = (
    INITIAL, SEARCH, LIVE_KEYS, COMMUNITY, NO_SQL_KEYWORD_INDEX, LIBRARY, MEMBER_PREFERENCES, NO_PAPERS_DAY_INDEX,
    PAPER_SUMMARIES,
)  # fmt: skip
LATEST = MIGRATIONS[-1].version
