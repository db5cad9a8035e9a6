"""The web application: one FastAPI app serving the pages (HTML) and the JSON API over the same views.

``create_app(config)`` opens the store, the templates and the signing key once, installs the middleware and the error
handlers, and includes the routers; it is the only module that imports them. Routes live in ``pages.py`` (HTML),
``api.py`` (JSON), ``feed_routes.py`` and ``subscription_routes.py``, all thin: parse, call one core function or view,
render, with the kit in ``site.py``. Errors of every kind go through one handler that answers with the right status
as an HTML page or a JSON body, depending on who asked.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from paperfeed.config import Config
from paperfeed.errors import PaperfeedError, RateLimited, SourceError
from paperfeed.papers import Paper
from paperfeed.search.catch_up import Follower
from paperfeed.search.registry import SearchSettings, close_indexes, register
from paperfeed.store import Store, open_store
from paperfeed.tokens import instance_secret
from paperfeed.web import (
    api,
    api_docs,
    feed_routes,
    filters,
    foryou_routes,
    library_api,
    library_pages,
    operations,
    outbox_routes,
    page_cache,
    pages,
    subscription_routes,
)  # fmt: skip
from paperfeed.web.metrics import RequestMetrics
from paperfeed.web.security import cookie_secure, remember_visitor, security_headers_for
from paperfeed.web.site import MAX_BODY, Site, render, too_large, wants_json

log = logging.getLogger("paperfeed.web")
PACKAGE = Path(__file__).parent


def _error_response(request: Request, status: int, message: str, where: str | None = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": message, "status": status}
        if where:
            body["where"] = where
        response: Response = JSONResponse(body, status_code=status)
    else:
        try:
            response = render(request, "error.html", status=status, status_code=status, message=message, where=where)
        except Exception:  # the error page itself failed (store down): plain text still tells the truth
            response = Response(f"{status}: {message}", status_code=status, media_type="text/plain")
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PaperfeedError)
    async def known(request: Request, exc: PaperfeedError) -> Response:
        where = getattr(exc, "where", None)
        response = _error_response(request, exc.http_status, exc.shown, where)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.http_status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        return _error_response(request, 422, str(first.get("msg", "invalid request")), where)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        response = _error_response(request, exc.status_code, message)
        response.headers.update(exc.headers or {})  # e.g. the Allow header of a 405
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a path served by several (GET and
            # POST of /api/papers/{id}/comments) allows them all.
            response.headers["Allow"] = _allowed_methods(request.app.routes, request.scope)
        return response


def _allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The methods of the routes whose path matches most specifically: ``/api/papers/X/vote`` is the vote route's
    path, even though ``/api/papers/{paper_id:path}`` would also take it (as the id "X/vote")."""
    found: dict[str, int] = {}  # method -> fewest "/" the path parameters of a route allowing it had to swallow
    for route in _walk(routes):
        match, child = route.matches(scope)
        if match != Match.NONE and route.methods:
            swallowed = sum(str(v).count("/") for v in child.get("path_params", {}).values())
            for method in route.methods:
                found[method] = min(swallowed, found.get(method, swallowed))
    fewest = min(found.values(), default=0)
    return ", ".join(sorted(m for m, swallowed in found.items() if swallowed == fewest))


def _walk(routes: Sequence[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI wraps included routers
        if inner is not None:
            yield from _walk(inner.routes)
        elif isinstance(route, Route):
            yield route


def crash_response(request: Request, exc: Exception) -> Response:
    """The 500 answer to a bug: logged with its traceback, the visitor told plainly (no details leak)."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, "something went wrong on our side; it has been logged")


def _templates(site_ref: Callable[[], Site]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE / "templates")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    filters.install(env, lambda: site_ref().static_versions)
    return env


def _static_versions() -> dict[str, str]:
    """A content hash per static file, so URLs change when files do and can be cached for a year."""
    root = PACKAGE / "static"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in root.rglob("*")
        if path.is_file()
    }


SUBMIT_TIMEOUT = 8.0  # seconds a member waits for arXiv at most when submitting a paper new here


def default_fetcher(config: Config) -> Callable[[str], Paper | None]:
    """Look a paper up on the arXiv API for submissions. Someone is waiting: one try with a short timeout (no
    retry chain), and when arXiv does not answer a SourceError saying so in words fit for the page."""

    def fetch(paper_id: str) -> Paper | None:
        from paperfeed.papers import Rejection
        from paperfeed.sources.arxiv_api import lookup_ids
        from paperfeed.sources.registry import SOURCES

        try:
            with SOURCES["arxiv-api"].client(config, max_retries=0, timeout=SUBMIT_TIMEOUT) as client:
                items = lookup_ids(client, [paper_id], base_url=config.arxiv_api_url)
        except SourceError as exc:
            raise SourceError(
                f"arXiv lookup of {paper_id} failed: {exc}",
                public=f"arXiv did not answer when we looked up {paper_id}; try again in a few minutes",
            ) from exc
        for item in items:
            if not isinstance(item, Rejection) and item.id == paper_id:
                return item
        return None

    return fetch


def create_app(
    config: Config,
    *,
    store: Store | None = None,
    fetch_paper: Callable[[str], Paper | None] | None = None,
) -> FastAPI:
    """The paperfeed web app on ``config`` (the store is opened here unless given, and closed with the app)."""
    owns_store = store is None
    the_store = store or open_store(config.store_url)
    register(the_store, SearchSettings.from_config(config))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from paperfeed.search.indexes import indexes_for

        # Open the search indexes before the first request, not inside the first search; a keyword backlog (a bulk
        # ingest while the site was down) is caught up by the background thread, never by a request.
        try:
            indexes_for(the_store).catch_up_keyword()
        except PaperfeedError as exc:
            log.warning("search indexes not ready: %s", exc)
        follower = Follower(
            lambda: indexes_for(the_store).catch_up_keyword(), config.index_follow_seconds, "keyword index follower"
        )
        follower.start()
        yield
        follower.close()
        close_indexes(the_store)  # letting a catch-up step finish its commit
        if owns_store:
            the_store.close()

    app = FastAPI(
        title="paperfeed",
        summary="Daily research papers, curated by a community: feed, trending, search, papers, comments.",
        version="0.1.0",
        docs_url=None,  # web/api_docs.py renders /docs from the OpenAPI document
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    the_site: Site
    the_site = Site(
        config,
        the_store,
        instance_secret(config),
        _templates(lambda: the_site),
        cookie_secure(config),
        fetch_paper or default_fetcher(config),
        _static_versions(),
    )
    app.state.site = the_site
    # Innermost, so that its 413 passes the header middleware; FastAPI's own max_body_size sits outside every
    # user middleware and would answer without the security headers.
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY)
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)  # 9 cost ~5 ms on 189 KB of JSON

    security_headers = security_headers_for(config)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        # A crash is answered here rather than by Starlette's outermost handler, so that its 500 carries the same
        # headers as every other answer and the exception does not travel on to the server.
        try:
            response: Response = await call_next(request)
        except Exception as exc:
            response = crash_response(request, exc)
        if response.status_code == 413 and response.headers.get("content-type", "").startswith("text/plain"):
            # the body limit's own bare "Content Too Large": said as every refusal is, with the route's limit
            response = _error_response(request, 413, too_large(request.url.path))
        for name, value in security_headers.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/") and "v" in request.query_params:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        who = getattr(request.state, "visitor", None)
        if who is not None:
            remember_visitor(response, who, the_site.secure_cookies, request.url.path)
        return response

    the_site.page_cache = page_cache.install(
        app,
        the_store,
        the_site.key,
        the_site.secure_cookies,
        config.page_cache_mb,
        config.page_cache_seconds,
    )
    app.add_middleware(RequestMetrics)  # added last: outermost, so it times everything below it
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")

    app.include_router(operations.router)
    app.include_router(foryou_routes.api_router)
    app.include_router(library_api.router)
    app.include_router(api.router)
    app.include_router(subscription_routes.api_router)
    app.include_router(api_docs.router)
    app.include_router(feed_routes.router)
    app.include_router(subscription_routes.router)
    app.include_router(foryou_routes.router)
    app.include_router(library_pages.router)
    if config.mail_transport == "outbox":  # the outbox shows every message: only where it is the transport
        app.include_router(outbox_routes.router)
    app.include_router(pages.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process reads the same environment)."""
    from paperfeed.config import load_config

    config = load_config()
    log_visibly(config)
    return create_app(config)


def log_visibly(config: Config) -> None:
    """paperfeed's own messages (a mail that could not be sent, a failed request) reach the operator on stderr.

    uvicorn configures its own loggers only, so paperfeed's went to Python's last-resort handler at best (WARNING
    and up, no time stamp). When neither paperfeed's logger nor the root logger has a handler (an embedding
    application's own set-up wins), one goes on paperfeed's, at ``PAPERFEED_LOG_LEVEL``."""
    ours = logging.getLogger("paperfeed")
    ours.setLevel(config.log_level)
    if not ours.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
