"""The library's pages and forms: save / unsave from any list, the library with its filters, tags, notes, reading
state and "more / less like this", imports, exports, collections (their pages, feeds and exports) and the account
page (export, restore, delete).

Thin like ``pages.py``: parse, call one ``paperfeed.library`` function, render; every mutation is a POST with a CSRF
token answering with a redirect (303) for forms or JSON for scripts, and works without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse

from paperfeed.community import rules
from paperfeed.errors import BadInput
from paperfeed.formats.feeds import FORMATS, MEDIA_TYPES, FeedItem, FeedMeta, render_feed
from paperfeed.library import account, collections, exports, imports, saves
from paperfeed.web.library_views import AccountView, collection_view, import_view, library_view
from paperfeed.web.security import Visitor, check_csrf, clear_session
from paperfeed.web.site import render, site, upload_body, visitor, wants_json
from paperfeed.web.views import MAX_PAGE

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias="csrf")]
Who = Annotated[Visitor, Depends(visitor)]
Next = Annotated[str, Form()]
MAX_UPLOAD = imports.MAX_BYTES


def _back(request: Request, target: str, data: dict[str, Any] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse(data or {"ok": True})
    safe = target if target.startswith("/") and not target.startswith("//") else "/library"
    return RedirectResponse(safe, status_code=303)


def _login(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


def _download(export: exports.Export) -> Response:
    return Response(
        export.text,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "private"},
    )


# -- saving from any list --------------------------------------------------------------------------------------------
@router.post("/library/{paper_id:path}/save")
def save(request: Request, who: Who, paper_id: str, csrf: Csrf = "", next: Next = "") -> Response:
    check_csrf(request, who, csrf)
    added = saves.save(site(request).store, who.user, paper_id)
    return _back(request, next or f"/papers/{paper_id}", {"paper": paper_id, "saved": True, "new": added})


@router.post("/library/{paper_id:path}/unsave")
def unsave(request: Request, who: Who, paper_id: str, csrf: Csrf = "", next: Next = "") -> Response:
    check_csrf(request, who, csrf)
    saves.unsave(site(request).store, who.user, paper_id)
    return _back(request, next or f"/papers/{paper_id}", {"paper": paper_id, "saved": False})


@router.post("/library/{paper_id:path}/entry")
def update_entry(
    request: Request,
    who: Who,
    paper_id: str,
    csrf: Csrf = "",
    next: Next = "",
    state: Annotated[str, Form()] = "",
    note: Annotated[str | None, Form()] = None,
    add_tags: Annotated[str, Form()] = "",
    remove_tag: Annotated[str, Form()] = "",
) -> Response:
    """One form for a saved paper's reading state, note and tags (each field optional)."""
    check_csrf(request, who, csrf)
    entry = saves.update(
        site(request).store,
        who.user,
        paper_id,
        state=state or None,
        note=note,
        add_tags=saves.split_tags(add_tags),
        remove_tags=[remove_tag] if remove_tag else [],
    )
    return _back(
        request, next or f"/papers/{paper_id}", {"paper": paper_id, "state": entry.state, "tags": list(entry.tags)}
    )


@router.post("/library/{paper_id:path}/rate")
def rate(
    request: Request, who: Who, paper_id: str, value: Annotated[int, Form()], csrf: Csrf = "", next: Next = ""
) -> Response:
    check_csrf(request, who, csrf)
    saves.rate(site(request).store, who.user, paper_id, value)
    return _back(request, next or f"/papers/{paper_id}", {"paper": paper_id, "rating": value})


# -- the library -----------------------------------------------------------------------------------------------------
@router.get("/library")
def library_page(
    request: Request,
    who: Who,
    tag: str = "",
    state: str = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    if who.user is None:
        return _login("/library")
    view = library_view(site(request).store, who.user, tag=tag, state=state, text=q, page=page)
    if wants_json(request):
        return JSONResponse(view.to_dict())
    return render(request, "library.html", view=view)


@router.get("/library/export.{fmt}")
def library_export(request: Request, who: Who, fmt: str, tag: str = "", state: str = "", q: str = "") -> Response:
    if who.user is None:
        return _login("/library")
    chosen = {"bib": "bibtex", "ris": "ris", "json": "csl"}.get(fmt, fmt)
    return _download(exports.library_export(site(request).store, who.user, chosen, tag=tag, state=state, text=q))


@router.get("/library/import")
def import_form(request: Request, who: Who) -> Response:
    if who.user is None:
        return _login("/library/import")
    return render(request, "import.html", view=import_view(site(request).store, who.user, None), error=None)


@router.post("/library/import", max_body_size=upload_body("/library/import"))
async def import_file(
    request: Request,
    who: Who,
    csrf: Csrf = "",
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
    author: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "auto",
    tags: Annotated[str, Form()] = "",
    collection: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    try:
        if author.strip():
            report = imports.import_author(s.store, who.user, author, tags=tags, collection=collection or None)
        else:
            data: bytes | str = text
            name = ""
            if file is not None and file.filename:
                data = await file.read(MAX_UPLOAD + 1)
                name = file.filename
            if not data:
                raise BadInput("choose a file, paste references, or name an author", where="file")
            report = imports.import_references(
                s.store, who.user, data, filename=name, fmt=format, tags=tags, collection=collection or None
            )
    except BadInput as exc:
        if wants_json(request):
            raise
        view = import_view(s.store, who.user, None)
        return render(request, "import.html", status=exc.http_status, view=view, error=str(exc))
    view = import_view(s.store, who.user, report)
    if wants_json(request):
        return JSONResponse(view.to_dict())
    return render(request, "import.html", view=view, error=None)


# -- collections -----------------------------------------------------------------------------------------------------
@router.post("/collections")
def create_collection(
    request: Request,
    who: Who,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    public: Annotated[str, Form()] = "",
    paper: Annotated[str, Form()] = "",
    csrf: Csrf = "",
    next: Next = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    made = collections.create(s.store, who.user, name, description=description, public=bool(public))
    if paper:
        collections.add(s.store, who.user, made.id, [paper])
    url = f"/u/{made.owner}/collections/{made.slug}"
    return _back(request, next or url, {"slug": made.slug, "url": url})


@router.post("/collections/add")
def add_to_collection(
    request: Request,
    who: Who,
    collection_id: Annotated[int, Form()],
    paper: Annotated[str, Form()],
    csrf: Csrf = "",
    next: Next = "",
) -> Response:
    """Add a paper to the collection chosen in a form (one form, any collection: no JavaScript needed)."""
    check_csrf(request, who, csrf)
    s = site(request)
    collections.add(s.store, who.user, collection_id, [paper])
    return _back(request, next or f"/papers/{paper}", {"papers": s.store.collection_paper_ids(collection_id)})


@router.post("/collections/{collection_id}/edit")
def edit_collection(
    request: Request,
    who: Who,
    collection_id: int,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    public: Annotated[str, Form()] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    c = collections.update(
        site(request).store, who.user, collection_id, name=name, description=description, public=bool(public)
    )
    return _back(request, f"/u/{c.owner}/collections/{c.slug}", {"slug": c.slug, "public": c.public})


@router.post("/collections/{collection_id}/delete")
def delete_collection(request: Request, who: Who, collection_id: int, csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    collections.delete(site(request).store, who.user, collection_id)
    return _back(request, "/library")


@router.post("/collections/{collection_id}/papers")
def collection_papers(
    request: Request,
    who: Who,
    collection_id: int,
    paper: Annotated[str, Form()],
    action: Annotated[str, Form()] = "add",
    csrf: Csrf = "",
    next: Next = "",
) -> Response:
    """Add, remove, or move a paper up or down (``action`` add | remove | up | down)."""
    check_csrf(request, who, csrf)
    s = site(request)
    if action == "add":
        collections.add(s.store, who.user, collection_id, [paper])
    elif action == "remove":
        collections.remove(s.store, who.user, collection_id, paper)
    elif action in ("up", "down"):
        collections.move(s.store, who.user, collection_id, paper, -1 if action == "up" else 1)
    else:
        raise BadInput("action is add, remove, up or down", where="action")
    c = collections.owned(s.store, who.user, collection_id)
    return _back(request, next or f"/u/{c.owner}/collections/{c.slug}", {"papers": s.store.collection_paper_ids(c.id)})


@router.get("/u/{name}/collections/{slug}")
def collection_page(request: Request, who: Who, name: str, slug: str) -> Response:
    view = collection_view(site(request).store, who.user, name, slug)
    if wants_json(request):
        return JSONResponse(view.to_dict())
    return render(request, "collection.html", view=view)


@router.get("/u/{name}/collections/{slug}/feed.{fmt}")
def collection_feed(request: Request, who: Who, name: str, slug: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        raise BadInput("feeds are .rss, .atom or .json", where="format")
    s = site(request)
    view = collection_view(s.store, None, name, slug)  # feeds are read without logging in: public ones only
    c = view.collection
    page_url = f"{s.base_url}/u/{c.owner}/collections/{c.slug}"
    meta = FeedMeta(
        f"{c.name} — a collection by {c.owner}", page_url, f"{page_url}/feed.{fmt}", c.description or c.name
    )
    added = datetime.fromisoformat(c.updated_at)
    items = [FeedItem(e.paper, f"{s.base_url}/papers/{e.paper.id}", added, f"In {c.name}") for e in view.entries]
    return Response(render_feed(fmt, meta, items), media_type=MEDIA_TYPES[fmt])


@router.get("/u/{name}/collections/{slug}/export.{fmt}")
def collection_export(request: Request, who: Who, name: str, slug: str, fmt: str) -> Response:
    chosen = {"bib": "bibtex", "ris": "ris", "json": "csl"}.get(fmt, fmt)
    return _download(exports.collection_export(site(request).store, who.user, name, slug, chosen))


# -- the account -----------------------------------------------------------------------------------------------------
@router.get("/account")
def account_page(request: Request, who: Who) -> Response:
    if who.user is None:
        return _login("/account")
    view = AccountView(who.user)
    if wants_json(request):
        return JSONResponse(view.to_dict())
    return render(request, "account.html", view=view, message=None, error=None)


@router.get("/account/export.json")
def account_export(request: Request, who: Who) -> Response:
    data = account.export_account(site(request).store, who.user)
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="paperfeed-{data["profile"]["name"]}.json"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/account/restore", max_body_size=upload_body("/account/restore"))
async def account_restore(request: Request, who: Who, file: Annotated[UploadFile, File()], csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    member = rules.require_member(who.user)
    try:
        report = account.restore_account(site(request).store, member, await file.read())
    except BadInput as exc:
        if wants_json(request):
            raise
        return render(request, "account.html", status=422, view=AccountView(member), message=None, error=str(exc))
    if wants_json(request):
        return JSONResponse(report.to_dict())
    return render(request, "account.html", view=AccountView(member), message=report.summary, error=None)


@router.post("/account/delete")
def account_delete(request: Request, who: Who, confirm: Annotated[str, Form()] = "", csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    member = rules.require_member(who.user)
    s = site(request)
    try:
        gone = account.delete_account(s.store, member, confirm)
    except BadInput as exc:
        if wants_json(request):
            raise
        return render(request, "account.html", status=422, view=AccountView(member), message=None, error=str(exc))
    response = _back(request, "/", {"deleted": True, "comments_shown_as": gone})
    clear_session(response, s.secure_cookies)
    return response
