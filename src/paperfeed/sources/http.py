"""A polite HTTP client for remote sources: spacing between requests, Retry-After, bounded retries.

arXiv asks for at most one request every 3 seconds and answers 503 with ``Retry-After`` when busy; Hugging Face
rate-limits with 429. Every fetcher goes through ``PoliteClient`` so no source can forget those rules, and every
client is built by ``polite_client`` so none forgets the instance's contact address or the source's pace. The clock
and sleep are injectable so tests run on recorded responses (``httpx.MockTransport``) without waiting.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from paperfeed import __version__
from paperfeed.config import Config
from paperfeed.errors import SourceError

USER_AGENT = f"paperfeed/{__version__} (+https://github.com/paperfeed/paperfeed)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass
class Response:
    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class PoliteClient:
    """GET with a minimum interval between requests and retries on 429/5xx/connection errors.

    ``min_interval`` is per client: use one client per remote host. Retries back off exponentially from
    ``backoff`` seconds unless the server names a wait in Retry-After (capped at ``max_wait``).
    """

    def __init__(
        self,
        *,
        min_interval: float = 3.0,
        max_retries: int = 5,
        backoff: float = 5.0,
        max_wait: float = 600.0,
        timeout: float = 60.0,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._last_request: float | None = None
        self._http = httpx.Client(
            timeout=timeout, headers={"User-Agent": user_agent}, transport=transport, follow_redirects=True
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            remaining = self.min_interval - (self._clock() - self._last_request)
            if remaining > 0:
                self._sleep(remaining)
        self._last_request = self._clock()

    def get(self, url: str, params: Mapping[str, str | int] | None = None, ok: tuple[int, ...] = (200,)) -> Response:
        """Fetch ``url``; return the response if its status is in ``ok``, else retry or raise ``SourceError``."""
        attempt = 0
        while True:
            self._wait_turn()
            try:
                r = self._http.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                wait = None
            else:
                if r.status_code in ok:
                    return Response(str(r.url), r.status_code, r.content, r.headers)
                if r.status_code not in RETRY_STATUSES:
                    raise SourceError(f"{r.url} answered HTTP {r.status_code}: {r.text[:300]}")
                problem = f"HTTP {r.status_code}"
                wait = retry_after_seconds(r.headers.get("Retry-After"), self._wall_clock())
            attempt += 1
            if attempt > self.max_retries:
                raise SourceError(f"{url}: giving up after {self.max_retries} retries ({problem})")
            delay = wait if wait is not None else self.backoff * 2 ** (attempt - 1)
            self._sleep(min(delay, self.max_wait))


def polite_client(config: Config | None = None, *, min_interval: float | None = None, **options: Any) -> PoliteClient:
    """The one way to build a client: the operator's contact address (``PAPERFEED_CONTACT_EMAIL``) goes in the
    User-Agent, and requests are spaced ``min_interval`` seconds apart (None: ``PAPERFEED_REQUEST_INTERVAL``, the
    pace arXiv asks for; a source's registry entry names its own). ``options`` go to ``PoliteClient`` (retries,
    and in tests a transport and clocks)."""
    if config is not None:
        options.setdefault("user_agent", f"{USER_AGENT} {config.contact_email}".strip())
    if min_interval is None and config is not None:
        min_interval = config.request_interval
    if min_interval is not None:
        options["min_interval"] = min_interval
    return PoliteClient(**options)
