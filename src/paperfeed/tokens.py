"""Signed, purpose-bound tokens for links we mail out (confirm a subscription, one-click unsubscribe, …).

A token is ``<subject>.<issued>.<mac>``: the subject (a subscriber id or an address, any text) in unpadded
base64url, the issue time in Unix seconds, and an HMAC-SHA256 tag in unpadded base64url, so it can sit in a URL
path or query as it is. The tag covers the purpose and the token text itself, so a token minted for
"unsubscribe" does not verify as "confirm" and no character of it can change without the tag failing. The MAC key
is derived from the instance's ``secret_key`` under a label of its own, so these tags can never be confused with
anything else signed with the same secret (sessions, say). No state is kept: expiry is the verifier's ``max_age``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import time

from paperfeed.config import Config
from paperfeed.errors import BadInput, ConfigError

_KEY_LABEL = b"paperfeed.tokens.v1"
_PURPOSE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_SUBJECT_RE = re.compile(r"[A-Za-z0-9_-]*")
_ISSUED_RE = re.compile(r"[0-9]{1,12}")
# Subjects are ids and addresses (an address is at most 254 octets); anything far longer is not ours.
_MAX_TOKEN_LENGTH = 4096


def instance_secret(config: Config) -> str:
    """The configured secret key, or one generated once and kept (mode 0600) in the data directory."""
    if config.secret_key:
        return config.secret_key
    path = config.data_path / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write under a temporary name and link it into place: concurrent first starts agree on one key.
        temp = path.with_name(f".secret.key.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_text().strip()


def sign(secret: str, purpose: str, subject: str, *, issued: int | None = None) -> str:
    """A URL-safe token saying "``subject``, for ``purpose``", issued at ``issued`` (default: now)."""
    key = _key(secret)
    _check_purpose(purpose)
    when = int(time.time()) if issued is None else issued
    if when < 0:
        raise ValueError(f"issued must not be negative, got {when}")
    # surrogatepass: any Python str round-trips, even one that is not valid Unicode text.
    body = f"{_b64encode(subject.encode('utf-8', 'surrogatepass'))}.{when}"
    return f"{body}.{_tag(key, purpose, body)}"


def verify(secret: str, purpose: str, token: str, *, max_age: int | None = None, now: int | None = None) -> str:
    """The subject ``token`` was signed for, if it was signed with ``secret`` for ``purpose`` and is fresh.

    ``max_age`` is in seconds (None: the token never expires). Any failure, whatever the cause, raises the same
    ``BadInput`` so a caller cannot leak which part was wrong.
    """
    key = _key(secret)
    _check_purpose(purpose)
    invalid = BadInput("invalid or expired link", where="token")
    if len(token) > _MAX_TOKEN_LENGTH:
        raise invalid
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid
    encoded_subject, issued, tag = parts
    if not (_SUBJECT_RE.fullmatch(encoded_subject) and _ISSUED_RE.fullmatch(issued)):
        raise invalid
    body = f"{encoded_subject}.{issued}"
    if not hmac.compare_digest(tag.encode("ascii", "replace"), _tag(key, purpose, body).encode("ascii")):
        raise invalid
    if max_age is not None:
        current = int(time.time()) if now is None else now
        if current - int(issued) > max_age:
            raise invalid
    try:
        return _b64decode(encoded_subject).decode("utf-8", "surrogatepass")
    except (binascii.Error, UnicodeDecodeError, ValueError):  # pragma: no cover - only our own tags get here
        raise invalid from None


def _key(secret: str) -> bytes:
    if not secret:
        raise ConfigError("secret_key is not set (PAPERFEED_SECRET_KEY); it is needed to sign links")
    return hmac.new(secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _check_purpose(purpose: str) -> None:
    # Purposes come from our code, never from a request; a fixed alphabet keeps "purpose:body" unambiguous.
    if not _PURPOSE_RE.fullmatch(purpose):
        raise ValueError(f"token purpose must match {_PURPOSE_RE.pattern}, got {purpose!r}")


def _tag(key: bytes, purpose: str, body: str) -> str:
    return _b64encode(hmac.new(key, f"{purpose}:{body}".encode("ascii"), hashlib.sha256).digest())


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
