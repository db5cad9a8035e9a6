"""Reading ahead in a child process gives exactly the batches of reading inline, and its failures."""

from __future__ import annotations

import gzip
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.errors import BadInput, PaperfeedError
from paperfeed.ingest.read_ahead import read_ahead
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper, Rejection
from paperfeed.sources import Batch
from paperfeed.sources.files import read_file
from paperfeed.store import Store


def _listings(path: Path, n: int, broken_at: int | None = None) -> Path:
    lines = []
    for i in range(n):
        if i == broken_at:
            lines.append(b"{not json")
            continue
        lines.append(
            b'{"id": "2501.%05d", "title": "Paper %d", "summary": "About %d.", "authors": ["A B"], '
            b'"categories": ["cs.LG"], "listing_dates": ["2025-01-0%d"], "comment": null}' % (i, i, i, 1 + i % 5)
        )
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return path


def _shape(batches: Iterator[Batch]) -> list[list[tuple[str, str]]]:
    return [[(x.where, x.reason) if isinstance(x, Rejection) else (x.id, x.title) for x in b.items] for b in batches]


def test_same_batches_as_reading_inline(tmp_path: Path) -> None:
    path = _listings(tmp_path / "l.jsonl.gz", 2500, broken_at=1234)
    inline = _shape(read_file(path, batch_size=300))
    ahead = _shape(read_ahead(read_file(path, batch_size=300)))
    assert ahead == inline
    assert len(inline) == 9
    assert (f"{path}:1235", inline[4][34][1]) == inline[4][34]  # the rejection keeps its file and line


def test_error_in_the_child_is_raised_here_at_its_batch() -> None:
    def batches() -> Iterator[Batch]:
        yield Batch([Paper(id="2501.00001", title="One")])
        raise BadInput("corrupt gzip data", "f.jsonl.gz:7")

    it = read_ahead(batches())
    assert next(it).items[0].id == "2501.00001"
    with pytest.raises(BadInput) as caught:
        next(it)
    assert caught.value.where == "f.jsonl.gz:7"
    assert caught.value.reason == "corrupt gzip data"


def test_a_child_that_dies_is_reported_not_waited_for() -> None:
    def batches() -> Iterator[Batch]:
        yield Batch([Paper(id="2501.00001", title="One")])
        os.kill(os.getpid(), signal.SIGKILL)
        yield Batch([])

    # (What it had yielded may be lost with it: only the error is certain, and that nothing hangs.)
    with pytest.raises(PaperfeedError, match="stopped without finishing"):
        list(read_ahead(batches()))


def test_ingest_through_read_ahead_then_again_is_a_no_op(store: Store, tmp_path: Path) -> None:
    path = _listings(tmp_path / "l.jsonl.gz", 1200)
    first = ingest(store, read_ahead(read_file(path, batch_size=500)))
    assert (first.new, first.rejected) == (1200, 0)
    again = ingest(store, read_ahead(read_file(path, batch_size=500)))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1200)
    assert store.count_papers() == 1200
