"""Reference-manager documents for papers: RIS (written by rispy) and CSL-JSON (the citeproc data model), beside
``bibtex.py``'s BibTeX.

Both carry what a reference manager needs to find the paper again: the arXiv id (RIS ``UR`` to the abs page and the
10.48550 DOI arXiv registers; CSL ``number`` and ``URL``), the DOI, authors split into family and given names, the
date, the abstract, and optionally the member's tags and note (only in their own exports).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from paperfeed.formats.bibtex import citation_key
from paperfeed.papers import Paper

_SUFFIX_RE = re.compile(r"^(?:Jr|Sr|II|III|IV)\.?$")


def split_name(name: str) -> tuple[str, str]:
    """(family, given): "Ada Lovelace" → ("Lovelace", "Ada"); "Lovelace, Ada" stays so; a mononym is a family name."""
    name = " ".join(name.split())
    if "," in name:
        head, _, rest = name.partition(",")
        if not _SUFFIX_RE.match(rest.strip()):
            return head.strip(), rest.strip()
        name = head
    given, _, family = name.rpartition(" ")
    return family, given


def _date_parts(paper: Paper) -> list[int] | None:
    for value in (paper.submitted, paper.announced, paper.updated):
        if value and re.match(r"\d{4}-\d{2}-\d{2}", value):
            return [int(value[:4]), int(value[5:7]), int(value[8:10])]
    return None


def _doi(paper: Paper) -> str | None:
    return paper.doi or (f"10.48550/arXiv.{paper.id}" if paper.is_arxiv else None)


def ris_record(paper: Paper, tags: Sequence[str] = (), note: str = "") -> dict[str, Any]:
    """One RIS record as rispy's dictionary."""
    record: dict[str, Any] = {
        "type_of_reference": "GEN" if paper.is_arxiv else "JOUR",
        "id": citation_key(paper),
        "title": " ".join(paper.title.split()),
        "authors": [", ".join(p for p in split_name(a) if p) for a in paper.authors],
    }
    parts = _date_parts(paper)
    if parts:
        record["year"] = str(parts[0])
        record["date"] = f"{parts[0]:04d}/{parts[1]:02d}/{parts[2]:02d}"
    if paper.abstract:
        record["abstract"] = " ".join(paper.abstract.split())
    if (doi := _doi(paper)) is not None:
        record["doi"] = doi
    urls = [paper.abs_url] if paper.is_arxiv and paper.abs_url else []
    if urls:
        record["urls"] = urls
        record["publisher"] = "arXiv"
        record["number"] = f"arXiv:{paper.id}"
    if paper.journal_ref:
        record["journal_name"] = paper.journal_ref
    if tags:
        record["keywords"] = list(tags)
    if note:
        record["notes"] = [note]
    return record


def ris(records: Sequence[dict[str, Any]]) -> str:
    """RIS text of rispy records (empty for none), without the "1." line rispy numbers records with by default:
    Zotero, Mendeley and EndNote start each record at its ``TY`` line."""
    import rispy

    class _Writer(rispy.RisWriter):  # type: ignore[misc]
        def set_header(self, count: int) -> str:
            return ""

    return rispy.dumps(list(records), implementation=_Writer) if records else ""


def csl_item(paper: Paper, tags: Sequence[str] = (), note: str = "") -> dict[str, Any]:
    """One CSL-JSON item (``article`` for preprints, as Zotero and citeproc write them)."""
    item: dict[str, Any] = {
        "id": citation_key(paper),
        "type": "article" if paper.is_arxiv else "article-journal",
        "title": " ".join(paper.title.split()),
        "author": [
            {"family": family, "given": given} if given else {"literal": family}
            for family, given in (split_name(a) for a in paper.authors)
        ],
    }
    parts = _date_parts(paper)
    if parts:
        item["issued"] = {"date-parts": [parts]}
    if paper.abstract:
        item["abstract"] = " ".join(paper.abstract.split())
    if (doi := _doi(paper)) is not None:
        item["DOI"] = doi
    if paper.is_arxiv:
        item["publisher"] = "arXiv"
        item["number"] = paper.id
        item["URL"] = paper.abs_url
    if paper.journal_ref:
        item["container-title"] = paper.journal_ref
    if tags:
        item["keyword"] = ", ".join(tags)
    if note:
        item["note"] = note
    return item
