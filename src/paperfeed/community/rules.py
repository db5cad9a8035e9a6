"""Members and what they do: sign up, log in, sessions and API tokens, upvotes, comments, submissions, moderation.

These are the rules (who may do what, what is valid, how often); the store does the reading and writing. Every door
(web pages, JSON API, CLI) calls these functions and checks nothing itself, so a rule holds everywhere: rate limits
and closed sign-ups included (a door passes the client's address and the site's settings in). Secrets are never
stored: passwords as argon2 hashes, session and API tokens as SHA-256 digests of random tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperfeed.community.markup import check_comment
from paperfeed.errors import BadInput, Forbidden, NotFound, RateLimited, Unauthorized
from paperfeed.papers import Paper, split_arxiv_id
from paperfeed.search.indexes import index_a_few
from paperfeed.store import Store
from paperfeed.store.community import Comment, User

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
RESERVED_NAMES = frozenset({"admin", "api", "login", "logout", "signup", "settings", "submit", "papers", "paperfeed"})
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
TOKEN_PREFIX = "pf_"

# (attempts, window seconds) per action and client; shared by every web worker through the store.
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "login": (10, 300),
    "signup": (5, 3600),
    "comment": (10, 600),
    "submit": (20, 3600),
    "subscribe": (5, 3600),
}

_hasher = PasswordHasher()
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("paperfeed-dummy-password")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- accounts ---------------------------------------------------------------------------------------------------
def sign_up(
    store: Store,
    name: str,
    password: str,
    email: str | None = None,
    *,
    client: str | None = None,
    signups_open: bool = True,
) -> User:
    """Create a member; the first member of a site becomes its admin. A site whose ``signups`` setting is off
    refuses everyone; ``client`` (the visitor's address) counts against the sign-up rate limit.

    An email another member has is not an error (that would tell anyone whose address is registered, as log-in's
    one vague answer does not): the member is made without it, and the answer is the same as with a free one."""
    if not signups_open:
        raise BadInput("this site does not take new sign-ups", where="name")
    if client is not None:
        check_rate(store, "signup", client)
    name = name.strip()
    if not NAME_RE.match(name):
        raise BadInput("use 2–32 letters, digits, '-' or '_', starting with a letter or digit", where="name")
    if name.lower() in RESERVED_NAMES:
        raise BadInput("that name is reserved", where="name")
    email = (email or "").strip() or None
    if email is not None and not EMAIL_RE.match(email):
        raise BadInput("that does not look like an email address", where="email")
    check_password(password)
    role = "admin" if store.count_users() == 0 else "member"
    return store.create_user(name, email, _hasher.hash(password), role, now_iso(), drop_taken_email=True)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"use at least {MIN_PASSWORD} characters", where="password")
    if len(password) > MAX_PASSWORD:
        raise BadInput(f"use at most {MAX_PASSWORD} characters", where="password")


def log_in(store: Store, login: str, password: str, *, client: str | None = None) -> User:
    """The member with this name or email and password; one vague error for any mismatch. ``client`` (the visitor's
    address) counts against the log-in rate limit, before the password is checked."""
    if client is not None:
        check_rate(store, "login", client)
    found = store.password_hash(login.strip()) if login.strip() else None
    stored_hash = found[1] if found else _DUMMY_HASH
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong name or password") from None
    if found is None:
        raise Unauthorized("wrong name or password")
    user = found[0]
    if user.blocked:
        raise Forbidden("this account is blocked")
    if _hasher.check_needs_rehash(stored_hash):
        store.set_password_hash(user.id, _hasher.hash(password))
    return user


def change_password(
    store: Store, user: User, old: str, new: str, keep_session: str | None = None, *, client: str | None = None
) -> None:
    """Change the password, end every other session of the member (a stolen session dies with the old one) and
    revoke their private feed URL.
    Guessing the old password counts against the log-in rate limit of ``client`` (the visitor's address) and member."""
    if client is not None:
        check_rate(store, "login", f"{client}:{user.id}")
    log_in(store, user.name, old)
    check_password(new)
    store.set_password_hash(user.id, _hasher.hash(new))
    store.end_sessions(user.id, keep=digest(keep_session) if keep_session else None)
    reset_feed_url(store, user)  # whoever had the old password may have copied the feed URL too


def reset_feed_url(store: Store, user: User) -> None:
    """Revoke the member's private feed URL: it is signed with a key of theirs, and this replaces the key."""
    store.renew_feed_key(user.id, secrets.token_urlsafe(16), now_iso())


def start_session(store: Store, user: User, days: int) -> str:
    """A new random session token (the cookie value); only its digest is stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    store.create_session(
        digest(token),
        user.id,
        now.isoformat(timespec="seconds"),
        (now + timedelta(days=days)).isoformat(timespec="seconds"),
    )
    return token


def session_user(store: Store, token: str | None) -> User | None:
    return store.session_user(digest(token), now_iso()) if token else None


def end_session(store: Store, token: str | None) -> None:
    if token:
        store.delete_session(digest(token))


def create_api_token(store: Store, user: User, name: str) -> str:
    """A new API token for scripts, shown to the member once."""
    name = name.strip()[:64] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.create_api_token(user.id, name, digest(token), now_iso())
    return token


def revoke_api_token(store: Store, user: User | None, token_id: int) -> None:
    """A member revokes one of their own API tokens (NotFound for anyone else's)."""
    member = require_member(user)
    store.revoke_api_token(member.id, token_id, now_iso())


def api_token_user(store: Store, token: str) -> User | None:
    return store.api_token_user(digest(token), now_iso()) if token.startswith(TOKEN_PREFIX) else None


def check_rate(store: Store, action: str, client: str, now: float | None = None) -> None:
    """Count an attempt at ``action`` by ``client`` (member id or address); RateLimited past the limit."""
    limit, window = RATE_LIMITS[action]
    at = int(now if now is not None else time.time())
    if not store.hit_rate_limit(f"{action}:{client}", limit, window, at):
        raise RateLimited(f"too many {action} attempts; try again later", retry_after=window - at % window)


def require_member(user: User | None) -> User:
    if user is None:
        raise Unauthorized("log in first")
    if user.blocked:
        raise Forbidden("this account is blocked")
    return user


def require_moderator(user: User | None) -> User:
    user = require_member(user)
    if not user.is_moderator:
        raise Forbidden("only moderators may do this")
    return user


# -- what members do ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VoteResult:
    paper_id: str
    upvoted: bool
    upvotes: int


def upvote(store: Store, user: User | None, paper_id: str, up: bool = True) -> VoteResult:
    member = require_member(user)
    upvoted, count = store.set_vote(member.id, paper_id, up, now_iso())
    activity = store.activity([paper_id])[paper_id]
    return VoteResult(paper_id, upvoted, count + activity.external_upvotes)


def comment(store: Store, user: User | None, paper_id: str, body: str) -> Comment:
    member = require_member(user)
    text = check_comment(body)
    check_rate(store, "comment", str(member.id))
    return store.get_comment(store.add_comment(member.id, paper_id, text, now_iso()))


def parse_paper_ref(ref: str) -> str:
    """An arXiv id (any version, ``arXiv:`` prefix, abs/pdf URL) → the bare id; BadInput naming ``paper``."""
    found = split_arxiv_id(ref) if ref.strip() else None
    if found is None:
        raise BadInput("give an arXiv id like 2411.01234 or an arxiv.org link", where="paper")
    return found[0]


def submit(store: Store, user: User | None, ref: str, fetch: Callable[[str], Paper | None], day: str) -> Paper:
    """Submit a paper to ``day``'s feed: found in the store or fetched from arXiv; one live submission per paper.
    The paper is searchable when this returns (keyword index at once; vectors unless a bulk backlog waits)."""
    member = require_member(user)
    paper_id = parse_paper_ref(ref)
    check_rate(store, "submit", str(member.id))
    paper = store.get_papers([paper_id]).get(paper_id)
    if paper is None:
        fetched = fetch(paper_id)
        if fetched is None:
            raise NotFound(f"arXiv has no paper {paper_id}")
        store.upsert_papers([fetched])
        paper = store.get_paper(paper_id)
    store.add_submission(paper_id, member.id, day, now_iso())
    index_a_few(store)
    return paper


# -- moderation ----------------------------------------------------------------------------------------------------
def hide_comment(store: Store, user: User | None, comment_id: int, reason: str | None, hide: bool = True) -> Comment:
    moderator = require_moderator(user)
    return store.set_comment_hidden(
        comment_id, moderator.id, (reason or "").strip()[:100] or None, now_iso() if hide else None
    )


def remove_submission(store: Store, user: User | None, paper_id: str) -> None:
    moderator = require_moderator(user)
    store.remove_submission(paper_id, moderator.id, now_iso())


def block_member(store: Store, user: User | None, name: str, block: bool = True) -> User:
    moderator = require_moderator(user)
    target = store.user_by_name(name)
    if target is None:
        raise NotFound(f"no member named {name!r}")
    if target.role == "admin" or (target.is_moderator and moderator.role != "admin"):
        raise Forbidden("moderators cannot block an admin or another moderator")
    store.set_blocked(target.id, moderator.id, now_iso() if block else None)
    found = store.user_by_id(target.id)
    assert found is not None
    return found


ROLES = ("member", "moderator", "admin")


def set_role(store: Store, user: User | None, name: str, role: str) -> User:
    """An admin makes a member a moderator (or admin), or takes the role back; the last admin stays an admin."""
    admin = require_member(user)
    if admin.role != "admin":
        raise Forbidden("only admins may change roles")
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}", where="role")
    target = store.user_by_name(name)
    if target is None:
        raise NotFound(f"no member named {name!r}")
    if target.role == "admin" and role != "admin" and store.count_admins() <= 1:
        raise BadInput("a site needs at least one admin", where="role")
    store.set_role(target.id, role)
    found = store.user_by_id(target.id)
    assert found is not None
    return found
