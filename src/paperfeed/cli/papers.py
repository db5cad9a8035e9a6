"""The papers side of the command line: ``init``, ``ingest``, ``stats``, ``export`` and ``config``.

Thin doors: parse options, call the store / ``ingest`` / ``sources.registry``, render a summary or ``--json``.
``run_ingest`` and ``print_report`` are shared with ``demo``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperfeed.cli.app import App, pass_app
from paperfeed.cli.output import emit_json, err, progress
from paperfeed.ingest.writer import IngestReport, PreparedBatch, ingest, prepared
from paperfeed.sources import Batch
from paperfeed.store import Store


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def init(app: App, as_json: bool) -> None:
    """Create the store, or migrate it to the current schema."""
    store = Store(app.config.store_url)
    with store:
        applied = store.migrate()
        version = store.schema_version()
    if as_json:
        emit_json({"store": store.db.safe_url, "applied": applied, "schema_version": version})
    else:
        what = f"applied migration(s) {', '.join(map(str, applied))}" if applied else "already up to date"
        err.print(f"Store {store.db.safe_url}: {what} (schema {version}).")


def run_ingest(
    store: Store,
    label: str,
    batches: Iterator[Batch] | Iterator[PreparedBatch],
    strict: bool,
    quiet: bool,
    index: bool = False,
) -> IngestReport:
    """Ingest with a progress bar; with ``index``, the search indexes follow after every batch."""
    after_batch = None
    if index:
        from paperfeed.search.indexes import indexes_for

        def after_batch() -> None:
            indexes_for(store).sync()

    if quiet:
        return ingest(store, batches, strict=strict, after_batch=after_batch)
    with progress(rate=True) as bar:
        task = bar.add_task(label, total=None, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            t = bar.tasks[task]
            if t.elapsed:
                bar.update(task, rate=f"{t.completed / t.elapsed:,.0f} papers/s")

        return ingest(store, batches, strict=strict, progress=advance, after_batch=after_batch)


def print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    for rejection in report.rejections[:20]:
        err.print(f"[yellow]rejected[/] {escape(rejection.where)}: {escape(rejection.reason)}")
    if report.rejected > 20:
        err.print(f"[yellow]… and {report.rejected - 20} more rejected[/]")
    err.print(
        f"[bold]{report.new} new[/], {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected} rejected" + (f", {report.deleted} deleted" if report.deleted else "")
    )


@click.command(name="ingest")
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
    from paperfeed.ingest.read_ahead import read_ahead
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
            report = run_ingest(store, kind, source.fetch_batches(app.config, request), strict, quiet, index)
        else:
            paths = [Path(s) for s in sources]
            for path in paths:
                if not path.is_file():
                    raise click.BadParameter(f"{path} is not a file (or a remote source: {', '.join(REMOTE)})")

            def batches() -> Iterator[Batch]:
                for path in paths:
                    yield from read_file(path, fmt, batch_size=size)

            # Files are parsed and their rows prepared in a child process while this one writes (read_ahead): the two
            # take a core each.
            ahead = read_ahead(map(prepared, batches()))
            report = run_ingest(store, ", ".join(p.name for p in paths), ahead, strict, quiet, index)
    print_report(report, as_json)


@click.command()
@click.option("--days", default=14, show_default=True, help="How many recent announcement days to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_app
def stats(app: App, days: int, as_json: bool) -> None:
    """Counts of papers by source, primary category and announcement day."""
    with app.store() as store:
        data = store.stats(days=days)
    if as_json:
        emit_json(data)
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


@click.command()
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


@click.command(name="config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_app
def config_command(app: App, as_json: bool) -> None:
    """The effective settings, where each comes from, with secrets hidden."""
    rows = app.config.describe()
    if as_json:
        emit_json(rows)
        return
    table = Table(show_lines=False)
    for column in ("setting", "value", "from", "help"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["env"], str(row["value"]), row["origin"], row["help"])
    Console().print(table)
