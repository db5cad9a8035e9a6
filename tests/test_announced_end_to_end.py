"""The announcement loop end to end, with no network: a week of arXiv announcements served from loopback (OAI-PMH
arXivRaw pages and cs.CV listing feeds in the recorded responses' formats, carrying real papers of the listings
archive) through ``paperfeed worker --once`` day by day fills the day and week pages, the feeds, trending and the
weekly digest (a real SMTP sink); and a Kaggle snapshot alone (derived days only) makes a weekly digest send."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperfeed.cli import cli
from paperfeed.community import rules
from paperfeed.config import load_config
from paperfeed.digests.subscriptions import subscribe
from paperfeed.store import open_store
from paperfeed.web.app import create_app
from test_subscriptions import SECRET, SITE, Sink, running_sink

FIXTURES = Path(__file__).parent / "fixtures"
WEEK = [date(2026, 11, 16) + timedelta(days=n) for n in range(5)]  # listing days Mon 16 … Fri 20 Nov 2026


def real_papers() -> list[dict[str, Any]]:
    with gzip.open(FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz") as lines:
        return [json.loads(line) for line in lines]


@dataclass
class Planned:
    record: dict[str, Any]
    submitted: datetime  # UTC
    harvested_on: date  # the listing day whose harvest (the evening before) reports it
    listed_on: date | None  # the day the cs.CV feed lists it; None: never (the worker missed that feed)

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def kind(self) -> str:
        return "new" if self.record["categories"][0] == "cs.CV" else "cross"


def plan() -> list[Planned]:
    """Three papers per listing day, submitted 1–3 hours before the deadline of the weekday before it (14:00 EST is
    19:00 UTC): the first and third are in that day's feed, the second only in the harvest; and one paper that
    moderation held: submitted for Tuesday, listed on Thursday."""
    records = real_papers()
    planned = []
    for i, record in enumerate(records[:15]):
        day = WEEK[i // 3]
        deadline = day - timedelta(days=3 if day.weekday() == 0 else 1)
        submitted = datetime(deadline.year, deadline.month, deadline.day, 19, tzinfo=UTC) - timedelta(hours=i % 3 + 1)
        planned.append(Planned(record, submitted, day, None if i % 3 == 1 else day))
    held = datetime(2026, 11, 16, 17, tzinfo=UTC)
    planned.append(Planned(records[15], held, WEEK[1], WEEK[3]))
    return planned


def oai_page(papers: list[Planned]) -> bytes:
    records = "".join(
        f"""<record><header><identifier>oai:arXiv.org:{p.id}</identifier><datestamp>{p.harvested_on}</datestamp>
<setSpec>cs</setSpec></header><metadata>
<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>{p.id}</id><submitter>{escape(p.record["authors"][0])}</submitter>
<version version="v1"><date>{p.submitted.strftime("%a, %-d %b %Y %H:%M:%S GMT")}</date><size>1024kb</size></version>
<title>{escape(p.record["title"])}</title><authors>{escape(", ".join(p.record["authors"]))}</authors>
<categories>{" ".join(p.record["categories"])}</categories><license>http://creativecommons.org/licenses/by/4.0/</license>
<abstract>{escape(p.record["summary"])}</abstract></arXivRaw></metadata></record>"""
        for p in papers
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-16T06:00:00Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXivRaw">http://oaipmh.arxiv.org/oai</request>
<ListRecords>{records}<resumptionToken cursor="0" completeListSize="{len(papers)}"></resumptionToken></ListRecords>
</OAI-PMH>""".encode()


def listing_feed(day: date, papers: list[Planned]) -> bytes:
    """The day's cs.CV feed in the layout of the recorded rss.arxiv.org Atom response."""
    entries = "".join(
        f"""<entry><id>oai:arXiv.org:{p.id}v1</id><title>{escape(p.record["title"])}</title>
<updated>{day}T05:15:23+00:00</updated><link href="https://arxiv.org/abs/{p.id}" rel="alternate" type="text/html"/>
<summary>arXiv:{p.id}v1 Announce Type: {p.kind}
Abstract: {escape(p.record["summary"])}</summary>
{"".join(f'<category term="{c}"/>' for c in p.record["categories"])}
<published>{day}T00:00:00-05:00</published><arxiv:announce_type>{p.kind}</arxiv:announce_type>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:creator>{escape(", ".join(p.record["authors"]))}</dc:creator></entry>"""
        for p in papers
    )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us"><id>http://rss.arxiv.org/atom/cs.CV</id>
<title>cs.CV updates on arXiv.org</title><updated>{day}T05:15:23+00:00</updated>{entries}</feed>""".encode()


@dataclass
class FakeArxiv:
    """OAI-PMH and the listing feeds as they stand on ``today``; every request is kept."""

    papers: list[Planned]
    today: date = WEEK[0]
    requests: list[str] = field(default_factory=list)

    def body(self, path: str) -> bytes:
        if path.startswith("/oai"):
            return oai_page([p for p in self.papers if p.harvested_on == self.today])
        if path == "/atom/cs.CV":
            return listing_feed(self.today, [p for p in self.papers if p.listed_on == self.today])
        raise KeyError(path)


@pytest.fixture
def arxiv() -> Iterator[tuple[FakeArxiv, str]]:
    fake = FakeArxiv(plan())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests.append(self.path)
            body = fake.body(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Sink, int]]:
    with running_sink() as running:
        yield running


def settings(store_url: str, tmp_path: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        "PAPERFEED_DATABASE_URL": store_url,
        "PAPERFEED_DATA_DIR": str(tmp_path),
        "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
        "PAPERFEED_SECRET_KEY": SECRET,
        "PAPERFEED_BASE_URL": SITE,
        "PAPERFEED_SMTP_HOST": "127.0.0.1",
        "PAPERFEED_SMTP_PORT": str(smtp_port),
        "PAPERFEED_MAIL_FROM": "paperfeed <digest@papers.example.org>",
        "PAPERFEED_HF_SIGNALS": "false",
        **extra,
    }


def worker_once(env: dict[str, str], at: str, *args: str) -> dict[str, dict[str, Any]]:
    outside = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}  # e.g. PAPERFEED_TEST_PG
    cmd = [sys.executable, "-m", "paperfeed", "worker", "--once", "--at", at, "--json", *args]
    done = subprocess.run(cmd, env={**outside, **env}, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return {r["job"]: r for r in orjson.loads(done.stdout)}


@pytest.mark.slow
def test_a_week_of_announcements_through_the_worker(
    store_url: str, tmp_path: Path, arxiv: tuple[FakeArxiv, str], smtp: tuple[Sink, int]
) -> None:
    fake, base = arxiv
    sink, port = smtp
    sink.reset()
    env = settings(
        store_url,
        tmp_path,
        port,
        PAPERFEED_ARXIV_OAI_URL=f"{base}/oai",
        PAPERFEED_ARXIV_RSS_URL=f"{base}/atom",
        PAPERFEED_ARXIV_SETS="cs:cs:CV",
        PAPERFEED_REQUEST_INTERVAL="0",
    )
    config = load_config(env=env)
    with open_store(config.store_url) as store:
        subscribe(store, config, "weekly@example.org", frequency="weekly", topics=["cat:cs.CV"], max_papers=50,
                  include_trending=True, confirmed=True)  # fmt: skip

    for day in WEEK:  # 01:00 EST of each listing day: last evening's announcement is harvested, the feed is out
        fake.today = day
        results = worker_once(env, f"{day}T06:00:00+0000")
        assert results["harvest"]["status"] == "ran", results
        assert results["listings"]["status"] == "ran" and results["listings"]["day"] == day.isoformat(), results
        if day == WEEK[2]:  # run again that night: each source was read once for the announcement
            again = worker_once(env, f"{day}T07:00:00+0000")
            assert again["harvest"]["status"] == again["listings"]["status"] == "not-due", again
    assert len([r for r in fake.requests if r.startswith("/oai")]) == 5
    assert fake.requests.count("/atom/cs.CV") == 5

    planned = plan()
    with open_store(config.store_url) as store:
        stored = store.get_papers(p.id for p in planned)
        for p in planned:
            day = (p.listed_on or p.harvested_on).isoformat()
            assert stored[p.id].listing_days == {day: p.kind if p.listed_on else "derived"}, p.id
        assert store.stats()["by_day"] == {d.isoformat(): 3 for d in WEEK} | {"2026-11-19": 4}
        members = [rules.sign_up(store, name, "correct horse battery") for name in ("ada", "bob")]
        derived_only = planned[1]
        for member in members:
            rules.upvote(store, member, derived_only.id)

        app = create_app(config, store=store)
        with TestClient(app) as client:
            json_page = {"Accept": "application/json"}
            week = client.get("/papers/week/2026-W47", headers=json_page).json()
            assert week["total"] == 16
            day = client.get("/papers/date/2026-11-16", headers=json_page).json()
            ids = [p["id"] for p in day["papers"]]
            assert ids[0] == derived_only.id  # most upvoted first; a derived day lists like a real one
            assert sorted(ids) == sorted(p.id for p in planned if (p.listed_on or p.harvested_on) == WEEK[0])
            assert escape(derived_only.record["title"]) in client.get("/papers/date/2026-11-16").text
            daily = client.get("/feeds/daily.rss").text  # the latest listing day
            friday = [p.id for p in planned if (p.listed_on or p.harvested_on) == WEEK[4]]
            assert len(friday) == 3 and all(f"/papers/{pid}" in daily for pid in friday), daily[:3000]
            trending = client.get("/papers/trending?day=2026-11-20", headers=json_page).json()
            assert [t["id"] for t in trending["papers"]][:1] == [derived_only.id]

    # Monday 23 Nov 08:00 UTC: the weekly digest of W47 is due.
    digests = worker_once(env, "2026-11-23T08:05:00+0000", "--job", "digests")["digests"]
    assert digests["status"] == "ran" and digests["sent"] == 1, digests
    (message,) = sink.to("weekly@example.org")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(p.record["title"].split()[0] in text for p in planned)
    assert "Trending this week" in text


def kaggle_snapshot(path: Path) -> Path:
    """300 cs.CV / cs.AI papers in the Kaggle snapshot's format, first version on Monday 16 Nov 2026 (UTC)."""
    lines = []
    for n in range(300):
        stamp = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(minutes=4 * n + 1)
        cats = "cs.CV cs.AI" if n % 3 else "cs.AI"
        lines.append(
            orjson.dumps(
                {
                    "id": f"2611.{10000 + n}",
                    "submitter": "Ada Lovelace",
                    "authors": "Ada Lovelace, Alan Turing",
                    "title": f"Vision paper {n}: sparse attention for segmentation",
                    "comments": None,
                    "journal-ref": None,
                    "doi": None,
                    "categories": cats,
                    "license": None,
                    "abstract": "  We segment images with sparse attention.\n",
                    "versions": [{"version": "v1", "created": stamp.strftime("%a, %-d %b %Y %H:%M:%S GMT")}],
                    "update_date": "2026-11-17",
                    "authors_parsed": [["Lovelace", "Ada", ""], ["Turing", "Alan", ""]],
                }
            )
        )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_kaggle_snapshot_alone_fills_the_week_and_its_digest(
    store_url: str, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    sink.reset()
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("PAPERFEED_")}
    runner = CliRunner(env={**env, **settings(store_url, tmp_path, port)})

    def invoke(*args: str) -> Any:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return orjson.loads(result.stdout) if "--json" in args else result.stdout

    invoke("init")
    invoke("ingest", "-q", str(kaggle_snapshot(tmp_path / "snapshot.jsonl")))
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        invoke("subscribe", address, "--weekly", "--topic", "cat:cs.CV", "--confirmed")
    sent = invoke("digest", "send", "--period", "2026-W47", "--json", "-q")
    assert (sent["sent"], sent["skipped"]) == (3, 0), sent
    assert sorted(sink.count_by_recipient()) == ["a@example.org", "b@example.org", "c@example.org"]
    # 00:01–04:59 UTC is Sunday evening in New York and 05:00–18:59 Monday before the deadline: Tuesday's listing;
    # from 19:00 (14:00 EST) on, Wednesday's.
    stats = invoke("stats", "--json")
    assert stats["by_day"] == {"2026-11-17": 285, "2026-11-18": 15}
