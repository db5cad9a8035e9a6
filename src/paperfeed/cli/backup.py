"""``paperfeed backup DEST`` and ``paperfeed restore SRC``: thin doors onto ``store.backup``."""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.cli.app import App, pass_app
from paperfeed.cli.output import emit_json, err
from paperfeed.search.registry import SearchSettings
from paperfeed.store import open_store
from paperfeed.store.backup import backup, restore


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the backup's manifest as JSON.")
@pass_app
def backup_command(app: App, dest: Path, as_json: bool) -> None:
    """Back up the store (and the embedding cache) into the new directory DEST, while the site runs.

    \b
    SQLite: SQLite's online backup API (writers go on meanwhile); the copy is the store as of one commit.
    PostgreSQL: pg_dump (custom format), from PATH or the pgserver package's bundled binaries.
    Search indexes are not copied: they are rebuilt from the store after a restore (`paperfeed index`;
    vectors come from the restored embedding cache, so nothing is embedded again).
    Exit codes: 0 done, 6 the store cannot be read or pg_dump failed, 7 DEST exists and is not empty.
    """
    settings = SearchSettings.from_config(app.config)
    with open_store(app.config.store_url) as store:
        manifest = backup(store, dest, cache_file=settings.embedding_cache_file)
    if as_json:
        emit_json({"backup": str(dest), **manifest})
    else:
        err.print(
            f"Backed up {manifest['papers']:,} papers ({manifest['dialect']}, schema {manifest['schema_version']}) "
            f"to {dest}."
        )


@click.command("restore")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a store that already holds papers.")
@click.option("--json", "as_json", is_flag=True, help="Print what was restored as JSON.")
@pass_app
def restore_command(app: App, src: Path, force: bool, as_json: bool) -> None:
    """Restore the backup directory SRC into the configured store (stop the site and workers first).

    \b
    The store must be of the backup's engine. Its search index directory is emptied (an index newer than the
    restored store would miss changes); run `paperfeed index` afterwards to rebuild it from the store.
    Exit codes: 0 done, 3 no SRC, 4 SRC is not a backup or is of the other engine, 6 the store cannot be
    written or pg_restore failed, 7 the store holds papers and --force was not given.
    """
    settings = SearchSettings.from_config(app.config)
    result = restore(
        src,
        app.config.store_url,
        index_dir=settings.index_dir,
        cache_file=settings.embedding_cache_file,
        force=force,
    )
    if as_json:
        emit_json({"restored_from": str(src), **result})
    else:
        err.print(
            f"Restored {result['restored_papers']:,} papers from {src}; "
            "run `paperfeed index` to rebuild the search indexes."
        )
