"""Where papers come from: one module per source, each a pure parser over bytes plus, if remote, a fetcher.

This package's root holds the three shapes every source shares, so that none of them needs to know another:
``Head`` (the first bytes of a file, as format sniffers look at them), ``ParsedPage`` (what every page parser
returns) and ``Batch`` (what readers and fetchers hand to the ingest, one transaction each). A batch may carry a
checkpoint (e.g. an OAI-PMH resumption token) that the store saves in that same transaction, so a harvest killed at
any moment resumes exactly where its last write ended. ``registry`` says which sources there are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any

import orjson

from paperfeed.papers import ParsedItem

_BOM = b"\xef\xbb\xbf"
_JSON_KEY_RE = re.compile(rb'"([A-Za-z_][\w\-]*)"\s*:')
_XML_COMMENT_RE = re.compile(rb"<!--.*?-->", re.DOTALL)
_XML_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_SNIFFED_LINES = 8


@dataclass
class Batch:
    items: list[ParsedItem]
    checkpoint: tuple[str, dict[str, Any] | None] | None = None  # (state key, value; None clears the key)
    meta: dict[str, Any] = field(default_factory=dict)
    # Every paper in it came through a parser's ``papers.checked`` (the record limits), so the store need not check
    # them again: set by the readers whose parsers all do (``files.read_file``).
    checked: bool = False


def batched(items: Iterable[ParsedItem], size: int = 1000) -> Iterator[Batch]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield Batch(chunk)


@dataclass
class ParsedPage:
    """What every page parser returns: the page's papers (or rejections) and where a paged list goes on.

    Single documents (a listing feed, a Daily Papers response, a seed page) fill ``items`` only; the paged sources
    fill what they have: OAI-PMH ``deleted``, ``resumption_token``, ``total`` (completeListSize), ``start``
    (cursor) and ``response_date``; the arXiv API ``total`` (totalResults), ``start`` (startIndex) and ``page_size``
    (itemsPerPage). ``resumption_token`` is None both when absent and when empty: either way the list is complete.
    """

    items: list[ParsedItem] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    resumption_token: str | None = None
    total: int | None = None
    start: int | None = None
    page_size: int | None = None
    response_date: str | None = None


class Head:
    """The first bytes of a file as the sources' sniffers see them (BOM and leading white space dropped).

    The costly views are computed once, on first use, whichever sniffer asks first: the first JSON object of a
    JSON Lines head, the key names of a single JSON line longer than the head, the root element of an XML one.
    """

    def __init__(self, data: bytes) -> None:
        self.text = data.removeprefix(_BOM).lstrip()

    @cached_property
    def lines(self) -> list[bytes]:
        return self.text.split(b"\n", _SNIFFED_LINES)[:_SNIFFED_LINES] if self.text[:1] == b"{" else []

    @cached_property
    def record(self) -> dict[str, Any] | None:
        """The first JSON object on one of the first lines (the head starts with ``{``); None if there is none."""
        for line in self.lines:
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
        return None

    @cached_property
    def cut_line_keys(self) -> dict[str, None] | None:
        """The key names shown by a single JSON line longer than the head (nested keys may slip in, but the keys
        detection looks for are top-level ones in every format); None unless the head is exactly that."""
        if self.record is not None or len(self.lines) != 1:
            return None
        return {k.decode("utf-8", "replace"): None for k in _JSON_KEY_RE.findall(self.text)}

    @cached_property
    def xml_root(self) -> str | None:
        """The local name of the root element of an XML head (comments skipped); None if the head is not XML."""
        if self.text[:1] != b"<":
            return None
        root = _XML_ROOT_RE.search(_XML_COMMENT_RE.sub(b"", self.text))
        return root.group(2).decode("ascii") if root else None

    @cached_property
    def folded(self) -> bytes:
        return self.text.lower()
