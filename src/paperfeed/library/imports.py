"""Cold start: a member's library from what they already have — a BibTeX or RIS export (Zotero, Mendeley, Google
Scholar, JabRef), a list of arXiv ids or URLs, or every paper of an author.

Each reference is matched to a paper in the store by its arXiv id (an ``eprint``/``arxivId`` field, an arxiv.org
URL, Scholar's "arXiv preprint arXiv:…" journal, arXiv's own 10.48550 DOI), else its DOI, else its normalised title
(case, accents, punctuation and LaTeX braces ignored). The report says what matched, how, and what did not. Input
is read whole before anything is written: a malformed file is refused naming its line, and the matched papers are
saved in one transaction, so an import never leaves a half-written library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from paperfeed.community.rules import now_iso, require_member
from paperfeed.errors import BadInput
from paperfeed.library.saves import MAX_TAGS, clean_tag, split_tags
from paperfeed.papers import normalise_title, split_arxiv_id
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import RestoredEntry

Format = Literal["bibtex", "ris", "ids"]
FORMATS: tuple[Format, ...] = ("bibtex", "ris", "ids")
MAX_BYTES = 5_000_000
MAX_REFERENCES = 5000
_DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
_ARXIV_DOI_RE = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_RIS_TAG_RE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*)|\s*)$")


@dataclass(frozen=True)
class Reference:
    """One item of an import, as read: where it is, what names it, and the tags it brings."""

    where: str  # "line 12"
    label: str  # what the report shows: the title, else the identifier
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "label": self.label, "arxiv_id": self.arxiv_id, "doi": self.doi}


@dataclass(frozen=True)
class Match:
    reference: Reference
    paper_id: str
    how: str  # "arXiv id" | "DOI" | "title" | "author"


@dataclass
class ImportReport:
    format: str
    matched: list[Match] = field(default_factory=list)
    unmatched: list[Reference] = field(default_factory=list)
    added: int = 0  # papers new in the library
    collection: str | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "matched": [{**m.reference.to_dict(), "paper": m.paper_id, "how": m.how} for m in self.matched],
            "unmatched": [r.to_dict() for r in self.unmatched],
            "added": self.added,
            "collection": self.collection,
            "dry_run": self.dry_run,
        }


# -- reading ---------------------------------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (a byte-order mark is dropped); anything else is refused by line."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"the file is larger than {MAX_BYTES // 1_000_000} MB", where="file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput("the file is not UTF-8 text (export it as UTF-8)", where=f"line {line}") from None


def sniff(text: str, filename: str = "") -> Format:
    """Which format a file is in, by its name and then by its first meaningful line."""
    name = filename.lower()
    if name.endswith((".bib", ".bibtex")):
        return "bibtex"
    if name.endswith(".ris"):
        return "ris"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        if stripped.startswith("@"):
            return "bibtex"
        if _RIS_TAG_RE.match(line.rstrip()):
            return "ris"
        return "ids"
    return "ids"


def _arxiv_in(*texts: str | None) -> str | None:
    for text in texts:
        if not text:
            continue
        doi = _ARXIV_DOI_RE.match(text.strip())
        found = split_arxiv_id(doi.group(1) if doi else text)
        if found is not None:
            return found[0]
        inside = re.search(r"arxiv[:\s./abspdf]*?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})", text, re.I)
        if inside:
            return inside.group(1)
    return None


def _doi_in(*texts: str | None) -> str | None:
    for text in texts:
        found = _DOI_RE.search(text or "")
        if found:
            return found.group(1).rstrip(".,;").lower()
    return None


def _file_tags(raw: Iterable[str]) -> tuple[str, ...]:
    """Tags a file brings (keywords); ones paperfeed cannot keep (too long, with commas) are left out."""
    kept: list[str] = []
    for text in raw:
        for part in re.split(r"[,;]", text):
            try:
                tag = clean_tag(part) if part.strip() else None
            except BadInput:
                continue
            if tag and tag not in kept:
                kept.append(tag)
    return tuple(kept[:MAX_TAGS])


def _reference(where: str, title: str | None, arxiv: str | None, doi: str | None, tags: tuple[str, ...]) -> Reference:
    title = " ".join(title.replace("{", "").replace("}", "").split()) if title else None
    return Reference(where, title or arxiv or doi or "(no title)", arxiv, doi, title, tags)


def parse_bibtex(text: str) -> list[Reference]:
    """References of a BibTeX / BibLaTeX file (bibtexparser 2, LaTeX accents decoded)."""
    from bibtexparser.entrypoint import parse_string
    from bibtexparser.middlewares import LatexDecodingMiddleware

    library = parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    if library.failed_blocks:
        first = min(library.failed_blocks, key=lambda b: b.start_line or 0)
        error = getattr(first, "error", None)
        said = (getattr(error, "abort_reason", None) or str(error or "")).strip()
        reason = said.splitlines()[0] if said else "this entry is not valid BibTeX"
        raise BadInput(f"{reason} (nothing was imported)", where=f"line {(first.start_line or 0) + 1}")
    refs = []
    for entry in library.entries:
        f = {k.lower(): str(v.value) for k, v in entry.fields_dict.items()}
        arxiv = None
        if f.get("eprint") and f.get("archiveprefix", "arxiv").lower() == "arxiv":
            arxiv = _arxiv_in(f["eprint"])
        arxiv = arxiv or _arxiv_in(f.get("arxivid"), f.get("doi"), f.get("url"), f.get("journal"), f.get("note"))
        arxiv = arxiv or _arxiv_in(f.get("eid"), f.get("howpublished"), f.get("pages"))
        doi = _doi_in(f.get("doi"))
        tags = _file_tags([f.get("keywords", ""), f.get("mendeley-tags", "")])
        refs.append(_reference(f"line {(entry.start_line or 0) + 1}", f.get("title"), arxiv, doi, tags))
    return refs


def parse_ris(text: str) -> list[Reference]:
    """References of an RIS file (rispy); every record must run from ``TY  -`` to ``ER  -``."""
    import rispy

    open_at: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        tagged = _RIS_TAG_RE.match(line.rstrip())
        if tagged and tagged.group(1) == "TY":
            if open_at is not None:
                raise BadInput("a record starts before the last one ended (no ER  - line)", where=f"line {number}")
            open_at = number
        elif tagged and tagged.group(1) == "ER":
            if open_at is None:
                raise BadInput("ER  - without a record (no TY  - line before it)", where=f"line {number}")
            open_at = None
        elif tagged and open_at is None:
            # Text between records (some exporters number them) is skipped; a field outside one is an error.
            raise BadInput("a field outside a record (no TY  - line before it)", where=f"line {number}")
    if open_at is not None:
        raise BadInput("this record never ends (no ER  - line)", where=f"line {open_at}")
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("TY  -")]
    if not starts:
        raise BadInput("no RIS records here (each starts with a 'TY  - ' line)", where="line 1")
    refs = []
    for start, record in zip(starts, rispy.loads(text), strict=True):
        urls = [*record.get("urls", []), *record.get("file_attachments1", []), *record.get("file_attachments2", [])]
        title = record.get("title") or record.get("primary_title") or record.get("short_title")
        journals = [record.get(k) for k in ("journal_name", "secondary_title", "alternate_title3", "notes_abstract")]
        arxiv = _arxiv_in(record.get("doi"), *urls, *journals, *record.get("notes", []), record.get("number"))
        doi = _doi_in(record.get("doi"))
        refs.append(_reference(f"line {start}", title, arxiv, doi, _file_tags(record.get("keywords", []))))
    return refs


def parse_ids(text: str) -> list[Reference]:
    """One arXiv id, arxiv.org URL or DOI per line (blank lines and ``#`` comments skipped)."""
    refs = []
    for number, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip() if not line.lstrip().startswith("http") else line.strip()
        if not item:
            continue
        arxiv = _arxiv_in(item)
        doi = None if arxiv else _doi_in(item)
        if arxiv is None and doi is None:
            raise BadInput(f"{item[:80]!r} is not an arXiv id, arxiv.org link or DOI", where=f"line {number}")
        refs.append(Reference(f"line {number}", item, arxiv, doi))
    return refs


def parse(text: str, fmt: Format) -> list[Reference]:
    refs = {"bibtex": parse_bibtex, "ris": parse_ris, "ids": parse_ids}[fmt](text)
    if len(refs) > MAX_REFERENCES:
        raise BadInput(f"import at most {MAX_REFERENCES} references at once", where="file")
    return refs


# -- matching --------------------------------------------------------------------------------------------------------
def match(store: Store, refs: Sequence[Reference]) -> tuple[list[Match], list[Reference]]:
    """Each reference's paper in the store: by arXiv id, else DOI, else normalised title (one exact title only)."""
    live = store.live_ids(r.arxiv_id for r in refs if r.arxiv_id)
    by_doi = store.ids_by_doi(r.doi for r in refs if r.doi)
    titles = [r.title for r in refs if r.title]
    by_title: dict[str, set[str]] = {}
    for pid, title in store.titles_like(titles):
        by_title.setdefault(normalise_title(title), set()).add(pid)
    matched, unmatched = [], []
    for ref in refs:
        if ref.arxiv_id and ref.arxiv_id in live:
            matched.append(Match(ref, ref.arxiv_id, "arXiv id"))
        elif ref.doi and ref.doi in by_doi:
            matched.append(Match(ref, by_doi[ref.doi], "DOI"))
        elif ref.title and len(found := by_title.get(normalise_title(ref.title), set())) == 1:
            matched.append(Match(ref, next(iter(found)), "title"))
        else:
            unmatched.append(ref)
    return matched, unmatched


# -- importing -------------------------------------------------------------------------------------------------------
def import_references(
    store: Store,
    user: User | None,
    data: bytes | str,
    *,
    filename: str = "",
    fmt: str = "auto",
    tags: str = "",
    collection: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Read a file (BibTeX, RIS, or a list of ids; ``auto`` tells them apart), match it, and save what matched —
    with the file's keywords and ``tags`` as tags, into ``collection`` (a slug, made private if new) when named."""
    member = require_member(user)
    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if fmt != "auto" and fmt not in FORMATS:
        raise BadInput(f"format must be auto or one of {', '.join(FORMATS)}", where="format")
    chosen: Format = sniff(text, filename) if fmt == "auto" else fmt  # type: ignore[assignment]
    refs = parse(text, chosen)
    matched, unmatched = match(store, refs)
    return _save(store, member, ImportReport(chosen, matched, unmatched), split_tags(tags), collection, dry_run)


def import_author(
    store: Store,
    user: User | None,
    name: str,
    *,
    tags: str = "",
    collection: str | None = None,
    dry_run: bool = False,
    limit: int = 200,
) -> ImportReport:
    """Every paper in the store by an author of exactly this name (ignoring case), newest first, up to ``limit``."""
    member = require_member(user)
    name = " ".join(name.split())
    if not 2 <= len(name) <= 200:
        raise BadInput("give the author's name as it is written on the papers", where="author")
    ids = store.ids_by_author(name, limit)
    report = ImportReport("author", [Match(Reference("author", name), pid, "author") for pid in ids])
    if not ids:
        report.unmatched.append(Reference("author", name))
    return _save(store, member, report, split_tags(tags), collection, dry_run)


def _save(
    store: Store, member: User, report: ImportReport, tags: list[str], collection: str | None, dry_run: bool
) -> ImportReport:
    from paperfeed.library.collections import ensure_collection

    report.dry_run = dry_run
    if dry_run or not report.matched:
        return report
    entries: dict[str, RestoredEntry] = {}
    for m in report.matched:
        before = entries.get(m.paper_id)
        merged = tuple(dict.fromkeys([*(before.tags if before else ()), *m.reference.tags, *tags]))[:MAX_TAGS]
        entries[m.paper_id] = RestoredEntry(m.paper_id, merged)
    now = now_iso()
    report.added = store.restore_library(member.id, list(entries.values()), now)
    if collection:
        target = ensure_collection(store, member, collection)
        store.add_to_collection(target.id, list(entries), now)
        report.collection = target.slug
    return report
