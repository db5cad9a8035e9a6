"""Reading paper files of any supported format from disk: format detection, gzip, batching.

This is the one door for ``paperfeed ingest FILE``: it sniffs what a file is (``detect_format``), checks it
against a format the user named, and hands the bytes to the parser the format's entry in ``registry`` names. JSON
Lines formats stream line by line (the Kaggle snapshot is gigabytes); the page formats (OAI-PMH, arXiv API / RSS
feeds, Hugging Face daily papers, Daily Papers text pages) are single documents and are parsed whole. Gzip is
recognised by its magic bytes, not the file name, so ``.jsonl.gz``, ``.gz`` and renamed files all just work.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from paperfeed.errors import BadInput, NotFound, SourceError
from paperfeed.papers import ParsedItem
from paperfeed.sources import Batch, Head, ParsedPage, batched
from paperfeed.sources.jsonl import MAX_LINE
from paperfeed.sources.registry import FORMATS, SOURCES, sniff

SNIFF_BYTES = 8192
# Detection needs the whole first JSON line; a listings record with 3,000 authors runs to ~100 KB.
MAX_FIRST_LINE = 8 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def detect_format(path: Path) -> str:
    """Which of ``registry.FORMATS`` a file holds, judged from its first few KB (decompressed). Unknown →
    ``BadInput``."""
    detected = sniff(_head(path))
    if detected is None:
        raise BadInput(f"unrecognised file format (paperfeed reads: {', '.join(FORMATS)})", str(path))
    return detected


def read_file(path: Path, fmt: str | None = None, batch_size: int = 1000) -> Iterator[Batch]:
    """Papers (and rejections) from a file, in batches of ``batch_size``; each batch's meta names path and format.

    ``fmt`` None means detect. A named format the content contradicts, an unreadable file or a malformed page
    raises ``BadInput`` now, at the call; rejected records of a JSON Lines file come as ``Rejection`` items.
    """
    where = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r} (paperfeed reads: {', '.join(FORMATS)})", where)
    head = _head(path)
    detected = sniff(head)
    if fmt is None:
        if detected is None:
            raise BadInput(f"unrecognised file format (paperfeed reads: {', '.join(FORMATS)})", where)
        fmt = detected
    elif detected is not None and detected != fmt:
        raise BadInput(f"given as {fmt}, but the content looks like {detected}", where)
    source = SOURCES[fmt]
    if detected is None and source.read_lines and Head(head).text[:1] != b"{":
        # Undetected content is given the benefit of the doubt (e.g. a Kaggle extract without its version
        # fields), but JSON Lines at least starts like JSON.
        raise BadInput(f"given as {fmt}, but the content is not JSON Lines", where)
    meta = {"path": where, "format": fmt}
    if source.read_lines:
        return _with_meta(batched(source.read_lines(_lines(path), where), batch_size), meta)
    assert source.parse is not None  # every entry of FORMATS reads lines or parses pages
    items = _parse_page(source.parse, _read_all(path), where)
    return _with_meta(batched(items, batch_size), meta)


def _parse_page(parse: Callable[[bytes, str], ParsedPage], data: bytes, where: str) -> list[ParsedItem]:
    try:
        return parse(data, where).items
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
        batch.checked = True  # every parser of FORMATS returns its papers through papers.checked
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
            while line := f.readline(MAX_LINE + 1):
                lineno += 1
                if len(line) > MAX_LINE and not line.endswith(b"\n"):  # the parser refuses it; skip the rest
                    while (rest := f.readline(2**20)) and not rest.endswith(b"\n"):
                        pass
                yield line
        except _GZIP_ERRORS as exc:
            raise BadInput(f"corrupt gzip data after line {lineno}: {exc}", f"{path}:{lineno + 1}") from exc
