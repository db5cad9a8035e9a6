"""Anonymous pages from memory: the feed, period, trending and paper pages and the HF API answers that visitors who
are not signed in ask for, rendered once per store change and served from this process's cache with an ETag.

Why it is safe:
- **Only anonymous GETs**: a request with a session cookie (valid or not) or an ``Authorization`` header never
  reaches the cache, nor does any route outside ``CACHED_ROUTES`` (checked on the route that actually answered).
- **Never stale past a write**: each entry remembers ``store.content_version()`` (papers' change sequence plus the
  counter votes, comments, moderation and signals bump; see ``store/changes.py``), asked of the store on every
  request, so a write committed by any node or worker retires every node's entries at once. Entries also expire
  after ``PAPERFEED_PAGE_CACHE_SECONDS``, because some pages move with the clock alone (trending's decay, "today").
- **Nothing per-visitor is stored**: the page is rendered for a neutral visitor whose CSRF token is a random
  placeholder and who gets no cookie. On every answer the placeholder is replaced by *this* visitor's token (from
  their visitor cookie, or a new one, set on the answer exactly as an uncached page would), so forms keep working
  and no visitor ever sees another's token. An answer that set a cookie of its own is never stored.

Why it is fast: a hit costs one indexed store lookup, an HMAC and joining bytes. Gzip is done once, when the entry
is made: the text between placeholders is compressed piecewise (each piece a raw deflate run ending on a byte
boundary, primed with the text before it so the ratio stays that of the whole page), and a visitor's token goes in
between as a stored (uncompressed) block, which makes a valid gzip stream without compressing anything per request.

Conditional requests: the ETag is the entry's content hash plus the visitor's token, so ``If-None-Match`` gets a
304 for as long as neither the store nor the visitor changed. ``Cache-Control: private, no-cache`` (pages carry
the visitor's token: shared caches must not keep them) or ``no-cache`` (API answers carry none).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.store import Store
from paperfeed.web.metrics import PAGE_CACHE, ROUTE_KEY
from paperfeed.web.security import SESSION_COOKIE, VISITOR_COOKIE, Visitor, csrf_for, remember_visitor

log = logging.getLogger("paperfeed.web")

CACHED_ROUTES = frozenset(
    {
        "/",
        "/papers/date/{day}",
        "/papers/week/{week}",
        "/papers/month/{month}",
        "/papers/trending",
        "/papers/{paper_id:path}",
        "/api/daily_papers",
        "/api/papers",
        "/api/trending",
        "/api/papers/{paper_id:path}",
        "/api/papers/{paper_id:path}/comments",
        "/api/papers/{paper_id:path}/similar",
    }
)
TOKEN_LENGTH = 40  # csrf_for's tokens
GZIP_MINIMUM = 1000  # the same threshold as the app's GZipMiddleware
GZIP_LEVEL = 6
_DROPPED_HEADERS = frozenset({b"content-length", b"content-encoding", b"set-cookie", b"vary", b"etag"})
_VARY = b"Accept, Accept-Encoding, Cookie"


def may_cache(scope: Scope) -> str | None:
    """A cheap look at the request before routing: "yes" for an anonymous GET of a path some cached route could
    answer, "signed-in" for the same from a member or an API client, None for every other request."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not (path == "/" or path.startswith(("/papers/", "/api/daily_papers", "/api/papers", "/api/trending"))):
        return None
    if path == "/api/papers/search" or path.endswith(("/thumbnail.svg", "/vote")):
        return None  # search answers follow the index, not the store; images carry their own max-age
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE.encode() in value):
            return "signed-in"
    return "yes"


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""


def _visitor_cookie(scope: Scope) -> str:
    """The visitor cookie's value (ours are URL-safe base64: no quoting to undo), or ""."""
    raw = _header(scope, b"cookie")
    if VISITOR_COOKIE not in raw:
        return ""
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == VISITOR_COOKIE:
            return value.strip().strip('"')
    return ""


def _wants_json(scope: Scope) -> bool:
    """The representation the app will choose (``site.wants_json``), part of the cache key."""
    if str(scope["path"]).startswith("/api/"):
        return True
    accept = _header(scope, b"accept")
    return "application/json" in accept and "text/html" not in accept


def _stored_block(data: bytes) -> bytes:
    """A non-final stored deflate block holding ``data`` (the stream is byte-aligned before and after it)."""
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


@dataclass
class Entry:
    version: str
    made: float
    status: int
    headers: list[tuple[bytes, bytes]]
    pieces: list[bytes]  # the body, split where the visitor's token goes
    deflated: list[bytes]  # each piece as raw deflate (the last one final), or [] when the body is small
    tag: str
    route: str
    size: int

    @classmethod
    def make(
        cls,
        version: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        placeholder: bytes,
        route: str,
        compress: bool,
    ) -> Entry:
        pieces = body.split(placeholder)
        deflated = []
        if compress and len(body) >= GZIP_MINIMUM:
            seen = b""
            gap = b"\x00" * TOKEN_LENGTH  # never matched by the compressor: stands for the token in its window
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15, zdict=seen[-32768:]) if seen else None
                packer = packer or zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
                deflated.append(packer.compress(piece) + packer.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))
                seen = (seen + piece + gap)[-32768:]
        tag = hashlib.blake2b(body, digest_size=10).hexdigest()
        size = len(body) + sum(map(len, deflated)) + 512
        return cls(version, time.monotonic(), status, headers, pieces, deflated, tag, route, size)

    def body(self, token: bytes) -> bytes:
        return token.join(self.pieces)

    def gzipped(self, token: bytes) -> bytes:
        """The body as one gzip member, with ``token`` between the pieces as stored blocks."""
        plain = self.body(token)
        block = _stored_block(token)
        stream = block.join(self.deflated)
        trailer = struct.pack("<II", zlib.crc32(plain) & 0xFFFFFFFF, len(plain) & 0xFFFFFFFF)
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + trailer


class PageCache:
    """A bounded LRU of entries by (path, query, representation); one per process, used from the event loop."""

    def __init__(self, max_bytes: int, max_age: float) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._entries: OrderedDict[tuple[str, bytes, bool], Entry] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, bytes, bool], version: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.version != version or time.monotonic() - entry.made > self.max_age:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, bytes, bool], entry: Entry) -> None:
        if entry.size > self.max_bytes // 4:
            return  # one huge page must not flush everything else
        self._drop(key)
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, bytes, bool]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def __len__(self) -> int:
        return len(self._entries)


class AnonymousPageCache:
    """ASGI middleware in front of the app (inside the metrics): answers anonymous GETs of ``CACHED_ROUTES``."""

    def __init__(
        self, app: ASGIApp, *, store: Store, key: str, secure_cookies: Callable[[], bool], cache: PageCache
    ) -> None:
        self.app = app
        self.store = store
        self.key = key
        self.secure_cookies = secure_cookies
        self.cache = cache
        self.placeholder = ("csrf" + secrets.token_hex(18)).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidate = may_cache(scope) if self.cache.max_bytes > 0 else None
        if candidate != "yes":
            if candidate == "signed-in":
                PAGE_CACHE.labels("bypass").inc()
            await self.app(scope, receive, send)
            return
        try:
            version = self.store.content_version()
        except Exception as exc:  # the store is down: let the app answer (and fail) as it would uncached
            log.warning("page cache: no store version: %s", exc)
            await self.app(scope, receive, send)
            return
        key = (str(scope["path"]), bytes(scope.get("query_string", b"")), _wants_json(scope))
        visitor_id = _visitor_cookie(scope)
        new_visitor = not visitor_id
        if new_visitor:
            visitor_id = secrets.token_urlsafe(18)
        token = csrf_for(self.key, f"v:{visitor_id}")
        entry = self.cache.get(key, version)
        if entry is not None:
            scope[ROUTE_KEY] = entry.route
            await self._answer(scope, receive, send, entry, token, visitor_id, new_visitor, "hit")
            return
        status, headers, body, route = await self._render(scope, receive)
        cached = status == 200 and route in CACHED_ROUTES and not any(n == b"set-cookie" for n, _ in headers)
        entry = Entry.make(version, status, headers, body, self.placeholder, route, compress=cached)
        if cached:
            self.cache.put(key, entry)
        else:
            PAGE_CACHE.labels("uncacheable").inc()
        await self._answer(scope, receive, send, entry, token, visitor_id, new_visitor, "miss" if cached else None)

    async def _render(self, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes, str]:
        """Run the app for a neutral visitor (placeholder token, no cookie) with no compression; keep the answer."""
        inner = dict(scope)
        inner["headers"] = [(n, v) for n, v in scope["headers"] if n not in (b"accept-encoding", b"if-none-match")]
        state = dict(scope.get("state") or {})
        state["visitor"] = Visitor(None, None, "", False, self.placeholder.decode(), new_visitor=False)
        inner["state"] = state
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(inner, receive, keep)
        scope["route"] = inner.get("route")  # for the metrics' route label
        route = getattr(inner.get("route"), "path", "") or ""
        kept = [(n, v) for n, v in headers if n.lower() not in _DROPPED_HEADERS]
        cookies = [(n, v) for n, v in headers if n.lower() == b"set-cookie"]
        return status, kept + cookies, b"".join(chunks), route

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        entry: Entry,
        token: str,
        visitor_id: str,
        new_visitor: bool,
        result: str | None,
    ) -> None:
        personal = len(entry.pieces) > 1  # the page carries the visitor's token
        etag = f'"{entry.tag}-{token[:16]}"' if personal else f'"{entry.tag}"'
        cacheable = result is not None
        status = entry.status
        if cacheable and _matches(_header(scope, b"if-none-match"), etag):
            PAGE_CACHE.labels("not_modified").inc()
            status, body = 304, b""
            headers = [(n, v) for n, v in entry.headers if n not in (b"content-type", b"cache-control")]
        else:
            if result is not None:
                PAGE_CACHE.labels(result).inc()
            token_bytes = token.encode()
            gzip = bool(entry.deflated) and "gzip" in _header(scope, b"accept-encoding") and len(token) == TOKEN_LENGTH
            body = entry.gzipped(token_bytes) if gzip else entry.body(token_bytes)
            headers = [(n, v) for n, v in entry.headers if not (cacheable and n == b"cache-control")]
            if gzip:
                headers.append((b"content-encoding", b"gzip"))
            headers.append((b"content-length", str(len(body)).encode()))
        if cacheable:
            headers.append((b"etag", etag.encode()))
            headers.append((b"cache-control", b"private, no-cache" if personal else b"no-cache"))
        headers.append((b"vary", _VARY))
        if new_visitor:  # set exactly as on an uncached page (security.remember_visitor decides where and how)
            cookie = Response()
            visitor = Visitor(None, None, visitor_id, False, token, new_visitor)
            remember_visitor(cookie, visitor, self.secure_cookies(), str(scope["path"]))
            headers.extend((n, v) for n, v in cookie.raw_headers if n == b"set-cookie")
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def install(app: Any, store: Store, key: str, secure_cookies: bool, max_mb: int, max_age: float) -> PageCache:
    """Put the cache in front of ``app`` (call before adding the metrics middleware, which must stay outermost)."""
    cache = PageCache(max_mb * 1024 * 1024, max_age)
    app.add_middleware(AnonymousPageCache, store=store, key=key, secure_cookies=lambda: secure_cookies, cache=cache)
    return cache
