"""Who is asking and whether they meant to: session cookies, API tokens, CSRF tokens, the signing key, headers.

Sessions are random tokens in an HttpOnly, SameSite=Lax cookie (Secure on https); API clients send
``Authorization: Bearer pf_…``. Every state-changing request is a POST, and a POST that could carry ambient
credentials (a form post, anything with our cookies) must carry a CSRF token derived from the visitor's session (or,
before log-in, from a random visitor cookie). JSON bodies need no token: browsers cannot send them cross-site without
a CORS preflight, which this site never grants. Bearer-token requests carry no ambient credentials at all.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from paperfeed.community import rules
from paperfeed.config import Config
from paperfeed.errors import Forbidden
from paperfeed.store import Store
from paperfeed.store.community import User

SESSION_COOKIE = "pf_session"
VISITOR_COOKIE = "pf_visitor"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

# Content security: only our own scripts, styles, fonts; KaTeX sets inline styles on the math it lays out.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def security_headers_for(config: Config) -> dict[str, str]:
    """The headers every answer carries; on an https site also HSTS (a year; subdomains are the operator's call)."""
    if config.base_url.startswith("https://"):
        return {**SECURITY_HEADERS, "Strict-Transport-Security": "max-age=31536000"}
    return dict(SECURITY_HEADERS)


def cookie_secure(config: Config) -> bool:
    if config.cookie_secure == "auto":
        return config.base_url.startswith("https://")
    return config.cookie_secure == "true"


@dataclass
class Visitor:
    """Who sent this request: the member (if any), how they proved it, and the CSRF token their forms carry."""

    user: User | None
    session_token: str | None
    visitor_id: str
    via_token: bool
    csrf: str
    new_visitor: bool = False


def csrf_for(key: str, basis: str) -> str:
    return hmac.new(key.encode(), f"csrf:{basis}".encode(), hashlib.sha256).hexdigest()[:40]


def identify(request: Request, store: Store, key: str) -> Visitor:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = rules.api_token_user(store, auth[7:].strip())
        return Visitor(user, None, "", True, "")
    token = request.cookies.get(SESSION_COOKIE)
    user = rules.session_user(store, token)
    visitor_id = request.cookies.get(VISITOR_COOKIE) or ""
    new_visitor = not visitor_id
    if new_visitor:
        visitor_id = secrets.token_urlsafe(18)
    basis = f"s:{token}" if user is not None and token else f"v:{visitor_id}"
    return Visitor(
        user if token else None, token if user else None, visitor_id, False, csrf_for(key, basis), new_visitor
    )


def check_csrf(request: Request, visitor: Visitor, form_token: str | None) -> None:
    """Refuse a POST that could have been forged by another site."""
    if visitor.via_token:
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" and not request.cookies:
        return
    supplied = form_token or request.headers.get(CSRF_HEADER, "")
    if not supplied or not hmac.compare_digest(supplied, visitor.csrf):
        raise Forbidden("the form expired or came from another site; reload the page and try again")


def remember_visitor(response: Response, visitor: Visitor, secure: bool, path: str) -> None:
    """Set the visitor cookie (the basis of anonymous CSRF tokens) on pages; API answers never set cookies, so a
    script that keeps cookies is not suddenly asked for a CSRF token."""
    if visitor.new_visitor and not visitor.via_token and not path.startswith("/api/"):
        response.set_cookie(
            VISITOR_COOKIE, visitor.visitor_id, max_age=365 * 86400, httponly=True, samesite="lax", secure=secure
        )


def set_session(response: Response, token: str, days: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=days * 86400, httponly=True, samesite="lax", secure=secure)


def clear_session(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)


def client_address(request: Request) -> str:
    """The visitor's address, as rate limits count it: the peer's, unless the peer is one of the configured
    ``trusted_proxies``; then the nearest address in X-Forwarded-For that is not one of them. Anyone can send that
    header, so it means something only when it comes from a proxy of ours (by default none)."""
    peer = request.client.host if request.client else "unknown"
    trusted = _trusted(tuple(request.app.state.site.config.trusted_proxies))
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop or peer
    return peer


@functools.lru_cache(maxsize=8)
def _trusted(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address (a forged header's junk): never one of our proxies
    return any(ip in network for network in networks)
