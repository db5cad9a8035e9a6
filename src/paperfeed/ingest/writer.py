"""Writing parsed batches from any source into the store, with a summary of new / updated / unchanged / rejected.

The core of ``paperfeed ingest`` and of the worker's harvest job. Each batch is one transaction (with its
checkpoint, for resumable harvests), so killing the process at any moment leaves the store consistent and a re-run
finishes the job. Rejected records are counted and reported with where they came from; ``strict`` stops at the first
one before anything of its batch is written.

A batch is prepared for the store (``prepared``: its papers checked and turned into rows by ``store.prepare``) before
it is written; a bulk ingest prepares its batches in the process that parses them (``read_ahead(map(prepared, …))``)
so that the writing process only writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from paperfeed.errors import BadInput
from paperfeed.papers import Rejection
from paperfeed.sources import Batch
from paperfeed.store import Store
from paperfeed.store.prepare import PreparedPapers, prepare_papers

MAX_KEPT_REJECTIONS = 1000


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged

    def to_dict(self, with_rejections: int = 20) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "deleted": self.deleted,
            "rejections": [{"where": r.where, "reason": r.reason} for r in self.rejections[:with_rejections]],
        }


@dataclass
class PreparedBatch:
    """A batch whose papers are ready for ``Store.upsert_papers``, with its rejections, checkpoint and meta."""

    papers: PreparedPapers
    rejections: list[Rejection]
    checkpoint: tuple[str, dict[str, Any] | None] | None
    meta: dict[str, Any]
    size: int  # items read, rejections included


def prepared(batch: Batch) -> PreparedBatch:
    """The batch with its papers prepared for the store (needs no store: a read-ahead child runs this)."""
    papers = [item for item in batch.items if not isinstance(item, Rejection)]
    rejections = [item for item in batch.items if isinstance(item, Rejection)] if len(papers) < len(batch.items) else []
    ready = prepare_papers(papers, checked=batch.checked)
    return PreparedBatch(ready, rejections, batch.checkpoint, batch.meta, len(batch.items))


def ingest(
    store: Store,
    batches: Iterable[Batch | PreparedBatch],
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    keep_changed_ids: bool = False,
    after_batch: Callable[[], None] | None = None,
) -> IngestReport:
    """Write every batch; returns counts of new / updated / unchanged / rejected papers."""
    report = IngestReport()
    for each in batches:
        batch = prepared(each) if isinstance(each, Batch) else each
        for rejection in batch.rejections:
            if strict:
                raise BadInput(rejection.reason, rejection.where)
            report.rejected += 1
            if len(report.rejections) < MAX_KEPT_REJECTIONS:
                report.rejections.append(rejection)
        deleted = list(batch.meta.get("deleted", ()))
        result = store.upsert_papers(batch.papers, deleted=deleted, checkpoint=batch.checkpoint)
        report.new += result.new
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.deleted += len(deleted)
        if keep_changed_ids:
            report.changed_ids.extend(result.changed_ids)
        if progress is not None:
            progress(batch.size)
        if after_batch is not None:
            after_batch()
    return report
