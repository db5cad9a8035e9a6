"""Collections: a member's named, hand-ordered lists of papers, private or public (public ones have a page, a feed
and the Hugging Face collection JSON).

The rules live here: slugs, names and descriptions, who may see (the owner, or anyone once public) and who may change
(only the owner), moving a paper up or down without JavaScript. Papers in a collection are always in the owner's
library: adding saves, unsaving removes (the store's foreign keys keep it so).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from paperfeed.community.rules import now_iso, require_member
from paperfeed.errors import BadInput, NotFound
from paperfeed.papers import canonical_id
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import Collection

MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_ITEMS = 2000
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def slugify(name: str) -> str:
    """``"Reading group: week 3"`` → ``reading-group-week-3`` (ASCII, for URLs)."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "collection"


def check_slug(slug: str) -> str:
    if not _SLUG_RE.match(slug):
        raise BadInput("a collection's address is 1–60 lower-case letters, digits or '-'", where="slug")
    return slug


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME:
        raise BadInput(f"give the collection a name of 1–{MAX_NAME} characters", where="name")
    return name


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_DESCRIPTION:
        raise BadInput(f"a description is at most {MAX_DESCRIPTION} characters", where="description")
    return text


def create(
    store: Store, user: User | None, name: str, *, description: str = "", public: bool = False, slug: str = ""
) -> Collection:
    """A new collection; its slug comes from the name unless given (``-2``, ``-3`` … when taken)."""
    member = require_member(user)
    name = _name(name)
    if slug:
        chosen = check_slug(slug)
    else:
        base = slugify(name)
        taken = {c.slug for c in store.collections_of(member.id)}
        chosen = next(s for s in [base, *(f"{base[:55]}-{n}" for n in range(2, 10_000))] if s not in taken)
    return store.create_collection(member.id, chosen, name, _description(description), public, now_iso())


def ensure_collection(store: Store, member: User, slug_or_name: str) -> Collection:
    """The member's collection at this slug, else a new private one named so (imports into a collection)."""
    found = store.collection_by_slug(member.name, slugify(slug_or_name))
    return found or create(store, member, slug_or_name)


def owned(store: Store, user: User | None, collection_id: int) -> Collection:
    """The member's own collection (another member's, or an unknown one, is NotFound: ids cannot be probed)."""
    member = require_member(user)
    try:
        found = store.collection(collection_id)
    except NotFound:
        found = None
    if found is None or found.owner_id != member.id:
        raise NotFound(f"no collection {collection_id}")
    return found


def visible(store: Store, viewer: User | None, owner: str, slug: str) -> Collection:
    """A collection as ``viewer`` may see it: public ones to anyone, private ones to their owner only."""
    found = store.collection_by_slug(owner, slug)
    if found is None or not (found.public or (viewer is not None and viewer.id == found.owner_id)):
        raise NotFound(f"no collection {owner}/{slug}")
    return found


def update(
    store: Store,
    user: User | None,
    collection_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    public: bool | None = None,
) -> Collection:
    owned(store, user, collection_id)
    return store.update_collection(
        collection_id,
        now_iso(),
        name=_name(name) if name is not None else None,
        description=_description(description) if description is not None else None,
        public=public,
    )


def delete(store: Store, user: User | None, collection_id: int) -> None:
    """Delete the collection; its papers stay in the library."""
    owned(store, user, collection_id)
    store.delete_collection(collection_id)


def add(store: Store, user: User | None, collection_id: int, paper_ids: Sequence[str]) -> int:
    found = owned(store, user, collection_id)
    ids = list(dict.fromkeys(canonical_id(p) for p in paper_ids))
    if found.size + len(ids) > MAX_ITEMS:
        raise BadInput(f"a collection holds at most {MAX_ITEMS} papers", where="paper")
    return store.add_to_collection(collection_id, ids, now_iso())


def remove(store: Store, user: User | None, collection_id: int, paper_id: str) -> bool:
    owned(store, user, collection_id)
    return store.remove_from_collection(collection_id, canonical_id(paper_id), now_iso())


def reorder(store: Store, user: User | None, collection_id: int, paper_ids: Sequence[str]) -> list[str]:
    """Put the collection in this order (every paper it holds, once)."""
    owned(store, user, collection_id)
    store.reorder_collection(collection_id, [canonical_id(p) for p in paper_ids], now_iso())
    return store.collection_paper_ids(collection_id)


def move(store: Store, user: User | None, collection_id: int, paper_id: str, by: int) -> list[str]:
    """Move one paper ``by`` places (negative: up), for the page's up/down buttons that need no JavaScript."""
    owned(store, user, collection_id)
    order = store.collection_paper_ids(collection_id)
    pid = canonical_id(paper_id)
    if pid not in order:
        raise NotFound(f"{pid} is not in this collection")
    at = order.index(pid)
    order.insert(max(0, min(len(order) - 1, at + by)), order.pop(at))
    store.reorder_collection(collection_id, order, now_iso())
    return order


@dataclass(frozen=True)
class CollectionPage:
    """What a collection's page, feed and JSON show."""

    collection: Collection
    paper_ids: list[str]
    mine: bool


def page(store: Store, viewer: User | None, owner: str, slug: str) -> CollectionPage:
    found = visible(store, viewer, owner, slug)
    return CollectionPage(
        found, store.collection_paper_ids(found.id), viewer is not None and viewer.id == found.owner_id
    )
