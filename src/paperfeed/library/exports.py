"""Taking papers out: the library (or the part a filter shows) and any collection as BibTeX, RIS or CSL-JSON, for
Zotero, Mendeley, JabRef, BibDesk and pandoc.

A member's own exports carry their tags (BibTeX ``keywords``, RIS ``KW``, CSL ``keyword``) and notes (``annote``,
``N1``, ``note``), so importing the file back brings the tags along; a public collection exported by someone else
carries neither (they are the owner's private data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson

from paperfeed.errors import BadInput
from paperfeed.formats.bibtex import bibtex, escape
from paperfeed.formats.citations import csl_item, ris, ris_record
from paperfeed.library import collections
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import LibraryEntry

ExportFormat = Literal["bibtex", "ris", "csl"]
EXPORT_FORMATS: dict[str, tuple[str, str]] = {  # format → (file extension, media type)
    "bibtex": ("bib", "application/x-bibtex; charset=utf-8"),
    "ris": ("ris", "application/x-research-info-systems; charset=utf-8"),
    "csl": ("json", "application/vnd.citationstyles.csl+json"),
}
MAX_EXPORT = 10_000


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    text: str
    count: int


def check_format(fmt: str) -> ExportFormat:
    if fmt not in EXPORT_FORMATS:
        raise BadInput(f"format must be one of {', '.join(EXPORT_FORMATS)}", where="format")
    return fmt  # type: ignore[return-value]


def render(
    store: Store, paper_ids: Sequence[str], fmt: str, name: str, entries: dict[str, LibraryEntry] | None = None
) -> Export:
    """Papers (in this order) as one document; ``entries`` adds the member's tags and notes."""
    chosen = check_format(fmt)
    found = store.get_papers(paper_ids)
    papers = [found[i] for i in paper_ids if i in found]
    entries = entries or {}

    def extra(pid: str) -> tuple[tuple[str, ...], str]:
        e = entries.get(pid)
        return (e.tags, e.note) if e else ((), "")

    if chosen == "bibtex":
        parts = []
        for paper in papers:
            tags, note = extra(paper.id)
            entry = bibtex(paper)
            added = ([f"  keywords = {{{escape(', '.join(tags))}}}"] if tags else []) + (
                [f"  annote = {{{escape(note)}}}"] if note else []
            )
            if added:
                entry = entry.rstrip().removesuffix("}").rstrip() + ",\n" + ",\n".join(added) + "\n}\n"
            parts.append(entry)
        text = "\n".join(parts)
    elif chosen == "ris":
        text = ris([ris_record(p, *extra(p.id)) for p in papers])
    else:
        text = orjson.dumps([csl_item(p, *extra(p.id)) for p in papers], option=orjson.OPT_INDENT_2).decode() + "\n"
    ext, media = EXPORT_FORMATS[chosen]
    return Export(f"{name}.{ext}", media, text, len(papers))


def library_export(
    store: Store, user: User | None, fmt: str, *, tag: str = "", state: str = "", text: str = ""
) -> Export:
    """The member's library (what these filters show; all of it without) with their tags and notes."""
    from paperfeed.library.saves import listing

    shown = listing(store, user, tag=tag, state=state, text=text, limit=500)
    ids = list(shown.ids)
    page = 1
    while len(ids) < min(shown.total, MAX_EXPORT):
        page += 1
        ids += listing(store, user, tag=tag, state=state, text=text, limit=500, page=page).ids
    assert user is not None
    return render(store, ids, fmt, "library", store.library_entries_of(user.id, ids))


def collection_export(store: Store, viewer: User | None, owner: str, slug: str, fmt: str) -> Export:
    """A collection in its order; its owner's own export carries their tags and notes."""
    shown = collections.page(store, viewer, owner, slug)
    entries = store.library_entries_of(shown.collection.owner_id, shown.paper_ids) if shown.mine else None
    return render(store, shown.paper_ids, fmt, shown.collection.slug, entries)
