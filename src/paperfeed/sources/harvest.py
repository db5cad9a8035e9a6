"""Harvesting arXiv over OAI-PMH: page through a ListRecords list, one ``Batch`` (and checkpoint) per page.

A full backfill of a category is thousands of pages fetched at arXiv's pace of one request per 3 seconds, so a
harvest must survive being killed: each batch carries the resumption token that continues after its page, the
store saves it in the same transaction as the page's papers, and the next run passes it back as ``state``.
Tokens expire (the 2025 endpoint's within a day), so a stale one restarts the list from the beginning; that is
safe because ingesting the same paper again is idempotent. Requests go through ``PoliteClient`` (spacing,
503 + Retry-After); parsing is ``oai.parse_oai_page``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from paperfeed.errors import BadInput, SourceError
from paperfeed.sources import Batch, ParsedPage
from paperfeed.sources.http import PoliteClient, Response
from paperfeed.sources.oai import OaiError, parse_oai_page

ARXIV_OAI_URL = "https://oaipmh.arxiv.org/oai"
BAD_RESUMPTION_TOKEN = "badResumptionToken"
METADATA_PREFIXES = ("arXivRaw", "arXiv")  # the formats oai.parse_oai_page reads
# OAI-PMH sends errors with HTTP 200, but some repositories use 4xx with the same OAI error body; reading those
# bodies turns them into the right OaiError (badResumptionToken must reach the restart logic) instead of a bare
# HTTP failure.
_READABLE_STATUSES = (200, 400, 404, 422)
# A token that goes stale mid-list restarts once; a second failure is a repository problem, not expiry.
_MAX_RESTARTS = 1


def oai_state_key(
    base_url: str, metadata_prefix: str, set_spec: str | None, from_date: str | None, until: str | None
) -> str:
    """The store key under which a harvest of exactly this list keeps its resumption checkpoint."""
    return f"oai:{base_url}:{metadata_prefix}:{set_spec}:{from_date}:{until}"


def harvest_oai(
    client: PoliteClient,
    *,
    base_url: str = ARXIV_OAI_URL,
    set_spec: str | None,
    from_date: str | None,
    until: str | None = None,
    metadata_prefix: str = "arXivRaw",
    state: dict[str, Any] | None = None,
) -> Iterator[Batch]:
    """Yield one batch per ListRecords page, resuming from ``state`` (the saved checkpoint value) if it has a token.

    Each batch's checkpoint is ``(oai_state_key(...), {"resumption_token": …, "pages": n})`` while the list goes
    on and ``(key, None)`` once it is complete; ``meta`` carries the page's deleted ids, its number and the
    list size the repository announced. Raises ``OaiError`` for OAI errors other than noRecordsMatch (an empty
    list: one empty batch) and an expired token, ``SourceError`` for HTTP failures after the client's retries.
    """
    if metadata_prefix not in METADATA_PREFIXES:
        # Any other format would turn every record into a Rejection, page after page, at 3 s a page.
        raise BadInput(f"metadata_prefix must be one of {', '.join(METADATA_PREFIXES)}", "metadata_prefix")
    _check_date("from_date", from_date)
    _check_date("until", until)
    key = oai_state_key(base_url, metadata_prefix, set_spec, from_date, until)
    first: dict[str, str | int] = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        first["set"] = set_spec
    if from_date:
        first["from"] = from_date
    if until:
        first["until"] = until

    saved_token = (state or {}).get("resumption_token") or None
    pages = int((state or {}).get("pages", 0)) if saved_token else 0
    params = _continue(saved_token) if saved_token else first
    restarts = 0
    while True:
        response = client.get(base_url, params=params, ok=_READABLE_STATUSES)
        try:
            page = _read_page(response, where=f"{base_url}#page{pages + 1}")
        except OaiError as exc:
            stale = exc.code == BAD_RESUMPTION_TOKEN and "resumptionToken" in params
            if not stale or restarts >= _MAX_RESTARTS:
                raise
            restarts += 1
            pages = 0
            params = first
            continue
        pages += 1
        token = page.resumption_token
        if token is not None and token == params.get("resumptionToken"):
            raise SourceError(f"{base_url} answered resumptionToken {token!r} with the same token: the list loops")
        yield Batch(
            items=page.items,
            checkpoint=(key, {"resumption_token": token, "pages": pages} if token else None),
            meta={
                "deleted": page.deleted,
                "page": pages,
                "complete_list_size": page.total,
                "cursor": page.start,
                "restarted": restarts > 0,
            },
        )
        if token is None:
            return
        params = _continue(token)


def _continue(token: str) -> dict[str, str | int]:
    # OAI-PMH: a request carrying a resumptionToken must carry no other argument than the verb.
    return {"verb": "ListRecords", "resumptionToken": token}


def _read_page(response: Response, where: str) -> ParsedPage:
    try:
        page = parse_oai_page(response.body, where)
    except BadInput:
        if response.status != 200:
            raise SourceError(f"{response.url} answered HTTP {response.status}") from None
        raise
    if response.status != 200:
        raise SourceError(f"{response.url} answered HTTP {response.status} with an OAI-PMH page")
    return page


def _check_date(name: str, value: str | None) -> None:
    # arXiv's repository granularity is a day; anything else is answered with badArgument after a 3 s wait.
    if value is None:
        return
    try:
        date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"expected a YYYY-MM-DD date, got {value!r}", name) from None
    if len(value) != 10:
        raise BadInput(f"expected a YYYY-MM-DD date, got {value!r}", name)
