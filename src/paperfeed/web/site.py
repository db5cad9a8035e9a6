"""The kit every router uses: ``Site`` (what a request handler needs, made once per app), ``site(request)``,
``visitor(request)`` (who is asking, identified once per request), ``wants_json``, ``render``, and ``answers`` (the
refusals an API route documents).

It lives apart from ``app.py`` so that routers import it and ``app.py`` imports routers, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, Field

from paperfeed.config import Config
from paperfeed.digests.links import site_url
from paperfeed.library import account, imports
from paperfeed.papers import Paper
from paperfeed.store import Store
from paperfeed.web.security import Visitor, identify


@dataclass
class Site:
    """What every request handler needs, made once per app."""

    config: Config
    store: Store
    key: str
    templates: jinja2.Environment
    secure_cookies: bool
    fetch_paper: Callable[[str], Paper | None]
    static_versions: dict[str, str] = field(default_factory=dict)
    page_cache: Any = None  # web/page_cache.PageCache, installed by the app (tests look inside)

    @property
    def base_url(self) -> str:
        return site_url(self.config)


def _unicode(value: str) -> str:
    # JSON may escape half a surrogate pair ("\\ud800"), which decodes to a str that is not Unicode: the store
    # cannot encode it, so it is refused here, naming the field, rather than failing there.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid text (an unpaired surrogate)") from None
    return value


Text = Annotated[str, AfterValidator(_unicode)]
"""The type of every text field of a JSON body."""


def site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def visitor(request: Request) -> Visitor:
    """The request's visitor, identified once per request (a dependency shared by page and API routes)."""
    found: Visitor | None = getattr(request.state, "visitor", None)
    if found is None:
        s = site(request)
        found = request.state.visitor = identify(request, s.store, s.key)
    return found


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    s = site(request)
    who = visitor(request)
    html = s.templates.get_template(template).render(
        request=request, user=who.user, csrf=who.csrf, site=s, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status)


class ErrorBody(BaseModel):
    """Every refusal's JSON body (the app's one error handler writes it)."""

    error: str = Field(description="What went wrong, for people")
    status: int = Field(description="The HTTP status again")
    where: str | None = Field(None, description="The parameter or field at fault, when one is")


_MEANINGS = {
    400: "The body is not JSON",
    401: "Needs a member: a session cookie or `Authorization: Bearer pf_…`",
    403: "Not allowed: a blocked member, a moderator's action, or a cookie request without its CSRF token",
    404: "No such paper (or comment, token)",
    413: "The body is larger than 64 KB (file uploads: see the route)",
    422: "A parameter or field is out of range or malformed; `where` names it",
    429: "Too many attempts; `Retry-After` says when to come back",
    502: "The remote source (arXiv) did not answer",
}


def answers(*statuses: int, upload: str | None = None) -> dict[int | str, dict[str, Any]]:
    """The refusals an API route really gives, for its OpenAPI ``responses`` (a test checks each is documented);
    ``upload``: the route takes a file (``UPLOADS``), and its 413 says that route's limit."""
    said: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses
    }
    if upload is not None and 413 in said:
        said[413]["description"] = too_large(upload)
    return said


# The largest request body taken (413 beyond): a comment of 5,000 characters is at most 20 KB of UTF-8.
MAX_BODY = 64 * 1024
# The routes that take a file, with the file's limit and what to do with a larger one. Their bodies may be that much
# larger than MAX_BODY (the form around the file); the cores check the file itself.
UPLOADS: dict[str, tuple[int, str]] = {
    "/library/import": (imports.MAX_BYTES, "split it into smaller files: each import adds to your library"),
    "/api/library/import": (imports.MAX_BYTES, "send it in parts: each import adds to your library"),
    "/account/restore": (account.MAX_BYTES, "restore it with `paperfeed library restore` on the server"),
    "/api/account/restore": (account.MAX_BYTES, "restore it with `paperfeed library restore` on the server"),
}


def upload_body(path: str) -> int:
    """The largest request body the upload route at ``path`` takes."""
    return UPLOADS[path][0] + MAX_BODY


def too_large(path: str) -> str:
    """What a 413 says: the limit of the route at ``path`` and what to do instead."""
    if path in UPLOADS:
        limit, instead = UPLOADS[path]
        return f"The file is larger than {limit // 1_000_000} MB, the most this site takes here; {instead}"
    return f"The request is larger than {MAX_BODY // 1024} KB, the most this site takes outside file uploads"


# What every request with a JSON body may be refused with, besides its own rules.
BODY_ANSWERS = (400, 413, 422)
