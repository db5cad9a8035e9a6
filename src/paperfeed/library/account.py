"""A member's whole account: exported as one JSON file, restored from it into any paperfeed, and deleted.

The export holds everything that is the member's: profile, upvotes, comments, ratings, the library (tags, notes,
reading state, when saved), collections (in their order), the For-you blend and email subscriptions. Restoring it
(into a fresh instance, or the same one) brings back the library, collections, ratings, upvotes and blend exactly, in
one transaction, and restoring it twice changes nothing; papers the other store does not have are reported, not
invented. Comments and subscriptions are not restored, for the reasons in ``NOT_RESTORED``. Deleting removes the
private data and keeps the member's public comments (and submissions) only as text under an anonymous name; ``KEPT``
and ``REMOVED`` are what the page says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from paperfeed.community.rules import now_iso, require_member
from paperfeed.errors import BadInput, NotFound
from paperfeed.library.saves import MAX_NOTE, MAX_TAGS, clean_tag
from paperfeed.recommend.blend import check_weight
from paperfeed.store import Store
from paperfeed.store.community import User
from paperfeed.store.library import STATES, RestoredCollection, RestoredEntry

FORMAT = "paperfeed-account"
VERSION = 1
MAX_BYTES = 20_000_000  # an export of 10,000 saved papers with notes is ~5 MB
NOT_RESTORED = (  # in the file, but not brought back: what and why (the account page says it)
    (
        "comments",
        "a comment belongs to the discussion it was written in, on the site where it was written: replayed here it "
        "would appear in threads that never had it, dated before the replies it never got",
    ),
    (
        "subscriptions",
        "an email digest is sent only to an address that confirmed it wants it, on this site (double opt-in): "
        "subscribe again in your settings",
    ),
)
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
        "preferences": {"personal_weight": store.personal_weight(me)},
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
    votes: int = 0
    personal_weight: int | None = None  # the blend restored, if the export had one
    missing: list[str] = field(default_factory=list)  # papers this store does not have
    not_restored: dict[str, int] = field(
        default_factory=dict
    )  # what the file holds that is not restored (NOT_RESTORED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "collections": self.collections,
            "ratings": self.ratings,
            "votes": self.votes,
            "personal_weight": self.personal_weight,
            "missing": self.missing,
            "not_restored": self.not_restored,
        }

    @property
    def summary(self) -> str:
        """What came back and what did not, in a few sentences (the account page and the CLI say it)."""
        said = (
            f"Restored {_count(self.library, 'saved paper')}, {_count(self.collections, 'collection')}, "
            f"{_count(self.ratings, 'rating')} and {_count(self.votes, 'upvote')}"
        )
        said += f", and your blend ({self.personal_weight} % personal)." if self.personal_weight is not None else "."
        if self.missing:
            shown = ", ".join(self.missing[:20]) + (" …" if len(self.missing) > 20 else "")
            said += f" {_count(len(self.missing), 'paper')} of the file are not on this site: {shown}."
        left = [_count(n, what.removesuffix("s")) for what, n in self.not_restored.items() if n]
        if left:
            said += f" Not restored, as the account page explains: {' and '.join(left)}."
        return said


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _field(item: Any, name: str, kind: type, where: str) -> Any:
    value = item.get(name) if isinstance(item, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadInput(f"{name} must be a {kind.__name__}", where=where)
    return value


def _list(doc: dict[str, Any], name: str) -> list[Any]:
    value = doc.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{name} must be a list", where=name)
    return value


def _when(item: Any, name: str, where: str, now: str) -> str:
    """A time of the export as it was written (an ISO 8601 time with its offset); one in the future is now."""
    text = _field(item, name, str, where)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 time like 2026-11-20T09:30:00+00:00", where=where) from None
    if at.tzinfo is None:
        raise BadInput(f"{name} must say its UTC offset (…+00:00)", where=where)
    if at > datetime.fromisoformat(now):
        return now
    return text if at.utcoffset() == timedelta(0) else at.astimezone(UTC).isoformat()  # stored times are UTC


def restore_account(store: Store, user: User | None, data: bytes | str | dict[str, Any]) -> RestoreReport:
    """Bring back the library, collections, ratings, upvotes and blend of an account export, all or nothing, in one
    transaction; restoring the same file again changes nothing. Papers this store does not have are reported."""
    member = require_member(user)
    if isinstance(data, bytes | str) and len(data) > MAX_BYTES:
        raise BadInput(f"the file is larger than {MAX_BYTES // 1_000_000} MB", where="file")
    try:
        doc = data if isinstance(data, dict) else orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}", where="file") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadInput("not a paperfeed account export (its format field is not paperfeed-account)", where="file")
    if doc.get("version") != VERSION:
        raise BadInput(f"this paperfeed reads account exports of version {VERSION}", where="version")
    now = now_iso()
    items = [(f"library[{i}]", e) for i, e in enumerate(_list(doc, "library"))]
    cols = [(f"collections[{i}]", c) for i, c in enumerate(_list(doc, "collections"))]
    rated = [(f"ratings[{i}]", r) for i, r in enumerate(_list(doc, "ratings"))]
    voted = [(f"votes[{i}]", v) for i, v in enumerate(_list(doc, "votes"))]
    named = [_field(e, "paper", str, w) for w, e in items]
    for w, c in cols:
        papers = _field(c, "papers", list, w)
        if not all(isinstance(p, str) for p in papers):
            raise BadInput("papers must be a list of paper ids", where=w)
        named += papers
    named += [_field(r, "paper", str, w) for w, r in rated]
    named += [_field(v, "paper", str, w) for w, v in voted]
    live = store.live_ids(named)
    report = RestoreReport(missing=sorted({p for p in named if p not in live}))
    entries = []
    for where, e in items:
        state = _field(e, "state", str, where)
        if state not in STATES:
            raise BadInput(f"state must be one of {', '.join(STATES)}", where=where)
        try:
            tags = tuple(dict.fromkeys(clean_tag(t) for t in _field(e, "tags", list, where) if isinstance(t, str)))
        except BadInput as exc:
            raise BadInput(str(exc), where=where) from None
        if len(tags) > MAX_TAGS:
            raise BadInput(f"a paper has at most {MAX_TAGS} tags", where=where)
        note = _field(e, "note", str, where)
        if len(note) > MAX_NOTE:
            raise BadInput(f"a note is at most {MAX_NOTE} characters", where=where)
        saved_at = _when(e, "saved_at", where, now)
        if e["paper"] in live:
            entries.append(RestoredEntry(e["paper"], tags, note, state, saved_at))
    restored_cols = [
        RestoredCollection(
            _field(c, "slug", str, w),
            _field(c, "name", str, w),
            str(c.get("description") or ""),
            bool(c.get("public")),
            tuple(dict.fromkeys(p for p in c["papers"] if p in live)),
            _when(c, "created_at", w, now) if c.get("created_at") is not None else None,
        )
        for w, c in cols
    ]
    ratings = []
    for w, r in rated:
        value = _field(r, "value", int, w)
        if value not in (-1, 1):
            raise BadInput("a rating's value is 1 or -1", where=w)
        if r["paper"] in live:
            ratings.append((r["paper"], value, _when(r, "at", w, now)))
    votes = [(v["paper"], _when(v, "at", w, now)) for w, v in voted if v["paper"] in live]
    weight = _personal_weight(doc)
    store.restore_library(
        member.id, entries, now, collections=restored_cols, ratings=ratings, votes=votes, personal_weight=weight
    )
    report.library, report.collections, report.ratings, report.votes = (
        len(entries), len(restored_cols), len(ratings), len(votes)
    )  # fmt: skip
    report.personal_weight = weight
    report.not_restored = {what: len(_list(doc, what)) for what, _ in NOT_RESTORED}
    return report


def _personal_weight(doc: dict[str, Any]) -> int | None:
    preferences = doc.get("preferences") or {}
    if not isinstance(preferences, dict):
        raise BadInput("preferences must be an object", where="preferences")
    weight = preferences.get("personal_weight")
    if weight is None:
        return None
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
        raise BadInput("personal_weight must be a whole number from 0 to 100", where="preferences")
    return check_weight(weight)


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
