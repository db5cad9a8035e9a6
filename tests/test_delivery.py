"""Delivery: what is due when, digests through a real SMTP server on loopback (aiosmtpd), exactly once across
re-runs, temporary and permanent failures, and a ``paperfeed digest send`` killed mid-run (slow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from paperfeed import tokens
from paperfeed.cli import cli
from paperfeed.config import Config
from paperfeed.digests.links import message_id
from paperfeed.digests.outbox import RetryPolicy, SenderBusy
from paperfeed.digests.schedule import due_period, send_due, send_period
from paperfeed.digests.smtp import Mailer, PermanentFailure
from paperfeed.digests.subscriptions import subscribe, unsubscribe, unsubscribe_address
from paperfeed.periods import parse_period
from paperfeed.store import Store, open_store
from paperfeed.store.subscriptions import Subscriber
from test_digests import FRIDAY, corpus
from test_subscriptions import SECRET, SITE, Sink, free_port, mailer, make_config, parse, running_sink, text_of

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda _: None)
FRIDAY_9AM = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Sink, int]]:
    with running_sink() as running:
        yield running


@pytest.fixture
def sink(smtp_server: tuple[Sink, int]) -> Sink:
    smtp_server[0].reset()
    return smtp_server[0]


@pytest.fixture
def config(tmp_path: Path, store_url: str, smtp_server: tuple[Sink, int]) -> Config:
    return make_config(tmp_path, store_url, smtp_server[1])


@pytest.fixture
def feed(store: Store) -> Store:
    store.upsert_papers(corpus())
    return store


def reader(store: Store, config: Config, email: str, *topics: str, **settings: object) -> Subscriber:
    return subscribe(store, config, email, topics=topics or ("cat:cs.LG",), confirmed=True, **settings)  # type: ignore[arg-type]


def statuses(store: Store, period: str) -> dict[str, int]:
    rows = store.db.query(
        "SELECT status, count(*) FROM deliveries WHERE kind = 'digest' AND period = ? GROUP BY status", (period,)
    )
    return {r[0]: int(r[1]) for r in rows}


# --- when ------------------------------------------------------------------------------------------------------

FEED_DAYS = {date(2026, 11, d) for d in (16, 17, 18, 19, 20, 23)}


def latest(cutoff: date) -> date | None:
    return max((d for d in FEED_DAYS if d <= cutoff), default=None)


def _who(frequency: str = "daily", hour: int = 8, tz: str = "UTC") -> Subscriber:
    return Subscriber(1, "r@example.org", "active", frequency, True, 10, hour, tz)


@pytest.mark.parametrize(
    ("who", "now", "due"),
    [
        (_who(), "2026-11-20T07:59:00+00:00", "2026-11-19"),
        (_who(), "2026-11-20T08:00:00+00:00", "2026-11-20"),
        (_who(), "2026-11-21T10:00:00+00:00", "2026-11-20"),  # Saturday: no announcement, Friday's is the latest
        (_who(), "2026-11-23T00:30:00+00:00", "2026-11-20"),
        (_who(hour=0), "2026-11-23T00:30:00+00:00", "2026-11-23"),
        (_who(tz="Europe/Paris"), "2026-11-20T06:59:00+00:00", "2026-11-19"),  # 07:59 in Paris
        (_who(tz="Europe/Paris"), "2026-11-20T07:00:00+00:00", "2026-11-20"),
        (_who(tz="America/Los_Angeles"), "2026-11-20T15:59:00+00:00", "2026-11-19"),  # 07:59 PST
        (_who(tz="America/Los_Angeles"), "2026-11-20T16:00:00+00:00", "2026-11-20"),
        (_who(tz="Pacific/Kiritimati"), "2026-11-19T18:00:00+00:00", "2026-11-20"),  # UTC+14: Friday 08:00
        (_who(), "2026-12-05T09:00:00+00:00", None),  # the feed stopped two weeks ago: nothing is news
        (_who(), "2026-11-15T09:00:00+00:00", None),  # before the feed began
        (_who("weekly"), "2026-11-23T07:59:00+00:00", "2026-W46"),
        (_who("weekly"), "2026-11-23T08:00:00+00:00", "2026-W47"),  # Monday at the send hour: last week
        (_who("weekly"), "2026-11-25T12:00:00+00:00", "2026-W47"),  # a run that missed Monday catches up
        (_who("weekly", tz="Asia/Tokyo"), "2026-11-22T23:00:00+00:00", "2026-W47"),  # Monday 08:00 in Tokyo
        (_who("weekly"), "2026-11-22T23:00:00", "2026-W46"),  # a naive time is UTC
    ],
)
def test_due_period(who: Subscriber, now: str, due: str | None) -> None:
    period = due_period(who, datetime.fromisoformat(now), latest)
    assert (period.key if period else None) == due


# --- what a subscriber receives --------------------------------------------------------------------------------


def test_digest_content_and_headers(feed: Store, config: Config, sink: Sink) -> None:
    ada = reader(feed, config, "ada@example.org", "cat:cs.LG", "author:Alan Turing")
    with mailer(config) as m:
        report = send_period(feed, config, m, parse_period(FRIDAY), now=FRIDAY_9AM)
    assert (report.sent, report.skipped, report.failed) == (1, 0, 0)
    [message] = sink.to("ada@example.org")
    assert message["From"] == "paperfeed <digest@papers.example.org>"
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "paperfeed: 5 new papers · Friday, 20 November 2026"
    assert message["Message-ID"] == message_id(config, "digest", ada.id, ada.email, FRIDAY)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk" and message["Auto-Submitted"] == "auto-generated"
    one_click = str(message["List-Unsubscribe"]).strip("<>")
    assert one_click.startswith(f"{SITE}/unsubscribe?token=")
    text = text_of(message)
    assert f"Unsubscribe:\n{one_click}\n" in text  # the footer link is the one-click URL
    assert f"{SITE}/settings#subscriptions" in text
    assert "Trending today" in text and "Diffusion models for protein design" in text
    assert "Why: trending · cat:cs.LG · author:Alan Turing" in text
    assert f"{SITE}/papers/2611.00004" in text  # a cross-list into cs.LG
    assert "Diffusion models for weather" not in text  # Thursday's

    # The one-click POST target unsubscribes, for this address only.
    token = one_click.split("token=", 1)[1]
    assert tokens.verify(SECRET, "unsubscribe", token) == f"{ada.id}:ada@example.org"
    assert unsubscribe(feed, config, token).status == "unsubscribed"
    with mailer(config) as m:
        assert send_period(feed, config, m, parse_period("2026-11-19")).sent == 0
    assert len(sink.accepted) == 1


def test_each_subscriber_gets_each_period_once(feed: Store, config: Config, sink: Sink) -> None:
    daily = [reader(feed, config, f"d{i}@example.org") for i in range(3)]
    reader(feed, config, "weekly@example.org", frequency="weekly")
    reader(feed, config, "maths@example.org", "cat:math.AG", include_trending=False)
    subscribe(feed, config, "pending@example.org", topics=["cat:cs.LG"])  # never confirmed
    friday = parse_period(FRIDAY)
    with mailer(config) as m:
        first = send_period(feed, config, m, friday, now=FRIDAY_9AM)
        again = send_period(feed, config, m, friday, now=FRIDAY_9AM)
        due = send_due(feed, config, m, FRIDAY_9AM + timedelta(hours=3))
    assert (first.sent, first.skipped, first.already_sent) == (3, 1, 0)
    assert (again.sent, again.skipped, again.already_sent, again.already_done) == (0, 0, 3, 1)
    assert (due.sent, due.already_sent, due.periods) == (0, 3, {"2026-W46": 1, FRIDAY: 4})
    assert sink.count_by_recipient() == {s.email: 1 for s in daily}
    assert statuses(feed, FRIDAY) == {"sent": 3, "skipped": 1}
    assert feed.subscriber(daily[0].id).last_sent_at is not None  # type: ignore[union-attr]

    with mailer(config) as m:  # Monday: the weekly digest, once
        monday = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
        weekly = send_due(feed, config, m, monday)
        assert send_due(feed, config, m, monday + timedelta(minutes=10)).sent == 0
    assert (weekly.sent, weekly.already_sent) == (1, 3)
    [message] = sink.to("weekly@example.org")
    assert "Week 47, 2026" in str(message["Subject"])
    assert message["Message-ID"] == message_id(config, "digest", 4, "weekly@example.org", "2026-W47")


def test_several_connections_still_send_each_digest_once(feed: Store, config: Config, sink: Sink) -> None:
    readers = [reader(feed, config, f"r{i}@example.org") for i in range(12)]
    opened: list[Mailer] = []

    def connect() -> Mailer:
        opened.append(mailer(config))
        return opened[-1]

    friday = parse_period(FRIDAY)
    first = send_period(feed, config, None, friday, connections=3, mailer_factory=connect)
    again = send_period(feed, config, None, friday, connections=3, mailer_factory=connect)
    assert (first.sent, again.sent, again.already_sent) == (12, 0, 12)
    assert 1 < len(opened) <= 3
    assert sink.count_by_recipient() == {r.email: 1 for r in readers}
    assert statuses(feed, FRIDAY) == {"sent": 12}


def test_a_temporary_failure_is_retried_by_the_next_run(feed: Store, config: Config, sink: Sink) -> None:
    reader(feed, config, "later@example.org")
    friday = parse_period(FRIDAY)
    sink.data_replies[:] = ["451 try again later"] * 2
    with mailer(config) as m:
        first = send_period(feed, config, m, friday, now=FRIDAY_9AM, retry=NO_WAIT)
        too_soon = send_period(feed, config, m, friday, now=FRIDAY_9AM + timedelta(minutes=5), retry=NO_WAIT)
        later = send_period(feed, config, m, friday, now=FRIDAY_9AM + timedelta(minutes=20), retry=NO_WAIT)
    assert (first.sent, first.deferred, first.failed) == (0, 1, 0)
    assert (too_soon.sent, too_soon.deferred) == (0, 1)  # waits for its next_attempt_at (15 minutes)
    assert (later.sent, later.deferred) == (1, 0)
    assert sink.count_by_recipient() == {"later@example.org": 1}
    row = feed.db.query_one("SELECT status, attempts, error FROM deliveries WHERE kind = 'digest'")
    assert row == ("sent", 2, None)


def test_a_down_server_stops_the_run_and_leaves_the_rest_owed(feed: Store, tmp_path: Path, store_url: str) -> None:
    down = make_config(tmp_path, store_url, free_port())  # nothing listens there: connection refused
    for i in range(5):
        reader(feed, down, f"r{i}@example.org")
    with mailer(down) as m:
        report = send_period(feed, down, m, parse_period(FRIDAY), now=FRIDAY_9AM, retry=NO_WAIT)
    assert report.stopped and "temporarily" in report.stopped
    assert (report.sent, report.deferred) == (0, 3)
    assert statuses(feed, FRIDAY) == {"pending": 5}  # 3 waiting for their retry time, 2 never tried


def test_three_refusals_in_a_row_bounce_an_address(feed: Store, config: Config, sink: Sink) -> None:
    gone = reader(feed, config, "gone@example.org", "cat:cs.LG", "cat:cs.CL")
    reader(feed, config, "fine@example.org", "cat:cs.LG", "cat:cs.CL")
    sink.refuse["gone@example.org"] = "550 5.1.1 no such user"
    with mailer(config) as m:
        for day in ("2026-11-16", "2026-11-19", FRIDAY):
            report = send_period(feed, config, m, parse_period(day), retry=NO_WAIT)
            assert (report.sent, report.failed, report.stopped) == (1, 1, None)
        assert report.bounced == 1
        bounced = feed.subscriber(gone.id)
        assert bounced is not None and (bounced.status, bounced.permanent_failures) == ("bounced", 3)
        week = send_period(feed, config, m, parse_period("2026-W47"), retry=NO_WAIT)
    assert week.sent == 0  # both are daily; and the bounced address is not active any more
    assert sink.count_by_recipient() == {"fine@example.org": 3}
    error = feed.db.query_one("SELECT error FROM deliveries WHERE subscriber_id = ? AND period = ?", (gone.id, FRIDAY))
    assert error is not None and "550" in error[0]


def test_refusals_must_be_consecutive_to_bounce(feed: Store, config: Config, sink: Sink) -> None:
    flaky = reader(feed, config, "flaky@example.org", "cat:cs.LG", "cat:cs.CL")
    with mailer(config) as m:
        sink.refuse["flaky@example.org"] = "550 mailbox full"
        send_period(feed, config, m, parse_period("2026-11-16"), retry=NO_WAIT)
        send_period(feed, config, m, parse_period("2026-11-19"), retry=NO_WAIT)
        sink.refuse.clear()
        assert send_period(feed, config, m, parse_period(FRIDAY), retry=NO_WAIT).sent == 1
    found = feed.subscriber(flaky.id)
    assert found is not None and (found.status, found.permanent_failures) == ("active", 0)


class RefusesUs:
    """A server that refuses our credentials: every message fails the same way, through no fault of the readers."""

    def send(self, message: EmailMessage) -> None:
        raise PermanentFailure("authentication failed", code=535)


def test_a_refusal_of_our_account_blames_no_subscriber(feed: Store, config: Config) -> None:
    readers = [reader(feed, config, f"r{i}@example.org") for i in range(3)]
    report = send_period(feed, config, RefusesUs(), parse_period(FRIDAY), retry=NO_WAIT)
    assert report.stopped and "535" in report.stopped and report.failed == 0
    assert statuses(feed, FRIDAY) == {"pending": 3}
    assert all(feed.subscriber(r.id).permanent_failures == 0 for r in readers)  # type: ignore[union-attr]


def test_dry_run_composes_but_sends_and_records_nothing(feed: Store, config: Config, sink: Sink) -> None:
    reader(feed, config, "a@example.org")
    reader(feed, config, "b@example.org", "cat:math.AG", include_trending=False)
    with mailer(config) as m:
        report = send_period(feed, config, m, parse_period(FRIDAY), dry_run=True)
        due = send_due(feed, config, m, FRIDAY_9AM, dry_run=True)
    assert (report.dry_run, report.sent, report.skipped) == (True, 1, 1)
    assert report.previews == [
        {"email": "a@example.org", "period": FRIDAY, "papers": 5, "subject": report.previews[0]["subject"]}
    ]
    assert due.sent == 1
    assert sink.accepted == [] and statuses(feed, FRIDAY) == {}


def test_an_orphan_of_a_killed_run_is_sent_again_with_its_message_id(feed: Store, config: Config, sink: Sink) -> None:
    ada = reader(feed, config, "ada@example.org")
    mid = message_id(config, "digest", ada.id, ada.email, FRIDAY)
    # What a run killed while its message was in flight leaves behind.
    feed.record_deliveries("digest", FRIDAY, [(ada.id, "pending", mid)], "2026-11-20T09:00:00+00:00")
    assert feed.claim_delivery(ada.id, "digest", FRIDAY, "active", "2026-11-20T09:00:00+00:00") == ("pending", 1)
    with mailer(config) as m:
        report = send_period(feed, config, m, parse_period(FRIDAY))
    assert (report.sent, report.resent) == (1, 1)
    [message] = sink.to("ada@example.org")
    assert message["Message-ID"] == mid


def test_unsubscribing_mid_run_cancels_what_is_still_owed(feed: Store, config: Config, sink: Sink) -> None:
    first, second = reader(feed, config, "a@example.org"), reader(feed, config, "b@example.org")

    class Unsubscribes:
        def __init__(self) -> None:
            self.inner = mailer(config)

        def send(self, message: EmailMessage) -> None:
            unsubscribe_address(feed, second.email)  # b leaves while a's digest goes out
            self.inner.send(message)

    sender = Unsubscribes()
    with sender.inner:
        report = send_period(feed, config, sender, parse_period(FRIDAY))
    assert (report.sent, report.cancelled) == (1, 1)
    assert sink.count_by_recipient() == {first.email: 1}


def test_one_sender_at_a_time(feed: Store, config: Config, store_url: str) -> None:
    reader(feed, config, "a@example.org")
    with open_store(store_url) as other, other.sender_lock("digests") as got:
        assert got
        with pytest.raises(SenderBusy):
            send_period(feed, config, RefusesUs(), parse_period(FRIDAY))
        assert send_period(feed, config, RefusesUs(), parse_period(FRIDAY), dry_run=True).sent == 1
    with feed.sender_lock("digests") as again:
        assert again  # released with its holder


# --- the command line ------------------------------------------------------------------------------------------


def _env(config: Config) -> dict[str, str]:
    return {
        "PAPERFEED_SECRET_KEY": SECRET,
        "PAPERFEED_BASE_URL": SITE,
        "PAPERFEED_SMTP_HOST": "127.0.0.1",
        "PAPERFEED_SMTP_PORT": str(config.smtp_port),
        "PAPERFEED_MAIL_FROM": "paperfeed <digest@papers.example.org>",
    }


def test_cli_subscribe_preview_send_unsubscribe(feed: Store, config: Config, sink: Sink, tmp_path: Path) -> None:
    # Only these settings: the test run's own PAPERFEED_TEST_* variables are not settings.
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("PAPERFEED_")}
    runner = CliRunner(env={**env, **_env(config)})
    base = ["--database-url", config.store_url, "--data-dir", str(tmp_path)]

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    made = orjson.loads(invoke("subscribe", "ada@example.org", "--topic", "cat:cs.LG", "--topic",
                               "author:Alan Turing", "--max", "3", "--tz", "Europe/Paris", "--json"))  # fmt: skip
    assert (made["status"], made["confirmation_sent"], made["max_papers"]) == ("pending", True, 3)
    assert len(sink.to("ada@example.org")) == 1  # the confirmation only
    invoke("subscribe", "bob@example.org", "--weekly", "--no-trending", "--topic", "cat:cs.CL", "--confirmed")

    html = tmp_path / "preview.html"
    text = invoke("digest", "preview", "--to", "bob@example.org", "--period", "2026-W47", "--html-out", str(html))
    assert "Speech recognition for low-resource languages" in text and "Tokenizers for code" in text
    assert "Speech recognition" in html.read_text() and html.read_text().startswith("<!DOCTYPE html>")

    dry = orjson.loads(invoke("digest", "send", "--period", "2026-W47", "--dry-run", "--json"))
    assert (dry["dry_run"], dry["sent"]) == (True, 1)
    sent = orjson.loads(invoke("digest", "send", "--period", "2026-W47", "--json"))
    again = orjson.loads(invoke("digest", "send", "--period", "2026-W47", "--json"))
    assert (sent["sent"], again["sent"], again["already_sent"]) == (1, 0, 1)
    assert len(sink.to("bob@example.org")) == 1
    assert "already sent" in invoke("digest", "send", "--period", "2026-W47")

    gone = orjson.loads(invoke("unsubscribe", "bob@example.org", "--json"))
    assert gone["status"] == "unsubscribed"
    bad = runner.invoke(cli, [*base, "subscribe", "x@example.org", "--tz", "Nowhere/Else"])
    assert bad.exit_code != 0


def test_cli_with_the_local_outbox_says_kept_never_sent(
    feed: Store, config: Config, sink: Sink, tmp_path: Path
) -> None:
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("PAPERFEED_")}
    runner = CliRunner(env={**env, **_env(config), "PAPERFEED_MAIL_TRANSPORT": "outbox"})
    base = ["--database-url", config.store_url, "--data-dir", str(tmp_path)]

    def invoke(*args: str) -> Result:
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    made = invoke("subscribe", "ada@example.org", "--topic", "cat:cs.LG")
    said = " ".join(made.stderr.split())  # rich wraps long lines
    assert "kept in the local outbox" in said and "on its way" not in said
    invoke("subscribe", "bob@example.org", "--weekly", "--topic", "cat:cs.CL", "--confirmed")
    shown = invoke("digest", "send", "--period", "2026-W47")
    assert "kept in outbox" in shown.stdout and "nothing leaves this machine" in " ".join(shown.stderr.split())
    assert sink.accepted == []  # the SMTP server on the configured port got nothing
    kept = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [parse(p.read_bytes())["To"] for p in kept] == ["ada@example.org", "bob@example.org"]


def test_cli_subscribe_says_why_the_confirmation_was_not_sent(feed: Store, config: Config, tmp_path: Path) -> None:
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("PAPERFEED_")}
    runner = CliRunner(env={**env, **_env(config), "PAPERFEED_SMTP_PORT": str(free_port())})  # nothing listens
    base = ["--database-url", config.store_url, "--data-dir", str(tmp_path)]
    result = runner.invoke(cli, [*base, "subscribe", "ada@example.org", "--json"], catch_exceptions=False)
    assert result.exit_code == 5
    made = orjson.loads(result.stdout)
    assert made["confirmation_sent"] is False and "ConnectionRefusedError" in made["confirmation_error"]


# --- a killed run --------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("connections", [1, 4])
def test_a_killed_send_resumes_and_everyone_gets_exactly_one(
    feed: Store, config: Config, sink: Sink, tmp_path: Path, connections: int
) -> None:
    subscribers = [reader(feed, config, f"reader{i:02d}@example.org") for i in range(30)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env.update(_env(config), PAPERFEED_DATABASE_URL=config.store_url, PAPERFEED_DATA_DIR=str(tmp_path))
    command = [sys.executable, "-m", "paperfeed", "digest", "send", "--period", FRIDAY, "--json"]
    command += ["--connections", str(connections)]
    # A server that stalls after 10 messages: the run is killed once those 10 are recorded as sent, with a message
    # in flight on each connection (not accepted) and the rest still owed; a kill timed by the clock instead could
    # land between an acceptance and its record on a busy machine (the outbox's one documented window).
    sink.hold_after = 10

    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        now = statuses(feed, FRIDAY)
        if now.get("sent") == 10 and now.get("sending") == connections:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    delivered = len(sink.accepted)
    assert delivered == 10, proc.stderr.read() if proc.stderr else ""
    in_flight = statuses(feed, FRIDAY).get("sending", 0)
    assert in_flight == connections
    assert statuses(feed, FRIDAY) == {"sent": delivered, "sending": in_flight, "pending": 30 - delivered - in_flight}

    sink.hold_after = None
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    report = orjson.loads(resumed.stdout)
    assert (report["sent"], report["resent"], report["already_sent"]) == (30 - delivered, in_flight, delivered)
    assert sink.count_by_recipient() == {s.email: 1 for s in subscribers}
    ids = {parse(raw)["Message-ID"] for _, raw in sink.accepted}
    assert len(ids) == 30
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert orjson.loads(again.stdout)["already_sent"] == 30
    assert len(sink.accepted) == 30
