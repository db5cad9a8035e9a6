"""The digest side of the command line: ``digest preview``, ``digest send``, ``subscribe`` and ``unsubscribe``.

Thin doors like the rest of the CLI: parse options, call ``digests.subscriptions`` / ``compose`` / ``schedule``,
render a summary or ``--json``. ``digest send`` exits 5 when the mail server stopped the run (the rest stays owed for
the next run); ``subscribe`` exits 5 when the confirmation mail could not be sent (it stays queued).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperfeed.cli.app import App
from paperfeed.cli.output import Bar, emit_json, err, progress

if TYPE_CHECKING:
    from paperfeed.periods import Period
    from paperfeed.store import Store
    from paperfeed.store.subscriptions import Subscriber

REMOTE_FAILED = 5


@click.group()
def digest() -> None:
    """Email digests: preview one, send the ones that are due."""


def _latest_period(store: Store, subscriber: Subscriber) -> Period:
    """The latest complete period of the subscriber's frequency in the feed (for previews)."""
    from paperfeed.errors import NotFound
    from paperfeed.periods import day_period, week_period

    latest = store.latest_feed_day()
    if latest is None:
        raise NotFound("the feed is empty: ingest papers first")
    day = date.fromisoformat(latest)
    if subscriber.frequency == "daily":
        return day_period(day)
    week = week_period(day)
    return week.shift(-1) if week.contains(datetime.now(UTC).date()) else week


@digest.command()
@click.option("--to", "address", required=True, help="The subscriber's address.")
@click.option("--period", help="A day (2026-11-20) or an ISO week (2026-W47); default: the latest complete one.")
@click.option("--html-out", type=click.Path(path_type=Path, dir_okay=False), help="Write the HTML part here.")
@click.option("--text-out", type=click.Path(path_type=Path, dir_okay=False), help="Write the text part here.")
@click.pass_obj
def preview(app: App, address: str, period: str | None, html_out: Path | None, text_out: Path | None) -> None:
    """Compose one subscriber's digest without sending it; the text part goes to stdout (unless --text-out)."""
    from paperfeed.digests.compose import compose_period, paper_count
    from paperfeed.digests.schedule import digest_message
    from paperfeed.errors import NotFound
    from paperfeed.periods import parse_period

    with app.store() as store:
        subscriber = store.subscriber_by_email(address.strip())
        if subscriber is None:
            raise NotFound(f"no subscriber with the address {address.strip()!r}")
        chosen = parse_period(period) if period else _latest_period(store, subscriber)
        [(_, composed)] = list(compose_period(store, app.config, chosen, [subscriber]))
    message = digest_message(app.config, subscriber, composed, chosen, datetime.now(UTC))
    text_part, html_part = (part.get_content() for part in message.iter_parts())
    if html_out:
        html_out.write_text(html_part, encoding="utf-8")
    if text_out:
        text_out.write_text(text_part, encoding="utf-8")
    else:
        sys.stdout.write(text_part)
    count = paper_count(composed)
    status = f"{count} paper{'s' if count != 1 else ''}" if count else "nothing new: this digest would not be sent"
    err.print(f"{escape(subscriber.email)} · {chosen.key} · {status} · Subject: {escape(str(message['Subject']))}")


@digest.command(name="send")
@click.option("--dry-run", is_flag=True, help="Compose and report; send nothing, record nothing.")
@click.option("--period", help="Send this day (2026-11-20) or ISO week (2026-W47) to everyone due it (default: "
              "what is due now at each subscriber's hour).")  # fmt: skip
@click.option("--connections", type=click.IntRange(1, 32),
              help="SMTP connections used at once (default: PAPERFEED_SMTP_CONNECTIONS).")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def send_command(
    ctx: click.Context, dry_run: bool, period: str | None, connections: int | None, quiet: bool, as_json: bool
) -> None:
    """Send the digests that are due, each exactly once however often this runs; queued confirmations too."""
    from paperfeed.digests.compose import check_period
    from paperfeed.digests.schedule import send_due, send_period
    from paperfeed.digests.subscriptions import send_confirmations
    from paperfeed.digests.transport import open_mailer, uses_outbox, where_mail_goes
    from paperfeed.periods import parse_period

    app: App = ctx.obj
    chosen = parse_period(period) if period else None
    if chosen is not None:
        check_period(chosen)  # before the progress bar: a month is refused at once
    with app.store() as store, open_mailer(app.config) as mailer:
        with progress(disable=quiet or as_json) as shown:
            bar = Bar(shown, "would send" if dry_run else "digests")
            sending = connections or app.config.smtp_connections
            options: dict[str, Any] = {"dry_run": dry_run, "progress": bar, "connections": sending}
            if chosen is not None:
                report = send_period(store, app.config, mailer, chosen, **options)
            else:
                report = send_due(store, app.config, mailer, datetime.now(UTC), **options)
        confirmations = 0 if dry_run or report.stopped else send_confirmations(store, app.config, mailer)
    where = where_mail_goes(app.config)
    if as_json:
        emit_json({**report.to_dict(), "confirmations": confirmations, "transport": app.config.mail_transport})
    else:
        _print_report(report.to_dict(), confirmations, kept=uses_outbox(app.config))
        if not dry_run and (report.sent or confirmations):
            err.print(f"Handed to {escape(where)}.", highlight=False)
    if report.stopped:
        ctx.exit(REMOTE_FAILED)


def _print_report(data: dict[str, Any], confirmations: int, *, kept: bool = False) -> None:
    """The run's table; ``kept``: the transport is the local outbox, so nothing is called "sent"."""
    for note in data["notes"]:
        err.print(f"[yellow]{escape(note)}[/]")
    if data["stopped"]:
        err.print(f"[red]{escape(data['stopped'])}[/]")
    table = Table(title="dry run: nothing sent or recorded" if data["dry_run"] else None, title_justify="left")
    done = "would send" if data["dry_run"] else "kept in outbox" if kept else "sent"
    for column in ("periods", done, "skipped", "failed", "already sent"):
        table.add_column(column, justify="right" if column != "periods" else "left")
    periods = ", ".join(f"{key} ({n:,})" for key, n in data["periods"].items()) or "none due"
    table.add_row(
        periods, f"{data['sent']:,}", f"{data['skipped']:,}", f"{data['failed']:,}", f"{data['already_sent']:,}"
    )
    Console().print(table)
    extras = {
        "deferred (retried later)": data["deferred"],
        "re-sent after a killed run": data["resent"],
        "addresses bounced": data["bounced"],
        "earlier skipped or failed": data["already_done"],
        "cancelled": data["cancelled"],
        "confirmations kept in the outbox" if kept else "confirmations sent": confirmations,
    }
    shown = [f"{n:,} {what}" for what, n in extras.items() if n]
    if shown:
        err.print(", ".join(shown))
    for preview in data["previews"][:10]:
        err.print(f"  {escape(preview['email'])}: {escape(preview['subject'])}", highlight=False)


@click.command(name="subscribe")
@click.argument("address")
@click.option("--weekly/--daily", default=None, help="One digest a week (the previous ISO week, on Monday) or one "
              "per announcement day (the default for a new address).")  # fmt: skip
@click.option("--topic", "topics", multiple=True, help='cat:cs.LG, author:"Ada Lovelace" or "query:diffusion '
              'models" (repeatable).')  # fmt: skip
@click.option("--trending/--no-trending", default=None, help="Include the trending papers (the default) or not.")
@click.option("--max", "max_papers", type=int, help="Papers per digest (1-50; default 10).")
@click.option("--hour", type=int, help="Send hour in the subscriber's time zone (default 8).")
@click.option("--tz", "timezone", help="IANA time zone, e.g. Europe/Paris (default UTC).")
@click.option("--confirmed", is_flag=True, help="The address is known to be theirs: no confirmation mail.")
@click.option("--json", "as_json", is_flag=True, help="Print the subscriber as JSON.")
@click.pass_context
def subscribe_command(
    ctx: click.Context,
    address: str,
    weekly: bool | None,
    topics: tuple[str, ...],
    trending: bool | None,
    max_papers: int | None,
    hour: int | None,
    timezone: str | None,
    confirmed: bool,
    as_json: bool,
) -> None:
    """Subscribe ADDRESS to digests (or change its settings: what is not named stays as it was); without --confirmed
    a confirmation mail goes out."""
    from paperfeed.digests.subscriptions import send_confirmations, subscribe, unsent_confirmation
    from paperfeed.digests.transport import open_mailer, uses_outbox, where_mail_goes

    app: App = ctx.obj
    with app.store() as store:
        subscriber = subscribe(
            store,
            app.config,
            address,
            frequency=None if weekly is None else "weekly" if weekly else "daily",
            topics=topics or None,
            include_trending=trending,
            max_papers=max_papers,
            send_hour=hour,
            timezone=timezone,
            confirmed=confirmed,
        )
        unsent: str | None = None
        if subscriber.status == "pending":
            with open_mailer(app.config) as mailer:
                send_confirmations(store, app.config, mailer)
            failure = unsent_confirmation(store, subscriber)
            unsent = failure.error if failure else None
        sent = subscriber.status == "pending" and unsent is None
    if as_json:
        emit_json(
            {
                **subscriber.to_dict(),
                "confirmation_sent": sent,
                "transport": app.config.mail_transport,
                **({"confirmation_error": unsent} if unsent else {}),
            }
        )
    else:
        what = ", ".join(t.text for t in subscriber.topics) or "no topics"
        shown_trending = "trending + " if subscriber.include_trending else ""
        err.print(
            f"{escape(subscriber.email)}: {subscriber.status}, {subscriber.frequency} at {subscriber.send_hour}:00 "
            f"{escape(subscriber.timezone)}, {shown_trending}{escape(what)}, at most {subscriber.max_papers} papers",
            highlight=False,
        )
        if sent and uses_outbox(app.config):
            err.print(
                f"The confirmation mail is kept in {escape(where_mail_goes(app.config))}: follow its link (the "
                "site shows it at /outbox); nothing else goes to the address until then.",
                highlight=False,
            )
        elif sent:
            err.print("A confirmation mail is on its way; nothing else is sent until its link is followed.")
    if subscriber.status == "pending" and not sent:
        err.print(
            f"[yellow]The confirmation mail could not be sent through {escape(where_mail_goes(app.config))}: "
            f"{escape(unsent or '')}; `paperfeed digest send` will retry it.[/]",
            highlight=False,
        )
        ctx.exit(REMOTE_FAILED)


@click.command(name="unsubscribe")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print the subscriber as JSON.")
@click.pass_obj
def unsubscribe_command(app: App, address: str, as_json: bool) -> None:
    """Stop all digests to ADDRESS."""
    from paperfeed.digests.subscriptions import unsubscribe_address

    with app.store() as store:
        subscriber = unsubscribe_address(store, address)
    if as_json:
        emit_json(subscriber.to_dict())
    else:
        err.print(f"{escape(subscriber.email)}: unsubscribed; nothing more will be sent to it.", highlight=False)
