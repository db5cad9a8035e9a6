"""The data of the library's pages — a member's library, a collection, the import report, the account page — built
once from the ``paperfeed.library`` core and rendered as HTML or JSON (``to_dict``), like ``views.py``'s."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paperfeed.formats.hf import hf_datetime, object_id, user_json
from paperfeed.library import account, collections, saves
from paperfeed.library.imports import ImportReport
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import Collection, LibraryEntry
from paperfeed.web.views import Entry, _ordered, entries

STARTER_CATEGORIES = 12  # categories offered to a member with no signals yet


@dataclass
class LibraryView:
    listing: saves.LibraryListing
    entries: list[Entry]
    collections: list[Collection]
    has_signals: bool  # anything saved, rated or upvoted: else the page offers imports and categories
    categories: list[tuple[str, int]] = field(default_factory=list)

    def entry(self, paper_id: str) -> LibraryEntry:
        return self.listing.entries[paper_id]

    def to_dict(self) -> dict[str, Any]:
        lst = self.listing
        return {
            "total": lst.total,
            "saved": lst.saved,
            "page": lst.page,
            "pages": lst.pages,
            "filters": {"tag": lst.tag, "state": lst.state, "q": lst.text},
            "tags": [{"tag": t, "papers": n} for t, n in lst.tags],
            "papers": [{**e.to_dict(), **_entry_dict(lst.entries[e.paper.id])} for e in self.entries],
            "collections": [collection_dict(c) for c in self.collections],
            "has_signals": self.has_signals,
            "starter_categories": [c for c, _ in self.categories],
        }


def _entry_dict(e: LibraryEntry) -> dict[str, Any]:
    return {"state": e.state, "tags": list(e.tags), "note": e.note, "saved_at": e.saved_at}


def collection_dict(c: Collection) -> dict[str, Any]:
    return {
        "slug": c.slug,
        "owner": c.owner,
        "name": c.name,
        "description": c.description,
        "public": c.public,
        "papers": c.size,
        "url": f"/u/{c.owner}/collections/{c.slug}",
        "updated_at": c.updated_at,
    }


def library_view(
    store: Store, user: User | None, *, tag: str = "", state: str = "", text: str = "", page: int = 1
) -> LibraryView:
    listing = saves.listing(store, user, tag=tag, state=state, text=text, page=page)
    assert user is not None
    has_signals = listing.saved > 0 or bool(store.interest_signals(user.id))
    starter = [] if has_signals else list(store.stats(days=1)["by_primary_category"].items())[:STARTER_CATEGORIES]
    return LibraryView(
        listing,
        entries(store, _ordered(store, listing.ids), user),
        store.collections_of(user.id),
        has_signals,
        starter,
    )


@dataclass
class CollectionView:
    page: collections.CollectionPage
    entries: list[Entry]
    library: dict[str, LibraryEntry]  # the owner's own entries, shown only to the owner

    @property
    def collection(self) -> Collection:
        return self.page.collection

    def to_dict(self) -> dict[str, Any]:
        return {
            **collection_dict(self.collection),
            "papers": [
                {**e.to_dict(), **(_entry_dict(self.library[e.paper.id]) if e.paper.id in self.library else {})}
                for e in self.entries
            ],
        }


def collection_view(store: Store, viewer: User | None, owner: str, slug: str) -> CollectionView:
    shown = collections.page(store, viewer, owner, slug)
    own = store.library_entries_of(shown.collection.owner_id, shown.paper_ids) if shown.mine else {}
    return CollectionView(shown, entries(store, _ordered(store, shown.paper_ids), viewer), own)


def hf_collection_json(view: CollectionView, base_url: str) -> dict[str, Any]:
    """A collection in the shape of Hugging Face's collections API (``huggingface_hub.Collection`` reads it)."""
    c = view.collection
    return {
        "slug": f"{c.owner}/{c.slug}",
        "title": c.name,
        "description": c.description,
        "owner": user_json(c.owner),
        "items": [
            {
                "_id": object_id("collection-item", str(c.id), e.paper.id),
                "position": i,
                "type": "paper",
                "id": e.paper.id,
                "title": e.paper.title,
                "publishedAt": hf_datetime(e.paper.submitted or e.paper.announced),
                "upvotes": e.upvotes,
                "numComments": e.activity.comments,
                "thumbnailUrl": f"{base_url}/papers/{e.paper.id}/thumbnail.svg",
            }
            for i, e in enumerate(view.entries)
        ],
        "lastUpdated": hf_datetime(datetime.fromisoformat(c.updated_at)),
        "position": 0,
        "private": not c.public,
        "theme": "indigo",
        "upvotes": 0,
        "isUpvotedByUser": False,
        "shareUrl": f"{base_url}/u/{c.owner}/collections/{c.slug}",
        "gating": False,
    }


@dataclass
class ImportView:
    report: ImportReport | None
    entries: dict[str, Entry]  # the matched papers, to show their titles

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict() if self.report else {}


def import_view(store: Store, user: User | None, report: ImportReport | None) -> ImportView:
    ids = [m.paper_id for m in report.matched] if report else []
    return ImportView(report, {e.paper.id: e for e in entries(store, _ordered(store, ids), user)})


@dataclass
class AccountView:
    member: User
    removed: tuple[str, ...] = account.REMOVED
    kept: tuple[str, ...] = account.KEPT
    not_restored: tuple[tuple[str, str], ...] = account.NOT_RESTORED
    upload_mb: int = account.MAX_BYTES // 1_000_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.member.name,
            "deleting_removes": list(self.removed),
            "deleting_keeps": list(self.kept),
            "restore_leaves_out": dict(self.not_restored),
            "restore_max_mb": self.upload_mb,
        }
