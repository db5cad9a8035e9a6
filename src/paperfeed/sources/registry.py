"""The one registry of ingest sources: each source's name, how to sniff a file of it, parse, fetch, and its signals.

Everything that reads papers from somewhere asks here rather than naming sources itself: ``files`` sniffs and
parses files through the entries, ``paperfeed ingest NAME …`` and the worker's jobs fetch through them, and the
store only ever sees a source's name as a value. Adding a source is one module in this package (a pure parser
returning ``ParsedPage``, a ``sniff`` over a file's ``Head``, a fetcher if it is remote) and one entry in
``SOURCES``. Entries are tried in order when sniffing, and the first that claims a file wins: the JSON Lines
formats come before Hugging Face's JSON, the arXiv API before the listing feeds (both are Atom).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from paperfeed.config import Config
from paperfeed.errors import BadInput
from paperfeed.papers import ParsedItem
from paperfeed.sources import Batch, Head, ParsedPage, arxiv_api, arxiv_rss, harvest, hf_daily, jsonl, oai, seeds
from paperfeed.sources.http import PoliteClient, polite_client


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch: the arguments of ``paperfeed ingest NAME ARGS… --options``, or a job's."""

    args: tuple[str, ...] = ()  # arxiv-rss: categories; arxiv-id: ids
    sets: tuple[str, ...] = ()  # arxiv-oai: OAI sets (none: the whole repository)
    from_date: str | None = None  # arxiv-oai: records changed since (YYYY-MM-DD)
    until: str | None = None
    prefix: str = "arXivRaw"  # arxiv-oai: metadata format
    days: tuple[str | None, ...] = (None,)  # hf-daily: the days (None: Hugging Face's current day)
    state: Callable[[str], dict[str, Any] | None] = field(default=lambda key: None)  # saved checkpoints by key


Fetcher = Callable[[PoliteClient, Config, FetchRequest], Iterator[Batch]]


@dataclass(frozen=True)
class Source:
    """One source of papers. ``name`` is its ``--format`` and the ``source`` of the papers it yields."""

    name: str
    sniff: Callable[[Head], bool] | None = None  # does a file whose head is this hold this source's format?
    parse: Callable[[bytes, str], ParsedPage] | None = None  # a whole document (``where`` names it in errors)
    read_lines: Callable[[Iterable[bytes], str], Iterator[ParsedItem]] | None = None  # JSON Lines, streamed
    fetch: Fetcher | None = None  # remote: batches for a request, through a polite client
    remote_name: str | None = None  # `paperfeed ingest NAME …` for fetching, when not ``name``
    remote_args: str | None = None  # what a fetch's positional arguments are, when it needs at least one
    min_interval: float | None = None  # seconds between requests (None: PAPERFEED_REQUEST_INTERVAL, arXiv's rule)
    signals: tuple[str, ...] = ()  # what its sightings carry besides metadata (e.g. upvotes), kept per source

    @property
    def fetch_name(self) -> str:
        return self.remote_name or self.name

    def client(self, config: Config, **options: Any) -> PoliteClient:
        """A polite client at this source's pace."""
        return polite_client(config, min_interval=self.min_interval, **options)

    def fetch_batches(
        self, config: Config, request: FetchRequest, client: PoliteClient | None = None
    ) -> Iterator[Batch]:
        """Fetch ``request``, one batch per page or request; a client made here is closed when the batches end."""
        if self.fetch is None:
            raise BadInput(f"{self.name} is not a remote source", self.name)
        if client is not None:
            yield from self.fetch(client, config, request)
            return
        with self.client(config) as own:
            yield from self.fetch(own, config, request)


def _fetch_oai(client: PoliteClient, config: Config, request: FetchRequest) -> Iterator[Batch]:
    for set_spec in request.sets or (None,):
        key = harvest.oai_state_key(config.arxiv_oai_url, request.prefix, set_spec, request.from_date, request.until)
        yield from harvest.harvest_oai(
            client,
            base_url=config.arxiv_oai_url,
            set_spec=set_spec,
            from_date=request.from_date,
            until=request.until,
            metadata_prefix=request.prefix,
            state=request.state(key),
        )


def _fetch_listings(client: PoliteClient, config: Config, request: FetchRequest) -> Iterator[Batch]:
    for category in request.args:
        yield Batch(arxiv_rss.fetch_listing(client, category, base_url=config.arxiv_rss_url))


def _fetch_ids(client: PoliteClient, config: Config, request: FetchRequest) -> Iterator[Batch]:
    ids = list(request.args)
    for i in range(0, len(ids), arxiv_api.LOOKUP_CHUNK):
        yield Batch(arxiv_api.lookup_ids(client, ids[i : i + arxiv_api.LOOKUP_CHUNK], base_url=config.arxiv_api_url))


def _fetch_daily_papers(client: PoliteClient, config: Config, request: FetchRequest) -> Iterator[Batch]:
    for day in request.days:
        yield Batch(hf_daily.fetch_daily_papers(client, day, base_url=config.hf_url))


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        *(Source(fmt, sniff=jsonl.sniffer(fmt), read_lines=jsonl.reader(fmt)) for fmt in jsonl.JSONL_FORMATS),
        Source("seeds", sniff=seeds.sniff, parse=seeds.parse_seed_page),
        Source(oai.SOURCE, sniff=oai.sniff, parse=oai.parse_oai_page, fetch=_fetch_oai),
        Source(
            "arxiv-api",
            sniff=arxiv_api.sniff,
            parse=arxiv_api.parse_api_feed,
            fetch=_fetch_ids,
            remote_name="arxiv-id",
            remote_args="id",
            signals=("submitted_at",),
        ),
        Source(
            "arxiv-rss",
            sniff=arxiv_rss.sniff,
            parse=arxiv_rss.parse_listing_feed,
            fetch=_fetch_listings,
            remote_args="category",
        ),
        Source(
            hf_daily.SOURCE,
            sniff=hf_daily.sniff,
            parse=hf_daily.parse_daily_papers,
            fetch=_fetch_daily_papers,
            min_interval=hf_daily.MIN_INTERVAL,
            signals=(
                *("upvotes", "num_comments", "submitted_by", "github_stars", "ai_summary", "ai_keywords"),
                "submitted_at",
            ),
        ),
    )
}
FORMATS = tuple(name for name, source in SOURCES.items() if source.parse or source.read_lines)
REMOTE: dict[str, Source] = {source.fetch_name: source for source in SOURCES.values() if source.fetch}


def sniff(head: bytes) -> str | None:
    """The format of a file whose first bytes are ``head``; None when no source claims it. Pure: no I/O."""
    seen = Head(head)
    return next((name for name, source in SOURCES.items() if source.sniff and source.sniff(seen)), None)


def remote(name: str) -> Source:
    """The source that ``paperfeed ingest NAME`` fetches (``BadInput`` naming the remote sources otherwise)."""
    try:
        return REMOTE[name]
    except KeyError:
        raise BadInput(f"unknown remote source {name!r} (paperfeed fetches: {', '.join(REMOTE)})", name) from None
