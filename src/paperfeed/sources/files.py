"""Reading paper files of any supported format from disk: format detection, gzip, batching.

This is the one door for ``paperfeed ingest FILE``: it sniffs what a file is (``detect_format``), checks it
against a format the user named, and hands the bytes to the right pure parser. JSON Lines formats stream line by
line (the Kaggle snapshot is gigabytes); the page formats (OAI-PMH, arXiv API / RSS feeds, Hugging Face daily
papers, Daily Papers text pages) are single documents and are parsed whole. Gzip is recognised by its magic
bytes, not the file name, so ``.jsonl.gz``, ``.gz`` and renamed files all just work.
"""

from __future__ import annotations

import gzip
import importlib
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from paperfeed.errors import BadInput, NotFound, SourceError
from paperfeed.papers import ParsedItem
from paperfeed.sources import Batch, batched
from paperfeed.sources.jsonl import JSONL_FORMATS, detect_jsonl_format, parse_jsonl
from paperfeed.sources.seeds import looks_like_seed_page, parse_seed_page

FORMATS = ("paperfeed", "kaggle", "listings", "beir", "seeds", "arxiv-oai", "arxiv-api", "arxiv-rss", "hf-daily")
SNIFF_BYTES = 8192
# Detection needs the whole first JSON line; a listings record with 3,000 authors runs to ~100 KB.
MAX_FIRST_LINE = 8 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_HF_PAPER_KEY_RE = re.compile(rb'"paper"\s*:')
_JSON_KEY_RE = re.compile(rb'"([A-Za-z_][\w\-]*)"\s*:')
_XML_COMMENT_RE = re.compile(rb"<!--.*?-->", re.DOTALL)
_XML_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_API_MARKERS = (b"opensearch", b"arxiv.org/api", b"arxiv query")
_RSS_MARKERS = (b"announce_type", b"rss.arxiv.org")
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def _page_items(module: str, function: str) -> Callable[[bytes, str], list[ParsedItem]]:
    """A whole-document parser from another source module, imported only when such a file is read."""

    def parse(data: bytes, where: str) -> list[ParsedItem]:
        try:
            parser = getattr(importlib.import_module(f"paperfeed.sources.{module}"), function)
        except (ImportError, AttributeError) as exc:
            raise BadInput(f"this paperfeed cannot read this format ({module}.{function} is missing)", where) from exc
        result = parser(data, where)
        return list(getattr(result, "items", result))  # OAI and API parsers return a page, the others a list

    return parse


_PAGE_PARSERS: dict[str, Callable[[bytes, str], list[ParsedItem]]] = {
    "seeds": parse_seed_page,
    "arxiv-oai": _page_items("oai", "parse_oai_page"),
    "arxiv-api": _page_items("arxiv_api", "parse_api_feed"),
    "arxiv-rss": _page_items("arxiv_rss", "parse_listing_feed"),
    "hf-daily": _page_items("hf_daily", "parse_daily_papers"),
}


def detect_format(path: Path) -> str:
    """Which of ``FORMATS`` a file holds, judged from its first few KB (decompressed). Unknown → ``BadInput``."""
    detected = sniff_format(_head(path))
    if detected is None:
        raise BadInput(f"unrecognised file format (paperfeed reads: {', '.join(FORMATS)})", str(path))
    return detected


def sniff_format(head: bytes) -> str | None:
    """The format of a file whose first bytes are ``head``; None when nothing fits. Pure: no I/O."""
    text = head.removeprefix(_BOM).lstrip()
    if text[:1] == b"{":
        lines = text.split(b"\n", 8)[:8]
        for line in lines:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                return detect_jsonl_format(record) or ("hf-daily" if "paper" in record else None)
        if len(lines) == 1:
            # One line longer than we read: judge by the key names it shows (nested keys may slip in, but the
            # keys detection looks for are top-level ones in every format).
            keys = {k.decode("utf-8", "replace"): None for k in _JSON_KEY_RE.findall(text)}
            if detected := detect_jsonl_format(keys):
                return detected
        # Not one object per line: a pretty-printed JSON document.
        return "hf-daily" if _HF_PAPER_KEY_RE.search(text) else None
    if text[:1] == b"[":
        return "hf-daily" if _HF_PAPER_KEY_RE.search(text) else None
    if text[:1] == b"<":
        return _sniff_xml(text)
    return "seeds" if looks_like_seed_page(text.decode("utf-8", errors="replace")) else None


def _sniff_xml(text: bytes) -> str | None:
    root = _XML_ROOT_RE.search(_XML_COMMENT_RE.sub(b"", text))
    if root is None:
        return None
    name = root.group(2).decode("ascii")
    folded = text.lower()
    if name == "OAI-PMH":
        return "arxiv-oai"
    if name == "feed":
        if any(m in folded for m in _API_MARKERS):
            return "arxiv-api"
        if any(m in folded for m in _RSS_MARKERS):
            return "arxiv-rss"
        return None
    if name in ("rss", "RDF"):  # RSS 2.0, and arXiv's older RSS 1.0 (rdf:RDF) feeds
        return "arxiv-rss"
    return None


def read_file(path: Path, fmt: str | None = None, batch_size: int = 1000) -> Iterator[Batch]:
    """Papers (and rejections) from a file, in batches of ``batch_size``; each batch's meta names path and format.

    ``fmt`` None means detect. A named format the content contradicts, an unreadable file or a malformed page
    raises ``BadInput`` now, at the call; rejected records of a JSON Lines file come as ``Rejection`` items.
    """
    where = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r} (paperfeed reads: {', '.join(FORMATS)})", where)
    head = _head(path)
    detected = sniff_format(head)
    if fmt is None:
        if detected is None:
            raise BadInput(f"unrecognised file format (paperfeed reads: {', '.join(FORMATS)})", where)
        fmt = detected
    elif detected is not None and detected != fmt:
        raise BadInput(f"given as {fmt}, but the content looks like {detected}", where)
    elif detected is None and fmt in JSONL_FORMATS and head.removeprefix(_BOM).lstrip()[:1] != b"{":
        # Undetected content is given the benefit of the doubt (e.g. a Kaggle extract without its version
        # fields), but JSON Lines at least starts like JSON.
        raise BadInput(f"given as {fmt}, but the content is not JSON Lines", where)
    meta = {"path": where, "format": fmt}
    if fmt in JSONL_FORMATS:
        return _with_meta(batched(parse_jsonl(_lines(path), where, fmt), batch_size), meta)
    items = _parse_page(_PAGE_PARSERS[fmt], _read_all(path), where)
    return _with_meta(batched(items, batch_size), meta)


def _parse_page(parse: Callable[[bytes, str], list[ParsedItem]], data: bytes, where: str) -> list[ParsedItem]:
    try:
        return parse(data, where)
    except BadInput:
        raise
    except SourceError as exc:
        # E.g. a saved OAI-PMH <error> response: from a file, nothing remote failed — the input is what we refuse.
        raise BadInput(f"the file holds an error response: {exc}", where) from exc
    except (SyntaxError, ValueError) as exc:
        # The page parsers should raise BadInput themselves; this keeps a stray XML / JSON / decoding error
        # from reaching the user as a traceback. xml.etree's ParseError carries .position, JSON errors .lineno.
        position = getattr(exc, "position", None)
        line = position[0] if isinstance(position, tuple) else getattr(exc, "lineno", None)
        raise BadInput(f"malformed content: {exc}", f"{where}:{line}" if line else where) from exc


def _with_meta(batches: Iterable[Batch], meta: dict[str, Any]) -> Iterator[Batch]:
    for batch in batches:
        batch.meta.update(meta)
        yield batch


def _open(path: Path) -> io.BufferedIOBase:
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
        return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")
    except FileNotFoundError as exc:
        raise NotFound(f"no such file: {path}", str(path)) from exc
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", str(path)) from exc


def _head(path: Path) -> bytes:
    with _open(path) as f:
        try:
            head = f.read(SNIFF_BYTES)
            if b"\n" not in head and len(head) == SNIFF_BYTES:
                head += f.readline(MAX_FIRST_LINE)
        except _GZIP_ERRORS as exc:
            raise BadInput(f"corrupt gzip data: {exc}", str(path)) from exc
    return head


def _read_all(path: Path) -> bytes:
    with _open(path) as f:
        try:
            return f.read()
        except _GZIP_ERRORS as exc:
            raise BadInput(f"corrupt gzip data: {exc}", str(path)) from exc


def _lines(path: Path) -> Iterator[bytes]:
    """The file's lines, streamed; a gzip stream that breaks off mid-file is reported with the line it reached."""
    lineno = 0
    with _open(path) as f:
        try:
            for lineno, line in enumerate(f, 1):  # noqa: B007 - lineno is read in the except clause
                yield line
        except _GZIP_ERRORS as exc:
            raise BadInput(f"corrupt gzip data after line {lineno}: {exc}", f"{path}:{lineno + 1}") from exc
