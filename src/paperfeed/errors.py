"""The small set of exceptions paperfeed raises on purpose.

Every door (CLI, web, jobs) maps these to a message and a status; anything else is a bug.
"""

from __future__ import annotations


class PaperfeedError(Exception):
    """Base class: a failure we expected and can explain to the user.

    The message (``str``) is for the operator: logs and the CLI. ``shown`` is what a web page or API answer may
    say: for errors about the request (4xx) the message itself, always our own words; for failures on our side
    (5xx), whose messages carry URLs, hosts and exception text, the ``public`` sentence given when raising, else the
    class's ``plainly``.
    """

    exit_code = 1
    http_status = 500
    plainly = "something went wrong on our side; it has been logged"

    def __init__(self, *args: object, public: str | None = None) -> None:
        self.public = public
        super().__init__(*args)

    @property
    def shown(self) -> str:
        if self.http_status < 500:
            return str(getattr(self, "reason", None) or self)
        return self.public or self.plainly


class ConfigError(PaperfeedError):
    """A setting is missing, unknown or has a value of the wrong shape."""

    exit_code = 2
    http_status = 500


class NotFound(PaperfeedError):
    exit_code = 3
    http_status = 404


class BadInput(PaperfeedError):
    """Input we refuse: a malformed record, page or parameter.

    ``where`` names the place (``file:line``, a record id, a parameter) so the user can find it.
    """

    exit_code = 4
    http_status = 422

    def __init__(self, reason: str, where: str | None = None) -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{where}: {reason}" if where else reason)


class SourceError(PaperfeedError):
    """A remote source answered with an error we cannot work around (after retries)."""

    exit_code = 5
    http_status = 502
    plainly = "a remote source did not answer; try again in a few minutes"


class StoreError(PaperfeedError):
    """The store cannot be used as it is (unknown URL, schema newer or older than this code)."""

    exit_code = 6
    http_status = 503
    plainly = "the database cannot be used right now; try again in a few minutes"


class Unauthorized(PaperfeedError):
    """The request needs a signed-in member (or a valid API token) and has none."""

    exit_code = 7
    http_status = 401


class Forbidden(PaperfeedError):
    """The member is known but may not do this (blocked, not a moderator, bad CSRF token)."""

    exit_code = 7
    http_status = 403


class RateLimited(PaperfeedError):
    """Too many attempts of one kind from one member or address; ``retry_after`` is in seconds."""

    exit_code = 8
    http_status = 429

    def __init__(self, reason: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(reason)
