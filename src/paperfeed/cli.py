"""The ``paperfeed`` command line: a thin door onto the core (parse options, call one function, render).

Exit codes: 0 success, 1 unexpected failure, 2 bad configuration or usage, 3 not found, 4 rejected input
(``--strict``), 5 a remote source failed, 6 the store cannot be used, 7 not allowed, 8 rate limited, 9 a scheduled
job failed. Machine-readable output with ``--json`` goes to
stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from paperfeed import __version__
from paperfeed.config import Config, load_config
from paperfeed.errors import PaperfeedError
from paperfeed.ingest.writer import IngestReport, ingest
from paperfeed.papers import Paper
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources import Batch
from paperfeed.store import Store, open_store

err = Console(stderr=True)


class App:
    """What every command needs, built on first use from the global options (never at import time)."""

    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self._config_file = config_file
        self._overrides = overrides
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(file=self._config_file, overrides=self._overrides)
        return self._config

    @property
    def explicit_store(self) -> bool:
        """True when the command line named the data dir or the store URL."""
        return bool(self._overrides.get("data_dir") or self._overrides.get("database_url"))

    def with_data_dir(self, data_dir: Path) -> App:
        return self.with_overrides(data_dir=str(data_dir))

    def with_overrides(self, **overrides: Any) -> App:
        return App(self._config_file, {**self._overrides, **overrides})

    def store(self, *, migrate: bool = False) -> Store:
        """The configured store, its search indexes where the configuration says they live."""
        store = open_store(self.config.store_url, migrate=migrate)
        register(store, SearchSettings.from_config(self.config))
        return store


pass_app = click.make_pass_decorator(App)


def _emit_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="paperfeed")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML file of settings.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides PAPERFEED_DATA_DIR.")
@click.option("--database-url", help="Overrides PAPERFEED_DATABASE_URL (sqlite:///… or postgresql://…).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    """paperfeed: a self-hostable research-paper discovery service."""
    ctx.obj = App(config_file, {"data_dir": str(data_dir) if data_dir else None, "database_url": database_url})


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def init(app: App, as_json: bool) -> None:
    """Create the store, or migrate it to the current schema."""
    store = Store(app.config.store_url)
    with store:
        applied = store.migrate()
        version = store.schema_version()
    if as_json:
        _emit_json({"store": store.db.safe_url, "applied": applied, "schema_version": version})
    else:
        what = f"applied migration(s) {', '.join(map(str, applied))}" if applied else "already up to date"
        err.print(f"Store {store.db.safe_url}: {what} (schema {version}).")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _run_ingest(
    store: Store, label: str, batches: Iterator[Batch], strict: bool, quiet: bool, index: bool = False
) -> IngestReport:
    """Ingest with a progress bar; with ``index``, the search indexes follow after every batch."""
    after_batch = None
    if index:
        from paperfeed.search.indexes import indexes_for

        def after_batch() -> None:
            indexes_for(store).sync()

    if quiet:
        return ingest(store, batches, strict=strict, after_batch=after_batch)
    with _progress() as progress:
        task = progress.add_task(label, total=None, rate="")

        def advance(n: int) -> None:
            progress.advance(task, n)
            t = progress.tasks[task]
            if t.elapsed:
                progress.update(task, rate=f"{t.completed / t.elapsed:,.0f} papers/s")

        return ingest(store, batches, strict=strict, progress=advance, after_batch=after_batch)


def _print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        _emit_json(report.to_dict())
        return
    for rejection in report.rejections[:20]:
        err.print(f"[yellow]rejected[/] {escape(rejection.where)}: {escape(rejection.reason)}")
    if report.rejected > 20:
        err.print(f"[yellow]… and {report.rejected - 20} more rejected[/]")
    err.print(
        f"[bold]{report.new} new[/], {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected} rejected" + (f", {report.deleted} deleted" if report.deleted else "")
    )


@cli.command(name="ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    help="File format (default: detected): paperfeed, kaggle, listings, seeds, "
    "arxiv-oai, arxiv-api, arxiv-rss, hf-daily.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad record; nothing of its batch is written.")
@click.option("--set", "sets", multiple=True, help="arxiv-oai: OAI set, e.g. cs:cs:LG (repeatable).")
@click.option("--from", "from_date", help="arxiv-oai: harvest records changed since this date (YYYY-MM-DD).")
@click.option("--until", help="arxiv-oai: harvest records changed until this date (YYYY-MM-DD).")
@click.option("--prefix", default="arXivRaw", type=click.Choice(["arXivRaw", "arXiv"]), help="arxiv-oai: metadata.")
@click.option("--date", "date", help="hf-daily: the day (YYYY-MM-DD; default today).")
@click.option("--batch-size", type=int, help="Papers per transaction (default: PAPERFEED_INGEST_BATCH_SIZE).")
@click.option("--index", "index", is_flag=True, help="Index and embed each batch as it is written (else: `index`).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def ingest_command(
    app: App,
    sources: tuple[str, ...],
    fmt: str | None,
    strict: bool,
    sets: tuple[str, ...],
    from_date: str | None,
    until: str | None,
    prefix: str,
    date: str | None,
    batch_size: int | None,
    index: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Load papers from files or remote sources; re-running is always safe.

    \b
    Files (gzip read directly):   paperfeed ingest papers.jsonl listings.jsonl.gz
    arXiv OAI-PMH (resumable):    paperfeed ingest arxiv-oai --set cs:cs:LG --from 2026-11-01
    arXiv daily listing:          paperfeed ingest arxiv-rss cs.LG cs.CL
    arXiv ids:                    paperfeed ingest arxiv-id 2503.01234 hep-th/9901001v2
    Hugging Face daily papers:    paperfeed ingest hf-daily --date 2026-11-20
    """
    from paperfeed.sources.files import read_file
    from paperfeed.sources.registry import REMOTE, FetchRequest

    size = batch_size or app.config.ingest_batch_size
    with app.store() as store:
        if sources[0] in REMOTE:
            kind, args = sources[0], sources[1:]
            source = REMOTE[kind]
            if source.remote_args and not args:
                raise click.UsageError(f"{kind} needs at least one {source.remote_args}")
            request = FetchRequest(
                args=args,
                sets=sets,
                from_date=from_date,
                until=until,
                prefix=prefix,
                days=(date,),
                state=store.get_state,
            )
            report = _run_ingest(store, kind, source.fetch_batches(app.config, request), strict, quiet, index)
        else:
            paths = [Path(s) for s in sources]
            for path in paths:
                if not path.is_file():
                    raise click.BadParameter(f"{path} is not a file (or a remote source: {', '.join(REMOTE)})")

            def batches() -> Iterator[Batch]:
                for path in paths:
                    yield from read_file(path, fmt, batch_size=size)

            report = _run_ingest(store, ", ".join(p.name for p in paths), batches(), strict, quiet, index)
    _print_report(report, as_json)


@cli.command()
@click.option("--days", default=14, show_default=True, help="How many recent announcement days to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_app
def stats(app: App, days: int, as_json: bool) -> None:
    """Counts of papers by source, primary category and announcement day."""
    with app.store() as store:
        data = store.stats(days=days)
    if as_json:
        _emit_json(data)
        return
    console = Console()
    console.print(
        f"[bold]{data['papers']:,}[/] papers" + (f" ({data['deleted']:,} deleted)" if data["deleted"] else "")
    )
    for title, key in (("source", "by_source"), ("primary category", "by_primary_category"), ("day", "by_day")):
        table = Table(title=f"by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("papers", justify="right")
        for name, count in data[key].items():
            table.add_row(str(name), f"{count:,}")
        console.print(table)


@cli.command()
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write (default: stdout)."
)
@pass_app
def export(app: App, output: Path | None) -> None:
    """Every paper as one JSON line (paperfeed format), re-importable losslessly with `paperfeed ingest`."""
    from paperfeed.sources.jsonl import export_record

    with app.store() as store:
        out = output.open("wb") if output else sys.stdout.buffer
        count = 0
        try:
            for paper in store.iter_papers():
                out.write(export_record(paper) + b"\n")
                count += 1
        finally:
            if output:
                out.close()
    err.print(f"exported {count:,} papers" + (f" to {output}" if output else ""))


@cli.command(name="config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_app
def config_command(app: App, as_json: bool) -> None:
    """The effective settings, where each comes from, with secrets hidden."""
    rows = app.config.describe()
    if as_json:
        _emit_json(rows)
        return
    table = Table(show_lines=False)
    for column in ("setting", "value", "from", "help"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["env"], str(row["value"]), row["origin"], row["help"])
    Console().print(table)


@cli.command()
@click.option("--no-serve", is_flag=True, help="Load the demo and print a summary, without starting the site.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (implies --no-serve).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
@click.pass_context
def demo(ctx: click.Context, no_serve: bool, as_json: bool, host: str, port: int) -> None:
    """Create (or reuse) a demo store with the bundled corpus and serve it on http://127.0.0.1:8000.

    Needs no network and no configuration."""
    from paperfeed.demo import load_demo, prime_cache
    from paperfeed.search.indexes import indexes_for
    from paperfeed.search_commands import sync_with_progress

    app: App = ctx.obj
    # The demo gets a store of its own (<data dir>/demo) unless told exactly where to go.
    demo_app = app if app.explicit_store else app.with_data_dir(Path(app.config.data_dir) / "demo")
    with demo_app.store(migrate=True) as store:
        report = _run_ingest(store, "demo corpus", load_demo(), strict=False, quiet=as_json)
        indexes = indexes_for(store)
        prime_cache(indexes.cache, indexes.model)
        sync_with_progress(store, quiet=as_json)
        day = store.latest_day()
        papers = store.papers_on_day(day, limit=5) if day else []
        total = store.count_papers()
    if as_json:
        _emit_json({"store": demo_app.config.store_url, "papers": total, "latest_day": day, **report.to_dict()})
        return
    no_serve = no_serve or as_json
    _print_report(report, as_json=False)
    console = Console()
    console.print(f"\n[bold]paperfeed demo[/]: {total:,} papers in {demo_app.config.store_url}")
    if day:
        console.print(f"Latest announcement day: [bold]{day}[/]\n")
        for paper in papers:
            _print_paper(console, paper)
    where = escape(demo_app.config.data_dir)
    if no_serve:
        console.print(f'Search it: [bold]paperfeed --data-dir {where} search "gaussian splatting"[/]')
        console.print(f"Serve it: [bold]paperfeed --data-dir {where} serve[/]")
        return
    from paperfeed.web.serve import serve

    url = f"http://{host}:{port}"
    if demo_app.config.origins["base_url"] == "default":  # links in feeds and the API point at this server
        demo_app = demo_app.with_overrides(base_url=url)
    console.print(f"Serving on [bold]{url}[/] (Ctrl-C to stop)")
    serve(demo_app.config, host=host, port=port, workers=1)


@cli.command(name="worker")
@click.option("--once", is_flag=True, help="Run the jobs that are due now, print what each did, and exit.")
@click.option("--job", type=click.Choice(["harvest", "hf-signals", "digests"]), help="With --once: only this job.")
@click.option("--threads", default=1, show_default=True, type=int, help="Worker threads.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the results as JSON.")
@pass_app
def worker_command(app: App, once: bool, job: str | None, threads: int, as_json: bool) -> None:
    """Run the recurring jobs: harvest arXiv after each announcement, index, refresh HF signals, send digests.

    Runs until stopped (Ctrl-C); `--once` runs what is due now and exits (for cron or a manual catch-up). Exit code
    9 when a job failed."""
    if not once:
        from paperfeed.worker import run_worker

        with app.store() as store:
            store.check()
        run_worker(app.config, threads)
        return
    from paperfeed.jobs import tick

    with app.store() as store:
        results = [r.to_dict() for r in tick(store, app.config, only=job)]
    if as_json:
        _emit_json(results)
    else:
        for result in results:
            detail = ", ".join(f"{k}={v}" for k, v in result.items() if k not in ("job", "status"))
            err.print(f"[bold]{result['job']}[/]: {result['status']}" + (f" ({escape(detail)})" if detail else ""))
    if any(r["status"] == "failed" for r in results):
        sys.exit(9)


@cli.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, help="Worker processes (default: PAPERFEED_WEB_WORKERS).")
@pass_app
def serve_command(app: App, host: str, port: int, workers: int | None) -> None:
    """Run the web app and the JSON API (OpenAPI at /docs)."""
    from paperfeed.web.serve import serve

    with app.store() as store:  # refuse to start on a store that is missing or needs `paperfeed init`
        store.check()
    serve(app.config, host=host, port=port, workers=workers or int(app.config.web_workers))


def _print_paper(console: Console, paper: Paper) -> None:
    authors = ", ".join(paper.authors[:4]) + (" et al." if len(paper.authors) > 4 else "")
    console.print(f"[bold]{escape(paper.title)}[/]  [dim]{paper.id} · {' '.join(paper.categories[:3])}[/]")
    console.print(f"  {authors}", markup=False)
    abstract = paper.abstract if len(paper.abstract) < 240 else paper.abstract[:240].rsplit(" ", 1)[0] + "…"
    console.print(f"  {abstract}\n", markup=False, style="dim")


def _register_search_commands() -> None:
    from paperfeed import search_commands

    for command in (
        search_commands.index,
        search_commands.search_command,
        search_commands.similar,
        search_commands.bench,
    ):
        cli.add_command(command)
    from paperfeed import digest_commands

    for command in (digest_commands.digest, digest_commands.subscribe_command, digest_commands.unsubscribe_command):
        cli.add_command(command)


_register_search_commands()


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PaperfeedError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
