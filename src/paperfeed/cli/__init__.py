"""The ``paperfeed`` command line: a thin door onto the core (parse options, call one function, render).

One module per command group — ``papers`` (init, ingest, stats, export, config), ``search`` (index, search,
similar, bench), ``digests`` (digest, subscribe, unsubscribe), ``serve`` (serve, worker, demo), ``backup`` (backup,
restore), ``library`` (a member's library: import, list, export, restore) — over ``app`` (what every command is
handed) and ``output`` (JSON, messages, progress bars). This root group registers them.

Exit codes: 0 success, 1 unexpected failure, 2 bad configuration or usage, 3 not found, 4 rejected input
(``--strict``), 5 a remote source failed, 6 the store cannot be used, 7 not allowed, 8 rate limited, 9 a scheduled
job failed. Machine-readable output with ``--json`` goes to stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from paperfeed import __version__
from paperfeed.cli import backup, digests, library, papers, search, serve
from paperfeed.cli.app import App
from paperfeed.cli.output import err
from paperfeed.errors import PaperfeedError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="paperfeed")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML file of settings.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides PAPERFEED_DATA_DIR.")
@click.option("--database-url", help="Overrides PAPERFEED_DATABASE_URL (sqlite:///… or postgresql://…).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    """paperfeed: a self-hostable research-paper discovery service."""
    ctx.obj = App(config_file, {"data_dir": str(data_dir) if data_dir else None, "database_url": database_url})


for command in (
    papers.init,
    papers.ingest_command,
    papers.stats,
    papers.export,
    papers.config_command,
    search.index,
    search.search_command,
    search.similar,
    search.bench,
    digests.digest,
    digests.subscribe_command,
    digests.unsubscribe_command,
    serve.demo,
    serve.worker_command,
    serve.serve_command,
    backup.backup_command,
    backup.restore_command,
    library.library,
):
    cli.add_command(command)


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
