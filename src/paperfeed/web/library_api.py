"""The library's JSON API (in the OpenAPI document under "library"): a member's saved papers, tags, notes and reading
state, private ratings, imports and exports, collections (``/api/collections/{owner}/{slug}`` answers in the shape of
Hugging Face's collections API; ``…/export`` as BibTeX, RIS or CSL-JSON), and the account export and its restore.
Scripts authenticate with ``Authorization: Bearer pf_…``.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from paperfeed.community import rules
from paperfeed.library import account, collections, exports, imports, saves
from paperfeed.store.library import STATES
from paperfeed.web.library_views import collection_dict, collection_view, hf_collection_json, library_view
from paperfeed.web.security import Visitor, check_csrf
from paperfeed.web.site import BODY_ANSWERS, Text, answers, site, upload_body, visitor
from paperfeed.web.views import MAX_PAGE

router = APIRouter(prefix="/api")
Who = Annotated[Visitor, Depends(visitor)]
TAGS: list[str | Enum] = ["library"]
STATE_PATTERN = f"^({'|'.join(STATES)})?$"  # a reading state, or empty: all
FORMAT_PATTERN = f"^({'|'.join(exports.EXPORT_FORMATS)})$"
# The documents an export answers with, for the OpenAPI
EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The papers as BibTeX (`format=bibtex`), RIS (`ris`) or CSL-JSON (`csl`)",
        "content": {  # CSL-JSON is JSON (an array of items); BibTeX and RIS are text
            media.split(";")[0]: {"schema": {"type": "array", "items": {"type": "object"}}}
            if fmt == "csl"
            else {"schema": {"type": "string"}}
            for fmt, (_, media) in exports.EXPORT_FORMATS.items()
        },
    }
}


class EntryBody(BaseModel):
    state: Text | None = Field(None, pattern=f"^({'|'.join(STATES)})$", description="to-read or read")
    note: Text | None = Field(None, description="A private note (at most 5000 characters); empty clears it")
    add_tags: list[Text] = Field(default_factory=list)
    remove_tags: list[Text] = Field(default_factory=list)


class RatingBody(BaseModel):
    value: StrictInt = Field(description="1: more like this; -1: less like this; 0: no rating", ge=-1, le=1)


class ImportBody(BaseModel):
    text: Text = Field("", description="BibTeX, RIS, or arXiv ids / arxiv.org links / DOIs one per line")
    author: Text = Field("", description="Instead of text: every paper here by this author")
    format: Text = Field("auto", description="auto, bibtex, ris or ids")
    tags: Text = Field("", description="Tags for everything imported, comma-separated")
    collection: Text | None = Field(None, description="A collection to put the papers in (made if new)")
    dry_run: StrictBool = Field(False, description="Report what would match; save nothing")


class CollectionBody(BaseModel):
    name: Text
    description: Text = ""
    public: StrictBool = False
    slug: Text = Field("", description="The address (from the name when empty)")


class CollectionPatch(BaseModel):
    name: Text | None = None
    description: Text | None = None
    public: StrictBool | None = None


class ItemBody(BaseModel):
    paper: Text = Field(description="An arXiv id (any version) or a paper id of this site")


class OrderBody(BaseModel):
    papers: list[Text] = Field(description="Every paper of the collection, once, in the new order")


class ExportedEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    paper: Text = Field(description="The paper's id")
    state: Text = Field(pattern=f"^({'|'.join(STATES)})$")
    tags: list[Text] = Field(default_factory=list)
    note: Text = ""
    saved_at: Text = Field(description="When it was saved (ISO 8601 with its offset)")


class ExportedCollection(BaseModel):
    model_config = ConfigDict(extra="allow")
    slug: Text
    name: Text
    description: Text = ""
    public: StrictBool = False
    created_at: Text | None = None
    papers: list[Text] = Field(default_factory=list, description="Paper ids in the collection's order")


class ExportedRating(BaseModel):
    paper: Text
    value: Literal[-1, 1] = Field(description="1: more like this; -1: less like this")
    at: Text


class ExportedVote(BaseModel):
    paper: Text
    at: Text


class ExportedPreferences(BaseModel):
    personal_weight: StrictInt | None = Field(None, ge=0, le=100, description="The blend, % personal")


class AccountFile(BaseModel):
    """An account export (``GET /api/account/export``, or the account page's download, from any paperfeed)."""

    model_config = ConfigDict(extra="allow")
    format: Literal["paperfeed-account"]
    version: Literal[1]
    library: list[ExportedEntry] = Field(default_factory=list)
    collections: list[ExportedCollection] = Field(default_factory=list)
    ratings: list[ExportedRating] = Field(default_factory=list)
    votes: list[ExportedVote] = Field(default_factory=list)
    preferences: ExportedPreferences | None = None
    comments: list[dict[str, Any]] = Field(default_factory=list, description="Exported, not restored")
    subscriptions: list[dict[str, Any]] = Field(default_factory=list, description="Exported, not restored")


@router.get("/library", tags=TAGS, responses=answers(401, 403, 422))
def library_api(
    request: Request,
    who: Who,
    tag: str = "",
    state: Annotated[str, Query(pattern=STATE_PATTERN, description="to-read or read; empty: all")] = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> dict[str, Any]:
    """Your saved papers, newest saved first, filtered by tag, reading state and words; with your tags and
    collections."""
    rules.require_member(who.user)
    return library_view(site(request).store, who.user, tag=tag, state=state, text=q, page=page).to_dict()


@router.put("/library/papers/{paper_id:path}", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def save_api(request: Request, who: Who, paper_id: str, body: EntryBody | None = None) -> dict[str, Any]:
    """Save a paper (idempotent) and change its state, note or tags."""
    check_csrf(request, who, None)
    b = body or EntryBody(state=None, note=None)
    entry = saves.update(
        site(request).store,
        who.user,
        paper_id,
        state=b.state,
        note=b.note,
        add_tags=b.add_tags,
        remove_tags=b.remove_tags,
    )
    return {"paper": entry.paper_id, "state": entry.state, "tags": list(entry.tags), "note": entry.note}


@router.delete("/library/papers/{paper_id:path}", tags=TAGS, responses=answers(401, 403, 404, 422))
def unsave_api(request: Request, who: Who, paper_id: str) -> dict[str, Any]:
    """Take a paper out of your library (and your collections)."""
    check_csrf(request, who, None)
    return {"paper": paper_id, "removed": saves.unsave(site(request).store, who.user, paper_id)}


@router.post(
    "/library/import",
    tags=TAGS,
    responses=answers(*BODY_ANSWERS, 401, 403, 404, upload="/api/library/import"),
    max_body_size=upload_body("/api/library/import"),
)
def import_api(request: Request, who: Who, body: ImportBody) -> dict[str, Any]:
    """Import references (matched by arXiv id, DOI, then title) or an author's papers; says what matched and what
    did not. A malformed file is refused (422, ``where`` names the line) and nothing is written."""
    check_csrf(request, who, None)
    s = site(request)
    if body.author.strip():
        report = imports.import_author(
            s.store, who.user, body.author, tags=body.tags, collection=body.collection, dry_run=body.dry_run
        )
    else:
        report = imports.import_references(
            s.store,
            who.user,
            body.text,
            fmt=body.format,
            tags=body.tags,
            collection=body.collection,
            dry_run=body.dry_run,
        )
    return report.to_dict()


@router.get("/library/export", tags=TAGS, response_class=Response, responses={**EXPORTED, **answers(401, 403, 422)})
def export_api(
    request: Request,
    who: Who,
    format: Annotated[str, Query(pattern=FORMAT_PATTERN, description="bibtex, ris or csl")] = "bibtex",
    tag: str = "",
    state: Annotated[str, Query(pattern=STATE_PATTERN, description="to-read or read; empty: all")] = "",
    q: str = "",
) -> Response:
    """Your library (what the filters select) as BibTeX, RIS or CSL-JSON, with your tags and notes."""
    done = exports.library_export(site(request).store, who.user, format, tag=tag, state=state, text=q)
    return Response(done.text, media_type=done.media_type)


@router.get("/ratings", tags=TAGS, responses=answers(401, 403))
def ratings_api(request: Request, who: Who) -> dict[str, int]:
    """Your private ratings: {paper id: 1 (more like this) or -1 (less like this)}."""
    return site(request).store.ratings_of(rules.require_member(who.user).id)


@router.put("/ratings/{paper_id:path}", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def rate_api(request: Request, who: Who, paper_id: str, body: RatingBody) -> dict[str, Any]:
    """Rate a paper privately (an upvote counts as a positive signal too); 0 takes the rating back."""
    check_csrf(request, who, None)
    return {"paper": paper_id, "rating": saves.rate(site(request).store, who.user, paper_id, body.value)}


@router.get("/collections", tags=TAGS, responses=answers(401, 403))
def my_collections(request: Request, who: Who) -> list[dict[str, Any]]:
    """Your collections, private and public."""
    member = rules.require_member(who.user)
    return [collection_dict(c) for c in site(request).store.collections_of(member.id)]


@router.post("/collections", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403))
def create_collection_api(request: Request, who: Who, body: CollectionBody) -> dict[str, Any]:
    check_csrf(request, who, None)
    made = collections.create(
        site(request).store, who.user, body.name, description=body.description, public=body.public, slug=body.slug
    )
    return collection_dict(made)


@router.get("/collections/{owner}/{slug}", tags=TAGS, responses=answers(404, 422))
def collection_api(request: Request, who: Who, owner: str, slug: str) -> dict[str, Any]:
    """A collection (public, or your own) in Hugging Face's shape: ``huggingface_hub.HfApi(endpoint=…)
    .get_collection("owner/slug")`` reads it."""
    s = site(request)
    return hf_collection_json(collection_view(s.store, who.user, owner, slug), s.base_url)


@router.get(
    "/collections/{owner}/{slug}/export",
    tags=TAGS,
    response_class=Response,
    responses={**EXPORTED, **answers(404, 422)},
)
def collection_export_api(
    request: Request,
    who: Who,
    owner: str,
    slug: str,
    format: Annotated[str, Query(pattern=FORMAT_PATTERN, description="bibtex, ris or csl")] = "bibtex",
) -> Response:
    """A collection (public, or your own) in its order as BibTeX, RIS or CSL-JSON; your own carries your tags and
    notes, someone else's none."""
    done = exports.collection_export(site(request).store, who.user, owner, slug, format)
    return Response(done.text, media_type=done.media_type)


def _mine(request: Request, who: Who, owner: str, slug: str) -> int:
    found = collections.visible(site(request).store, who.user, owner, slug)
    return collections.owned(site(request).store, who.user, found.id).id


@router.patch("/collections/{owner}/{slug}", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def update_collection_api(request: Request, who: Who, owner: str, slug: str, body: CollectionPatch) -> dict[str, Any]:
    check_csrf(request, who, None)
    cid = _mine(request, who, owner, slug)
    done = collections.update(
        site(request).store, who.user, cid, name=body.name, description=body.description, public=body.public
    )
    return collection_dict(done)


@router.delete("/collections/{owner}/{slug}", tags=TAGS, responses=answers(401, 403, 404, 422))
def delete_collection_api(request: Request, who: Who, owner: str, slug: str) -> dict[str, Any]:
    check_csrf(request, who, None)
    collections.delete(site(request).store, who.user, _mine(request, who, owner, slug))
    return {"deleted": f"{owner}/{slug}"}


@router.post("/collections/{owner}/{slug}/items", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def add_item_api(request: Request, who: Who, owner: str, slug: str, body: ItemBody) -> dict[str, Any]:
    """Append a paper (saving it into your library)."""
    check_csrf(request, who, None)
    cid = _mine(request, who, owner, slug)
    collections.add(site(request).store, who.user, cid, [body.paper])
    return {"papers": site(request).store.collection_paper_ids(cid)}


@router.delete("/collections/{owner}/{slug}/items/{paper_id:path}", tags=TAGS, responses=answers(401, 403, 404, 422))
def remove_item_api(request: Request, who: Who, owner: str, slug: str, paper_id: str) -> dict[str, Any]:
    check_csrf(request, who, None)
    cid = _mine(request, who, owner, slug)
    collections.remove(site(request).store, who.user, cid, paper_id)
    return {"papers": site(request).store.collection_paper_ids(cid)}


@router.put("/collections/{owner}/{slug}/order", tags=TAGS, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def reorder_api(request: Request, who: Who, owner: str, slug: str, body: OrderBody) -> dict[str, Any]:
    """Put the collection in a new order (every paper it holds, once)."""
    check_csrf(request, who, None)
    cid = _mine(request, who, owner, slug)
    return {"papers": collections.reorder(site(request).store, who.user, cid, body.papers)}


@router.get("/account/export", tags=TAGS, responses=answers(401, 403))
def account_export_api(request: Request, who: Who) -> dict[str, Any]:
    """Everything that is yours, as the account page's download (``POST /api/account/restore`` takes it back)."""
    return account.export_account(site(request).store, who.user)


@router.post(
    "/account/restore",
    tags=TAGS,
    responses=answers(*BODY_ANSWERS, 401, 403, upload="/api/account/restore"),
    max_body_size=upload_body("/api/account/restore"),
)
def account_restore_api(request: Request, who: Who, body: AccountFile) -> dict[str, Any]:
    """Restore an account export (from this site or another) into your account: library, collections, ratings,
    upvotes and blend, in one transaction (a refused file writes nothing; restoring it twice changes nothing).
    Papers this site does not have are listed in ``missing``; comments and subscriptions are not restored
    (``not_restored`` counts them; the account page says why)."""
    check_csrf(request, who, None)
    return account.restore_account(site(request).store, who.user, body.model_dump()).to_dict()
