"""The store: every read and write of papers, their days, categories, sources and job state.

This is the only place that holds SQL for papers (the dialect differences live in ``db.py`` and the schema in
``migrations.py``). Writes are batches in one transaction: ``upsert_papers`` reads what is stored, merges each
sighting with ``papers.merge`` and writes only what changed, so re-running an ingest is a no-op and a killed one
leaves every batch either fully written or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from paperfeed.errors import BadInput, NotFound, StoreError
from paperfeed.papers import MAX_ID, Paper, content_hash, merge, record_problem
from paperfeed.store.account import AccountStoreMixin
from paperfeed.store.community import CommunityStoreMixin
from paperfeed.store.db import Database
from paperfeed.store.library import LibraryStoreMixin
from paperfeed.store.listing import ListingStoreMixin, feed_rank_sql
from paperfeed.store.migrations import LATEST, MIGRATIONS
from paperfeed.store.recommend import RecommendStoreMixin
from paperfeed.store.search import SearchStoreMixin
from paperfeed.store.subscriptions import SubscriptionStoreMixin
from paperfeed.store.summaries import SummaryStoreMixin

# The signals that are a paper's activity elsewhere (trending counts them), whichever source carries them: each
# source's registry entry says which signals its sightings carry; the store knows signals, not sources.
ACTIVITY_SIGNALS = ("upvotes", "num_comments")

_PAPER_COLS = (
    "id, version, title, abstract, authors, categories, primary_category, submitted, updated, announced, comments, "
    "journal_ref, doi, license, code_urls, project_urls, content_hash"
)
_PAPER_COLUMNS = tuple(c.strip() for c in _PAPER_COLS.split(","))
_WRITTEN_PAPER_COLUMNS = (*_PAPER_COLUMNS, "created_at", "modified_at", "seq")
# On conflict every column but the key and created_at is replaced, and a re-sighted deleted paper lives again.
_UPDATED_PAPER_COLUMNS = (*_PAPER_COLUMNS[1:], "modified_at", "seq")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_ids: list[str] = field(default_factory=list)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Store(
    SearchStoreMixin,
    CommunityStoreMixin,
    ListingStoreMixin,
    SubscriptionStoreMixin,
    RecommendStoreMixin,
    LibraryStoreMixin,
    AccountStoreMixin,
    SummaryStoreMixin,
):
    """paperfeed's data on one URL (``sqlite:///…`` or ``postgresql://…``)."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self.db.has_table("schema_migrations"):
            return 0
        row = self.db.query_one("SELECT max(version) FROM schema_migrations")
        return int(row[0] or 0) if row else 0

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; returns the versions applied."""
        applied = []
        with self.db.transaction():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at TEXT NOT NULL)"
            )
        current = self.schema_version()
        if current > LATEST:
            raise StoreError(f"the store is at schema {current}, newer than this paperfeed ({LATEST}): upgrade it")
        for m in MIGRATIONS:
            if m.version <= current:
                continue
            with self.db.transaction():
                self.db.executescript(m.script(self.dialect))
                self.db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, utcnow()),
                )
            applied.append(m.version)
        return applied

    def check(self) -> None:
        """Refuse to run on a store whose schema is not the one this code expects."""
        current = self.schema_version()
        if current < LATEST:
            raise StoreError(
                f"the store at {self.db.safe_url} is at schema {current}, this paperfeed needs {LATEST}: "
                "run `paperfeed init`"
            )
        if current > LATEST:
            raise StoreError(f"the store is at schema {current}, newer than this paperfeed ({LATEST}): upgrade it")

    # -- reading papers ----------------------------------------------------------------------------------------
    def _papers_from_rows(self, rows: list[tuple[Any, ...]], with_sightings: bool = True) -> list[Paper]:
        papers = [
            Paper(
                id=r[0],
                version=r[1],
                title=r[2],
                abstract=r[3],
                authors=orjson.loads(r[4]),
                categories=orjson.loads(r[5]),
                submitted=r[7],
                updated=r[8],
                announced=r[9],
                comments=r[10],
                journal_ref=r[11],
                doi=r[12],
                license=r[13],
                code_urls=orjson.loads(r[14]),
                project_urls=orjson.loads(r[15]),
                source="store",
            )
            for r in rows
        ]
        if not papers:
            return papers
        by_id = {p.id: p for p in papers}
        ids = list(by_id)
        for chunk in _chunks(ids, 900):
            marks = Database.placeholders(len(chunk))
            for pid, day, kind in self.db.query(
                f"SELECT paper_id, day, kind FROM paper_days WHERE paper_id IN ({marks}) ORDER BY paper_id, day",
                chunk,
            ):
                by_id[pid].listing_days[day] = kind
            if with_sightings:
                for pid, source, first, last, signals in self.db.query(
                    "SELECT paper_id, source, first_seen, last_seen, signals FROM paper_sources "
                    f"WHERE paper_id IN ({marks}) ORDER BY paper_id, first_seen, source",
                    chunk,
                ):
                    by_id[pid].sightings[source] = {
                        "first_seen": first,
                        "last_seen": last,
                        "signals": orjson.loads(signals),
                    }
        for paper in papers:
            paper.source = next(iter(paper.sightings), "store")
        return papers

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 900):
            rows = self.db.query(
                f"SELECT {_PAPER_COLS} FROM papers WHERE id IN ({Database.placeholders(len(chunk))})", chunk
            )
            found.update((p.id, p) for p in self._papers_from_rows(rows))
        return found

    def get_paper(self, paper_id: str) -> Paper:
        paper = self.get_papers([paper_id]).get(paper_id)
        if paper is None:
            raise NotFound(f"no paper with id {paper_id!r}")
        return paper

    def iter_papers(self, batch: int = 1000) -> Iterator[Paper]:
        """Every paper in id order, read in keyset-paged batches so memory stays flat."""
        last = ""
        while True:
            rows = self.db.query(
                f"SELECT {_PAPER_COLS} FROM papers WHERE id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            yield from self._papers_from_rows(rows)
            last = rows[-1][0]

    def count_papers(self) -> int:
        row = self.db.query_one("SELECT count(*) FROM papers WHERE deleted_at IS NULL")
        return int(row[0]) if row else 0

    # -- writing papers ----------------------------------------------------------------------------------------
    def upsert_papers(
        self,
        incoming: list[Paper],
        *,
        deleted: Iterable[str] = (),
        checkpoint: tuple[str, dict[str, Any] | None] | None = None,
        now: str | None = None,
    ) -> UpsertResult:
        """Merge a batch of sightings into the store in one transaction (with the checkpoint, if any)."""
        now = now or utcnow()
        result = UpsertResult()
        for paper in incoming:  # the parsers refuse these with file and line; this is the last line of defence
            if (problem := record_problem(paper)) is not None:
                raise BadInput(problem, where=paper.id[:MAX_ID])
        with self.db.transaction():
            stored = self.get_papers(p.id for p in incoming)
            pending: dict[str, Paper] = {}
            sightings: dict[tuple[str, str], dict[str, Any]] = {}
            for paper in incoming:
                # An export carries every sighting; any other source is one sighting of its own.
                seen_now = paper.sightings or {paper.source: {"signals": paper.signals}}
                base = pending.get(paper.id) or stored.get(paper.id)
                merged = merge(base, paper)
                merged.sightings = base.sightings if base else {}
                pending[paper.id] = merged
                for source, seen in seen_now.items():
                    prior = sightings.get((paper.id, source)) or merged.sightings.get(source)
                    sightings[(paper.id, source)] = {
                        "first_seen": seen.get("first_seen") or (prior or {}).get("first_seen") or now,
                        "last_seen": seen.get("last_seen") or now,
                        "signals": {**(prior or {}).get("signals", {}), **seen.get("signals", {})},
                    }
            paper_rows: list[tuple[Any, ...]] = []
            day_rows: list[tuple[str, str, str]] = []
            gone_days: list[tuple[str, str]] = []
            category_rows: list[tuple[str, str, int]] = []
            recategorised: list[str] = []
            for pid, paper in pending.items():
                old = stored.get(pid)
                digest = content_hash(paper)
                if old is None:
                    result.new += 1
                elif digest != content_hash(old):
                    result.updated += 1
                else:
                    continue
                result.changed_ids.append(pid)
                paper_rows.append(_paper_row(paper, digest, now))
                # Only days that are new or changed kind are written; a day the merge dropped (a derived day a real
                # listing replaced) is deleted.
                before = old.listing_days if old is not None else {}
                day_rows.extend((pid, day, kind) for day, kind in paper.listing_days.items() if before.get(day) != kind)
                gone_days.extend((pid, day) for day in before if day not in paper.listing_days)
                if old is None or old.categories != paper.categories:
                    if old is not None:
                        recategorised.append(pid)
                    category_rows.extend((pid, cat, i) for i, cat in enumerate(dict.fromkeys(paper.categories)))
            source_rows = []
            changed = set(result.changed_ids)
            for (pid, source), seen in sightings.items():
                old_seen = pending[pid].sightings.get(source)
                if old_seen is not None and old_seen["signals"] == seen["signals"]:
                    continue
                if pid not in changed:
                    changed.add(pid)
                    result.updated += 1
                    result.changed_ids.append(pid)
                source_rows.append((pid, source, seen["first_seen"], seen["last_seen"], _dumps(seen["signals"])))
            result.unchanged = len(pending) - len(changed)

            seq = self._next_seq()
            # Papers that were not in the store (read above, under the write lock) and their rows are plain inserts
            # (COPY straight into the table on PostgreSQL); only papers already stored need the merging upsert.
            db = self.db
            stamped = [(*row, seq + i) for i, row in enumerate(paper_rows)]
            db.insert_rows("papers", _WRITTEN_PAPER_COLUMNS, [r for r in stamped if r[0] not in stored])
            db.upsert_rows(
                "papers",
                _WRITTEN_PAPER_COLUMNS,
                [r for r in stamped if r[0] in stored],
                key=("id",),
                update=_UPDATED_PAPER_COLUMNS,
                extra_set="deleted_at = NULL",
            )
            db.executemany("DELETE FROM paper_days WHERE paper_id = ? AND day = ?", gone_days)
            day_columns = ("paper_id", "day", "kind")
            db.insert_rows("paper_days", day_columns, [r for r in day_rows if r[0] not in stored])
            db.upsert_rows(
                "paper_days",
                day_columns,
                [r for r in day_rows if r[0] in stored],
                key=day_columns[:2],
                update=("kind",),
            )
            for chunk in _chunks(recategorised, 900):
                db.execute(
                    f"DELETE FROM paper_categories WHERE paper_id IN ({Database.placeholders(len(chunk))})", chunk
                )
            db.insert_rows("paper_categories", ("paper_id", "category", "position"), category_rows)
            source_columns = ("paper_id", "source", "first_seen", "last_seen", "signals")
            db.insert_rows("paper_sources", source_columns, [r for r in source_rows if r[0] not in stored])
            db.upsert_rows(
                "paper_sources",
                source_columns,
                [r for r in source_rows if r[0] in stored],
                key=source_columns[:2],
                update=("last_seen", "signals"),
            )
            db.upsert_rows(
                "paper_activity",
                ("paper_id", "external_upvotes", "external_comments"),
                _activity_rows(pending, sightings, {pid for pid, source, *_ in source_rows}),
                key=("paper_id",),
                update=("external_upvotes", "external_comments"),
            )
            self._mark_deleted(list(deleted), now, self._next_seq())
            if checkpoint is not None:
                self._set_state(*checkpoint, now=now)
            if result.changed_ids or deleted:
                self._content_changed()  # signals and listing days change pages without a new seq
        return result

    def _next_seq(self) -> int:
        """The next change number; writers are serialised, so numbers are unique and commit in order."""
        row = self.db.query_one("SELECT max(seq) FROM papers")
        return int(row[0] or 0) + 1 if row else 1

    def _mark_deleted(self, ids: list[str], now: str, seq: int) -> None:
        for i, pid in enumerate(ids):
            self.db.execute(
                "UPDATE papers SET deleted_at = ?, seq = ? WHERE deleted_at IS NULL AND id = ?", (now, seq + i, pid)
            )

    # -- job state ---------------------------------------------------------------------------------------------
    def get_state(self, key: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT value FROM job_state WHERE key = ?", (key,))
        return orjson.loads(row[0]) if row else None

    def set_state(self, key: str, value: dict[str, Any] | None) -> None:
        with self.db.transaction():
            self._set_state(key, value, now=utcnow())

    def _set_state(self, key: str, value: dict[str, Any] | None, *, now: str) -> None:
        if value is None:
            self.db.execute("DELETE FROM job_state WHERE key = ?", (key,))
        else:
            self.db.execute(
                "INSERT INTO job_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, _dumps(value), now),
            )

    def acquire_lease(self, name: str, owner: str, seconds: int, now: float) -> bool:
        """Take (or renew) the named lease for ``seconds`` unless another owner holds an unexpired one.

        Jobs take a lease before running, so two workers — on one machine or many sharing this store — never run
        the same job at once; a crashed holder's lease simply expires."""
        key = f"lease:{name}"
        with self.db.transaction():
            held = self.get_state(key)
            if held and held.get("owner") != owner and float(held.get("expires", 0)) > now:
                return False
            self._set_state(key, {"owner": owner, "expires": now + seconds}, now=utcnow())
        return True

    def release_lease(self, name: str, owner: str) -> None:
        key = f"lease:{name}"
        with self.db.transaction():
            held = self.get_state(key)
            if held and held.get("owner") == owner:
                self._set_state(key, None, now=utcnow())

    # -- summaries ---------------------------------------------------------------------------------------------
    def stats(self, days: int = 14) -> dict[str, Any]:
        """Counts by source, primary category and (the latest) announcement days."""
        live = "deleted_at IS NULL"
        by_source = self.db.query(
            f"SELECT s.source, count(*) FROM paper_sources s JOIN papers p ON p.id = s.paper_id WHERE p.{live} "
            "GROUP BY s.source ORDER BY count(*) DESC, s.source"
        )
        by_category = self.db.query(
            f"SELECT primary_category, count(*) FROM papers WHERE {live} AND primary_category IS NOT NULL "
            "GROUP BY primary_category ORDER BY count(*) DESC, primary_category LIMIT 25"
        )
        by_day = self.db.query("SELECT day, count(*) FROM paper_days GROUP BY day ORDER BY day DESC LIMIT ?", (days,))
        deleted = self.db.query_one("SELECT count(*) FROM papers WHERE deleted_at IS NOT NULL")
        return {
            "papers": self.count_papers(),
            "deleted": int(deleted[0]) if deleted else 0,
            "by_source": dict(by_source),
            "by_primary_category": dict(by_category),
            "by_day": dict(by_day),
        }

    def latest_day(self) -> str | None:
        row = self.db.query_one("SELECT max(day) FROM paper_days")
        return row[0] if row else None

    def papers_on_day(self, day: str, limit: int = 50) -> list[Paper]:
        """Papers listed on ``day`` in the feed's order of listing kinds (replacements last), then by id."""
        rows = self.db.query(
            f"SELECT {', '.join('p.' + c.strip() for c in _PAPER_COLS.split(','))} FROM paper_days d "
            "JOIN papers p ON p.id = d.paper_id WHERE d.day = ? AND p.deleted_at IS NULL "
            f"ORDER BY {feed_rank_sql('d.kind')}, p.id LIMIT ?",
            (day, limit),
        )
        return self._papers_from_rows(rows, with_sightings=False)


def _activity_rows(
    pending: dict[str, Paper], written: dict[tuple[str, str], dict[str, Any]], changed: set[str]
) -> list[tuple[str, int, int]]:
    """(paper id, external upvotes, external comments) of the changed papers whose sightings carry activity
    signals: the sums over every source that carries them (the stored sightings, updated by this batch's)."""
    carried: dict[str, dict[str, dict[str, Any]]] = {}
    for (pid, source), seen in written.items():
        if pid not in changed:
            continue
        if pid not in carried:
            carried[pid] = {name: old["signals"] for name, old in pending[pid].sightings.items()}
        carried[pid][source] = seen["signals"]
    rows = []
    for pid, by_source in carried.items():
        with_activity = [s for s in by_source.values() if any(key in s for key in ACTIVITY_SIGNALS)]
        if with_activity:
            upvotes, comments = (sum(_count(s.get(key)) for s in with_activity) for key in ACTIVITY_SIGNALS)
            rows.append((pid, upvotes, comments))
    return rows


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _paper_row(p: Paper, digest: str, now: str) -> tuple[Any, ...]:
    return (
        p.id,
        p.version,
        p.title,
        p.abstract,
        _dumps(p.authors),
        _dumps(p.categories),
        p.primary_category,
        p.submitted,
        p.updated,
        p.announced,
        p.comments,
        p.journal_ref,
        p.doi,
        p.license,
        _dumps(p.code_urls),
        _dumps(p.project_urls),
        digest,
        now,
        now,
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
