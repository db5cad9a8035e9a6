"""A batch of papers made ready for ``Store.upsert_papers`` where it was parsed: checked, hashed and turned into rows.

Before it writes a batch the store refuses records over its limits (``papers.record_problem``), hashes what each
paper says (``papers.content_hash``) and encodes each paper as rows of plain values. None of that needs the
database, so a bulk ingest does it in the process that parses the file (``ingest.read_ahead``'s child) while the
writer writes the previous batch, and the pipe between them carries the rows alone: plain tuples of strings, which
cost the writer a sixth of what receiving ``Paper`` objects did (their author lists are many small strings).
``upsert_papers`` takes a list of papers (and prepares it itself) or a ``PreparedPapers``: the result is the same.

For a paper the store does not hold and the batch sights once — nearly every paper of a first import — the rows
made here are the rows written, finished with the batch's time and change numbers. Every other paper is rebuilt
from its rows and merged with what is stored (``papers.merge``) under the writers' lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from paperfeed.papers import MAX_ID, Paper, content_hash, record_problem

# The signals that are a paper's activity elsewhere (trending counts them), whichever source carries them: each
# source's registry entry says which signals its sightings carry; the store knows signals, not sources.
ACTIVITY_SIGNALS = ("upvotes", "num_comments")


HASH_COLUMN = 16  # where a ``papers`` row holds the content hash


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass
class PreparedPapers:
    """A batch of sightings as the store writes them. Row lists hold the rows of every paper in the batch; the
    store writes them as they are for the papers it does not hold and the batch sights once."""

    rows: list[tuple[Any, ...]]  # each paper's ``papers`` row up to content_hash (created_at, modified_at, seq last)
    sighted: list[tuple[dict[str, str], str, dict[str, Any], dict[str, dict[str, Any]]]]  # the rest of the paper:
    # (listing days, source, signals, sightings), to rebuild it for a merge
    days: list[tuple[str, str, str]]  # (paper id, day, kind)
    categories: list[tuple[str, str, int]]  # (paper id, category, position)
    sources: list[tuple[str, str, str | None, str | None, str]]  # first/last seen None: when the batch is written
    activity: list[tuple[str, int, int]]  # (paper id, external upvotes, external comments)
    repeated: frozenset[str]  # ids the batch sights more than once
    problem: tuple[str, str] | None  # (reason, where) for the first record the store refuses

    @property
    def ids(self) -> list[str]:
        return [row[0] for row in self.rows]

    def paper(self, i: int) -> Paper:
        """The ``i``-th paper as it was given (its list fields come back from their JSON)."""
        r = self.rows[i]
        listing_days, source, signals, sightings = self.sighted[i]
        return Paper(
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
            listing_days=listing_days,
            source=source,
            signals=signals,
            sightings=sightings,
        )

    def __len__(self) -> int:
        return len(self.rows)


def prepare_papers(papers: list[Paper], *, checked: bool = False) -> PreparedPapers:
    """The batch checked, hashed and encoded; a record the store refuses is kept as ``problem`` (and nothing else
    of it is prepared), which ``upsert_papers`` raises before it writes anything of the batch. ``checked``: every
    paper came through ``papers.checked`` already (a parser's), which makes the same checks."""
    batch = PreparedPapers([], [], [], [], [], [], frozenset(), None)
    for paper in () if checked else papers:  # the parsers refuse these with file and line: the last line of defence
        if (problem := record_problem(paper)) is not None:
            batch.problem = (problem, paper.id[:MAX_ID])
            return batch
    counts = Counter(p.id for p in papers)
    if len(counts) < len(papers):
        batch.repeated = frozenset(pid for pid, n in counts.items() if n > 1)
    for paper in papers:
        pid = paper.id
        batch.sighted.append((paper.listing_days, paper.source, paper.signals, paper.sightings))
        batch.rows.append(paper_row(paper, content_hash(paper)))
        batch.days.extend((pid, day, kind) for day, kind in paper.listing_days.items())
        batch.categories.extend((pid, cat, i) for i, cat in enumerate(dict.fromkeys(paper.categories)))
        # An export carries every sighting; any other source is one sighting of its own.
        seen_now = paper.sightings or {paper.source: {"signals": paper.signals}}
        with_activity: list[dict[str, Any]] = []
        for source, seen in seen_now.items():
            signals = {**seen.get("signals", {})}
            batch.sources.append(
                (pid, source, seen.get("first_seen") or None, seen.get("last_seen") or None, dumps(signals))
            )
            if any(key in signals for key in ACTIVITY_SIGNALS):
                with_activity.append(signals)
        if with_activity:
            upvotes, comments = (sum(count(s.get(key)) for s in with_activity) for key in ACTIVITY_SIGNALS)
            batch.activity.append((pid, upvotes, comments))
    return batch


def count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def paper_row(p: Paper, digest: str) -> tuple[Any, ...]:
    """The paper's ``papers`` row up to its content hash (the write adds created_at, modified_at and seq)."""
    return (
        p.id,
        p.version,
        p.title,
        p.abstract,
        dumps(p.authors),
        dumps(p.categories),
        p.primary_category,
        p.submitted,
        p.updated,
        p.announced,
        p.comments,
        p.journal_ref,
        p.doi,
        p.license,
        dumps(p.code_urls),
        dumps(p.project_urls),
        digest,
    )
