"""A member's library: saving papers, tags, a private note, the reading state, and the filtered listing.

The rules are here (who may, what a tag or note may look like, which filters exist); the store writes each change
as rows of its own in one transaction, so a tag added in one tab and a note written in another both land.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from paperfeed.community.rules import now_iso, require_member
from paperfeed.errors import BadInput
from paperfeed.papers import canonical_id
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import STATES, LibraryEntry

MAX_TAG = 64
MAX_TAGS = 20  # on one paper
MAX_NOTE = 5000
PAGE_SIZE = 50
_TAG_RE = re.compile(r"^[^\s,;#\x00-\x1f\x7f][^,;#\x00-\x1f\x7f]{0,63}$")


def clean_tag(tag: str) -> str:
    """A tag as stored: trimmed, inner spaces collapsed, case kept (``Reading group``); refused when unusable."""
    tag = " ".join(tag.split())
    if not _TAG_RE.match(tag):
        raise BadInput(f"a tag is 1–{MAX_TAG} characters without commas, semicolons or '#'", where="tag")
    return tag


def split_tags(text: str) -> list[str]:
    """Tags typed into one box, separated by commas (or semicolons, as reference managers write them)."""
    return list(dict.fromkeys(clean_tag(t) for t in re.split(r"[,;]", text) if t.strip()))


def save(store: Store, user: User | None, paper_id: str) -> bool:
    """Save a paper (to read); True when it is new in the library."""
    return store.save_paper(require_member(user).id, canonical_id(paper_id), now_iso())


def unsave(store: Store, user: User | None, paper_id: str) -> bool:
    """Take a paper out of the library (and out of the member's collections)."""
    return store.unsave_paper(require_member(user).id, canonical_id(paper_id))


def update(
    store: Store,
    user: User | None,
    paper_id: str,
    *,
    state: str | None = None,
    note: str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> LibraryEntry:
    """Change a saved paper's state, note or tags (saving it first when it is not saved yet)."""
    member = require_member(user)
    if state is not None and state not in STATES:
        raise BadInput(f"state must be one of {', '.join(STATES)}", where="state")
    if note is not None:
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise BadInput(f"a note is at most {MAX_NOTE} characters", where="note")
    adding = [clean_tag(t) for t in add_tags]
    removing = [" ".join(t.split()) for t in remove_tags]
    pid = canonical_id(paper_id)
    current = store.library_entry(member.id, pid)
    if len(set(current.tags if current else ()) | set(adding)) > MAX_TAGS:
        raise BadInput(f"a paper has at most {MAX_TAGS} tags", where="tag")
    return store.update_entry(member.id, pid, now_iso(), state=state, note=note, add_tags=adding, remove_tags=removing)


@dataclass
class LibraryListing:
    """One page of a member's library under the filters asked for."""

    ids: list[str]
    entries: dict[str, LibraryEntry]
    total: int
    page: int
    pages: int
    tag: str = ""
    state: str = ""
    text: str = ""
    tags: list[tuple[str, int]] = field(default_factory=list)  # every tag of the member, with its count
    saved: int = 0  # papers in the library, whatever the filters


def listing(
    store: Store,
    user: User | None,
    *,
    tag: str = "",
    state: str = "",
    text: str = "",
    page: int = 1,
    limit: int = PAGE_SIZE,
) -> LibraryListing:
    """The member's saved papers, newest saved first, filtered by tag, reading state and words (title, authors,
    abstract, note, tags)."""
    member = require_member(user)
    if state and state not in STATES:
        raise BadInput(f"state must be one of {', '.join(STATES)}", where="state")
    if len(text) > 200:
        raise BadInput("search the library with at most 200 characters", where="q")
    if not 1 <= limit <= 500 or page < 1 or page > 10_000:
        raise BadInput("page from 1, limit from 1 to 500", where="page")
    ids, total = store.library_ids(
        member.id,
        tag=tag or None,
        state=state or None,
        text=text or None,
        limit=limit,
        offset=(page - 1) * limit,
    )
    unfiltered = total if not (tag or state or text) else store.library_ids(member.id, limit=1)[1]
    return LibraryListing(
        ids,
        store.library_entries_of(member.id, ids),
        total,
        page,
        max(1, -(-total // limit)),
        tag,
        state,
        text,
        store.tag_counts(member.id),
        unfiltered,
    )


def rate(store: Store, user: User | None, paper_id: str, value: int) -> int:
    """A private "more like this" (1) / "less like this" (-1) on a paper, or 0 to take it back; returns it."""
    store.set_rating(require_member(user).id, canonical_id(paper_id), value, now_iso())
    return value
