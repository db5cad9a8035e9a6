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
from paperfeed.papers import Paper, content_hash, merge
from paperfeed.store.account import AccountStoreMixin
from paperfeed.store.community import CommunityStoreMixin
from paperfeed.store.db import Database
from paperfeed.store.library import LibraryStoreMixin
from paperfeed.store.listing import ListingStoreMixin, feed_rank_sql
from paperfeed.store.migrations import LATEST, MIGRATIONS
from paperfeed.store.prepare import (
    ACTIVITY_SIGNALS,
    HASH_COLUMN,
    PreparedPapers,
    count,
    dumps,
    paper_row,
    prepare_papers,
)
from paperfeed.store.recommend import RecommendStoreMixin
from paperfeed.store.search import SearchStoreMixin
from paperfeed.store.subscriptions import SubscriptionStoreMixin
from paperfeed.store.summaries import SummaryStoreMixin

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


@dataclass
class _Merged:
    """The rows a batch's merged papers change."""

    paper_rows: list[tuple[Any, ...]] = field(default_factory=list)
    day_rows: list[tuple[str, str, str]] = field(default_factory=list)
    gone_days: list[tuple[str, str]] = field(default_factory=list)
    category_rows: list[tuple[str, str, int]] = field(default_factory=list)
    recategorised: list[str] = field(default_factory=list)
    source_rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    activity_rows: list[tuple[str, int, int]] = field(default_factory=list)


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
        for condition, params in self.db.any_of("paper_id", ids):
            for pid, day, kind in self.db.query(
                f"SELECT paper_id, day, kind FROM paper_days WHERE {condition} ORDER BY paper_id, day", params
            ):
                by_id[pid].listing_days[day] = kind
            if with_sightings:
                for pid, source, first, last, signals in self.db.query(
                    "SELECT paper_id, source, first_seen, last_seen, signals FROM paper_sources "
                    f"WHERE {condition} ORDER BY paper_id, first_seen, source",
                    params,
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
        for condition, params in self.db.any_of("id", list(dict.fromkeys(ids))):
            rows = self.db.query(f"SELECT {_PAPER_COLS} FROM papers WHERE {condition}", params)
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
        incoming: list[Paper] | PreparedPapers,
        *,
        deleted: Iterable[str] = (),
        checkpoint: tuple[str, dict[str, Any] | None] | None = None,
        now: str | None = None,
    ) -> UpsertResult:
        """Merge a batch of sightings into the store in one transaction (with the checkpoint, if any); the batch may
        come prepared (``store.prepare``: checked and encoded where it was parsed)."""
        now = now or utcnow()
        batch = incoming if isinstance(incoming, PreparedPapers) else prepare_papers(incoming)
        if batch.problem is not None:
            raise BadInput(batch.problem[0], where=batch.problem[1])
        result = UpsertResult()
        with self.db.transaction():
            ids = batch.ids
            present = self._stored_hashes(ids)  # read under the write lock: nobody adds papers until we commit
            # Papers already stored, or sighted twice here, are merged; every other one is written as prepared.
            held = present.keys() | batch.repeated
            rows, days, categories, sources, activity = (
                batch.rows,
                batch.days,
                batch.categories,
                batch.sources,
                batch.activity,
            )
            if held:
                rows, days, categories, sources, activity = (
                    [r for r in part if r[0] not in held] for part in (rows, days, categories, sources, activity)
                )
            result.new = len(rows)
            result.changed_ids = [r[0] for r in rows]
            same = self._unchanged(batch, present) if present else set()
            result.unchanged = len(same)
            stored = self.get_papers(present.keys() - same) if len(present) > len(same) else {}
            merging = [batch.paper(i) for i, pid in enumerate(ids) if pid in held and pid not in same]
            merged = self._merge(merging, stored, now, result)

            seq = self._next_seq()
            # Papers that were not in the store and their rows are plain inserts (COPY straight into the table on
            # PostgreSQL); only papers already stored need the merging upsert.
            db = self.db
            stamped = [(*row, now, now, seq + i) for i, row in enumerate([*rows, *merged.paper_rows])]
            db.insert_rows("papers", _WRITTEN_PAPER_COLUMNS, [r for r in stamped if r[0] not in stored])
            db.upsert_rows(
                "papers",
                _WRITTEN_PAPER_COLUMNS,
                [r for r in stamped if r[0] in stored],
                key=("id",),
                update=_UPDATED_PAPER_COLUMNS,
                extra_set="deleted_at = NULL",
            )
            db.executemany("DELETE FROM paper_days WHERE paper_id = ? AND day = ?", merged.gone_days)
            day_columns = ("paper_id", "day", "kind")
            db.insert_rows("paper_days", day_columns, [*days, *(r for r in merged.day_rows if r[0] not in stored)])
            db.upsert_rows(
                "paper_days",
                day_columns,
                [r for r in merged.day_rows if r[0] in stored],
                key=day_columns[:2],
                update=("kind",),
            )
            for condition, params in db.any_of("paper_id", merged.recategorised):
                db.execute(f"DELETE FROM paper_categories WHERE {condition}", params)
            category_columns = ("paper_id", "category", "position")
            db.insert_rows("paper_categories", category_columns, [*categories, *merged.category_rows])
            source_columns = ("paper_id", "source", "first_seen", "last_seen", "signals")
            db.insert_rows(
                "paper_sources",
                source_columns,
                [
                    *((pid, src, first or now, last or now, signals) for pid, src, first, last, signals in sources),
                    *(r for r in merged.source_rows if r[0] not in stored),
                ],
            )
            db.upsert_rows(
                "paper_sources",
                source_columns,
                [r for r in merged.source_rows if r[0] in stored],
                key=source_columns[:2],
                update=("last_seen", "signals"),
            )
            db.upsert_rows(
                "paper_activity",
                ("paper_id", "external_upvotes", "external_comments"),
                [*activity, *merged.activity_rows],
                key=("paper_id",),
                update=("external_upvotes", "external_comments"),
            )
            if deleted := list(deleted):
                self._mark_deleted(deleted, now, self._next_seq())
            if checkpoint is not None:
                self._set_state(*checkpoint, now=now)
            if result.changed_ids or deleted:
                self._content_changed()  # signals and listing days change pages without a new seq
        return result

    def _stored_hashes(self, ids: list[str]) -> dict[str, str]:
        """The stored content hash of each of ``ids`` the store holds (deleted papers too)."""
        found: dict[str, str] = {}
        for condition, params in self.db.any_of("id", ids):
            found.update(self.db.query(f"SELECT id, content_hash FROM papers WHERE {condition}", params))
        return found

    def _unchanged(self, batch: PreparedPapers, stored: dict[str, str]) -> set[str]:
        """Stored papers the batch sights once, saying what the store says (the same content hash) and bringing no
        signal their stored sightings lack: nothing of them changes, so they are neither read nor merged. (A merge
        of equal contents is the stored content, and a sighting's signals are merged over the stored ones.)"""
        same = {row[0] for row in batch.rows if stored.get(row[0]) == row[HASH_COLUMN] and row[0] not in batch.repeated}
        if not same:
            return same
        signals: dict[tuple[str, str], dict[str, Any]] = {}
        for condition, params in self.db.any_of("paper_id", list(same)):
            for pid, source, text in self.db.query(
                f"SELECT paper_id, source, signals FROM paper_sources WHERE {condition}", params
            ):
                signals[(pid, source)] = orjson.loads(text)
        for pid, source, _, _, text in batch.sources:
            if pid in same:
                old = signals.get((pid, source))
                if old is None or {**old, **orjson.loads(text)} != old:
                    same.discard(pid)
        return same

    def _merge(self, incoming: list[Paper], stored: dict[str, Paper], now: str, result: UpsertResult) -> _Merged:
        """The rows that change for sightings of papers the store holds or the batch sights more than once: each
        sighting merged with what is stored and the batch's earlier ones (``papers.merge``), and only what changed
        kept; counts go to ``result``."""
        out = _Merged()
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
        changed: list[str] = []
        for pid, paper in pending.items():
            old = stored.get(pid)
            digest = content_hash(paper)
            if old is None:
                result.new += 1
            elif digest != content_hash(old):
                result.updated += 1
            else:
                continue
            changed.append(pid)
            out.paper_rows.append(paper_row(paper, digest))
            # Only days that are new or changed kind are written; a day the merge dropped (a derived day a real
            # listing replaced) is deleted.
            before = old.listing_days if old is not None else {}
            out.day_rows.extend((pid, day, kind) for day, kind in paper.listing_days.items() if before.get(day) != kind)
            out.gone_days.extend((pid, day) for day in before if day not in paper.listing_days)
            if old is None or old.categories != paper.categories:
                if old is not None:
                    out.recategorised.append(pid)
                out.category_rows.extend((pid, cat, i) for i, cat in enumerate(dict.fromkeys(paper.categories)))
        changed_set = set(changed)
        for (pid, source), seen in sightings.items():
            old_seen = pending[pid].sightings.get(source)
            if old_seen is not None and old_seen["signals"] == seen["signals"]:
                continue
            if pid not in changed_set:
                changed_set.add(pid)
                result.updated += 1
                changed.append(pid)
            out.source_rows.append((pid, source, seen["first_seen"], seen["last_seen"], dumps(seen["signals"])))
        result.unchanged += len(pending) - len(changed_set)
        result.changed_ids.extend(changed)
        out.activity_rows = _activity_rows(pending, sightings, {pid for pid, source, *_ in out.source_rows})
        return out

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
                (key, dumps(value), now),
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
            upvotes, comments = (sum(count(s.get(key)) for s in with_activity) for key in ACTIVITY_SIGNALS)
            rows.append((pid, upvotes, comments))
    return rows
