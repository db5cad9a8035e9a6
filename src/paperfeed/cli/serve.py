"""Running paperfeed: ``serve`` (the web app), ``worker`` (the recurring jobs) and ``demo`` (the bundled corpus in the
default store, served).

Thin doors: ``serve`` and ``worker`` check the store before they start; ``worker --once`` exits 9 when a job failed.
"""

from __future__ import annotations

import datetime
import sys

import click
from rich.console import Console
from rich.markup import escape

from paperfeed.cli.app import App, pass_app
from paperfeed.cli.output import emit_json, err, print_paper
from paperfeed.cli.papers import print_report, run_ingest


@click.command()
@click.option("--no-serve", is_flag=True, help="Load the demo and print a summary, without starting the site.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (implies --no-serve).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
@click.pass_context
def demo(ctx: click.Context, no_serve: bool, as_json: bool, host: str, port: int) -> None:
    """Load the bundled corpus into the store (the default one unless told otherwise) and serve it on
    http://127.0.0.1:8000.

    Needs no network and no configuration. Afterwards every other command works on the demo's papers as it is,
    without --data-dir. A store that already holds papers of its own is left alone."""
    from paperfeed.cli.search import sync_with_progress
    from paperfeed.demo import load_demo, mark_demo_store, prime_cache, prime_summaries
    from paperfeed.search.indexes import indexes_for

    demo_app: App = ctx.obj
    with demo_app.store(migrate=True) as store:
        mark_demo_store(store)
        report = run_ingest(store, "demo corpus", load_demo(), strict=False, quiet=as_json)
        indexes = indexes_for(store)
        prime_cache(indexes.cache, indexes.model)
        prime_summaries(store, indexes.model)
        sync_with_progress(store, quiet=as_json)
        day = store.latest_day()
        papers = store.papers_on_day(day, limit=5) if day else []
        total = store.count_papers()
    if as_json:
        emit_json({"store": demo_app.config.store_url, "papers": total, "latest_day": day, **report.to_dict()})
        return
    no_serve = no_serve or as_json
    print_report(report, as_json=False)
    console = Console()
    console.print(f"\n[bold]paperfeed demo[/]: {total:,} papers in {demo_app.config.store_url}")
    if day:
        console.print(f"Latest announcement day: [bold]{day}[/]\n")
        for paper in papers:
            print_paper(console, paper)
    if no_serve:
        # The same store options the demo was given (none, for a newcomer), so the hint works as printed.
        overrides = demo_app.store_overrides().items()
        where = "".join(f" --{name.replace('_', '-')} {escape(value)}" for name, value in overrides)
        console.print(f'Search it: [bold]paperfeed{where} search "gaussian splatting"[/]')
        console.print(
            f"Serve it: [bold]PAPERFEED_MAIL_TRANSPORT=outbox paperfeed{where} serve[/] (mail kept at /outbox)"
        )
        return
    from paperfeed.web.serve import serve

    url = f"http://{host}:{port}"
    if demo_app.config.origins["base_url"] == "default":  # links in feeds and the API point at this server
        demo_app = demo_app.with_overrides(base_url=url)
    if demo_app.config.origins["mail_transport"] == "default":  # a demo has no mail server: keep mail, say so
        demo_app = demo_app.with_overrides(mail_transport="outbox")
    if demo_app.config.mail_transport == "outbox":
        console.print(f"Mail is kept, not sent: confirmation links and digests show at [bold]{url}/outbox[/]")
    console.print(f"Serving on [bold]{url}[/] (Ctrl-C to stop)")
    serve(demo_app.config, host=host, port=port, workers=1)


@click.command(name="worker")
@click.option("--once", is_flag=True, help="Run the jobs that are due now, print what each did, and exit.")
@click.option(
    "--job", type=click.Choice(["harvest", "listings", "hf-signals", "digests"]), help="With --once: only this job."
)
@click.option(
    "--at",
    "at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="With --once: run as if it were this time (e.g. 2026-11-24T06:00+0000), to replay or catch up a day.",
)
@click.option("--threads", default=1, show_default=True, type=int, help="Worker threads.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the results as JSON.")
@pass_app
def worker_command(
    app: App, once: bool, job: str | None, at: datetime.datetime | None, threads: int, as_json: bool
) -> None:
    """Run the recurring jobs: harvest arXiv after each announcement, index, refresh HF signals, send digests.

    Runs until stopped (Ctrl-C); `--once` runs what is due now and exits (for cron or a manual catch-up). Exit code
    9 when a job failed."""
    if not once:
        from paperfeed.jobs.worker import run_worker

        with app.store() as store:
            store.check()
        run_worker(app.config, threads)
        return
    from paperfeed.jobs.tasks import tick

    with app.store() as store:
        results = [r.to_dict() for r in tick(store, app.config, at, only=job)]
    if as_json:
        emit_json(results)
    else:
        for result in results:
            detail = ", ".join(f"{k}={v}" for k, v in result.items() if k not in ("job", "status"))
            err.print(f"[bold]{result['job']}[/]: {result['status']}" + (f" ({escape(detail)})" if detail else ""))
    if any(r["status"] == "failed" for r in results):
        sys.exit(9)


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, help="Worker processes (default: PAPERFEED_WEB_WORKERS).")
@pass_app
def serve_command(app: App, host: str, port: int, workers: int | None) -> None:
    """Run the web app and the JSON API (OpenAPI at /docs)."""
    from paperfeed.web.serve import serve

    with app.store() as store:  # refuse to start on a store that is missing or needs `paperfeed init`
        store.check()
    serve(app.config, host=host, port=port, workers=workers or app.config.web_workers)
