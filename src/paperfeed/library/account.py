"""A member's whole account: exported as one JSON file, restored from it into any paperfeed, and deleted.

The export holds everything that is the member's: profile, upvotes, comments, ratings, the library (tags, notes,
reading state, when saved), collections (in their order) and email subscriptions. Restoring it (into a fresh
instance, or the same one) brings back the library, collections and ratings exactly, in one transaction; papers the
other store does not have are reported, not invented. Deleting removes the private data and keeps the member's public
comments (and submissions) only as text under an anonymous name; ``KEPT`` and ``REMOVED`` are what the page says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from paperfeed.community.rules import now_iso, require_member
from paperfeed.errors import BadInput, NotFound
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import STATES, RestoredCollection, RestoredEntry

FORMAT = "paperfeed-account"
VERSION = 1
REMOVED = (
    "your email address and password",
    "your sessions and API tokens",
    "your upvotes (papers' vote counts drop by yours)",
    "your private ratings",
    "your library: saved papers, tags, notes and reading states",
    "your collections, public ones included",
    "your For-you settings",
    "your email digest subscriptions",
)
KEPT = (
    "the text of your public comments, shown under an anonymous name instead of yours",
    "papers you submitted stay in the feed, credited to that anonymous name",
)


def export_account(store: Store, user: User | None) -> dict[str, Any]:
    """Everything that is the member's, as one JSON-ready document."""
    member = require_member(user)
    me = member.id
    entries = store.library_entries_of(me, store.library_ids(me, limit=1_000_000)[0])
    titles = {pid: p.title for pid, p in store.get_papers(list(entries)).items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now_iso(),
        "profile": {"name": member.name, "email": member.email, "role": member.role, "joined": member.created_at},
        "votes": [{"paper": pid, "at": at} for pid, at in store.votes_of(me)],
        "comments": [
            {"id": cid, "paper": pid, "body": body, "at": at, "hidden": hidden is not None}
            for cid, pid, body, at, hidden in store.comments_by(me)
        ],
        "ratings": [{"paper": pid, "value": value, "at": at} for pid, value, at in store.rating_rows(me)],
        "library": [
            {
                "paper": e.paper_id,
                "title": titles.get(e.paper_id, ""),
                "state": e.state,
                "tags": list(e.tags),
                "note": e.note,
                "saved_at": e.saved_at,
            }
            for e in sorted(entries.values(), key=lambda e: (e.saved_at, e.paper_id), reverse=True)
        ],
        "collections": [
            {
                "slug": c.slug,
                "name": c.name,
                "description": c.description,
                "public": c.public,
                "created_at": c.created_at,
                "papers": store.collection_paper_ids(c.id),
            }
            for c in store.collections_of(me)
        ],
        "subscriptions": [
            {k: v for k, v in s.to_dict().items() if k not in ("id", "user_id")}
            for s in store.subscribers(statuses=("pending", "active", "unsubscribed", "bounced"), user_id=me)
        ],
    }


@dataclass
class RestoreReport:
    library: int = 0  # entries restored
    collections: int = 0
    ratings: int = 0
    missing: list[str] = field(default_factory=list)  # papers this store does not have

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "collections": self.collections,
            "ratings": self.ratings,
            "missing": self.missing,
        }


def _field(item: Any, name: str, kind: type, where: str) -> Any:
    value = item.get(name) if isinstance(item, dict) else None
    if not isinstance(value, kind):
        raise BadInput(f"{name} must be a {kind.__name__}", where=where)
    return value


def restore_account(store: Store, user: User | None, data: bytes | str | dict[str, Any]) -> RestoreReport:
    """Bring back the library, collections and ratings of an account export, all or nothing."""
    member = require_member(user)
    try:
        doc = data if isinstance(data, dict) else orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}", where="file") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadInput("not a paperfeed account export (its format field is not paperfeed-account)", where="file")
    if doc.get("version") != VERSION:
        raise BadInput(f"this paperfeed reads account exports of version {VERSION}", where="version")
    items = [(f"library[{i}]", e) for i, e in enumerate(doc.get("library") or [])]
    cols = [(f"collections[{i}]", c) for i, c in enumerate(doc.get("collections") or [])]
    rated = [(f"ratings[{i}]", r) for i, r in enumerate(doc.get("ratings") or [])]
    named = [_field(e, "paper", str, w) for w, e in items]
    named += [p for w, c in cols for p in _field(c, "papers", list, w)]
    named += [_field(r, "paper", str, w) for w, r in rated]
    live = store.live_ids(p for p in named if isinstance(p, str))
    report = RestoreReport(missing=sorted({p for p in named if p not in live}))
    entries = []
    for where, e in items:
        state = _field(e, "state", str, where)
        if state not in STATES:
            raise BadInput(f"state must be one of {', '.join(STATES)}", where=where)
        tags = tuple(str(t) for t in _field(e, "tags", list, where))
        if e["paper"] in live:
            entries.append(
                RestoredEntry(e["paper"], tags, _field(e, "note", str, where), state, _field(e, "saved_at", str, where))
            )
    restored_cols = [
        RestoredCollection(
            _field(c, "slug", str, w),
            _field(c, "name", str, w),
            str(c.get("description") or ""),
            bool(c.get("public")),
            tuple(p for p in c["papers"] if p in live),
            c.get("created_at") if isinstance(c.get("created_at"), str) else None,
        )
        for w, c in cols
    ]
    ratings = [(r["paper"], int(_field(r, "value", int, w)), _field(r, "at", str, w)) for w, r in rated]
    ratings = [r for r in ratings if r[0] in live]
    store.restore_library(member.id, entries, now_iso(), collections=restored_cols, ratings=ratings)
    report.library, report.collections, report.ratings = len(entries), len(restored_cols), len(ratings)
    return report


def delete_account(store: Store, user: User | None, confirm: str) -> str:
    """Delete the member's account once they type their name to confirm; returns the anonymous name left behind."""
    member = require_member(user)
    if confirm.strip() != member.name:
        raise BadInput("type your member name exactly to confirm", where="confirm")
    if member.role == "admin" and store.count_admins() <= 1 and store.count_users() > 1:
        raise BadInput("you are the site's only admin: appoint another admin first", where="confirm")
    try:
        return store.delete_account(member.id, now_iso())
    except NotFound:
        raise NotFound("this account is already deleted") from None
