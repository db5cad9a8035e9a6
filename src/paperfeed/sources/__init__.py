"""Where papers come from: one module per source, each a pure parser over bytes plus, if remote, a fetcher.

Parsers yield ``Paper`` or ``Rejection`` items; readers group them into ``Batch`` values, the unit the ingest
writes in one transaction. A batch may carry a checkpoint (e.g. an OAI-PMH resumption token) that the store
saves in that same transaction, so a harvest killed at any moment resumes exactly where its last write ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from paperfeed.papers import ParsedItem


@dataclass
class Batch:
    items: list[ParsedItem]
    checkpoint: tuple[str, dict[str, Any] | None] | None = None  # (state key, value; None clears the key)
    meta: dict[str, Any] = field(default_factory=dict)


def batched(items: Iterable[ParsedItem], size: int = 1000) -> Iterator[Batch]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield Batch(chunk)
