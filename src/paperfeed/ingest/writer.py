"""Writing parsed batches from any source into the store, with a summary of new / updated / unchanged / rejected.

The core of ``paperfeed ingest`` and of the worker's harvest job. Each batch is one transaction (with its
checkpoint, for resumable harvests), so killing the process at any moment leaves the store consistent and a re-run
finishes the job. Rejected records are counted and reported with where they came from; ``strict`` stops at the first
one before anything of its batch is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, Rejection
from paperfeed.sources import Batch
from paperfeed.store import Store

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


def ingest(
    store: Store,
    batches: Iterable[Batch],
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    keep_changed_ids: bool = False,
    after_batch: Callable[[], None] | None = None,
) -> IngestReport:
    """Write every batch; returns counts of new / updated / unchanged / rejected papers."""
    report = IngestReport()
    for batch in batches:
        papers: list[Paper] = []
        for item in batch.items:
            if isinstance(item, Rejection):
                if strict:
                    raise BadInput(item.reason, item.where)
                report.rejected += 1
                if len(report.rejections) < MAX_KEPT_REJECTIONS:
                    report.rejections.append(item)
            else:
                papers.append(item)
        deleted = list(batch.meta.get("deleted", ()))
        result = store.upsert_papers(papers, deleted=deleted, checkpoint=batch.checkpoint)
        report.new += result.new
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.deleted += len(deleted)
        if keep_changed_ids:
            report.changed_ids.extend(result.changed_ids)
        if progress is not None:
            progress(len(batch.items))
        if after_batch is not None:
            after_batch()
    return report
