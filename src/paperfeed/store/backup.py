"""Backups of a store while it runs, and restores of them: one directory per backup, on either engine.

A backup directory holds ``manifest.json`` (what it is: engine, schema, papers, when), the store itself and, when
there is one, the embedding cache. SQLite stores are copied with SQLite's online backup API from a read
transaction: WAL lets the site and the worker go on writing meanwhile, and the copy is the store as of one
commit. PostgreSQL stores are dumped by ``pg_dump`` (one repeatable-read snapshot, custom format) and restored by
``pg_restore`` of the server's version or newer, found on ``PATH``, in Debian's layout or in the ``pgserver``
package, which bundles them.

The search indexes are not in a backup: they are derived data, and an index newer than the store under it would
skip the changes the restored store numbers again. A restore therefore empties the index directory and the next
``paperfeed index`` (or the site's catch-up) rebuilds it from the store. Rebuilding is fast (seconds per 100k
papers) except for embedding, so the embedding cache — vectors by model and text, the only expensive derived data
— is copied too (the same online backup: it is a SQLite file) and restored beside the target's.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from paperfeed.errors import BadInput, Forbidden, NotFound, StoreError
from paperfeed.store.core import Store

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "store.sqlite"
PG_FILE = "store.pgdump"
CACHE_FILE = "embeddings.sqlite"


def backup(store: Store, dest: Path, *, cache_file: Path | None = None) -> dict[str, Any]:
    """Write a backup of ``store`` (and of the embedding cache at ``cache_file``, if it exists) to the new
    directory ``dest``; returns the manifest. Safe while other processes write to the store."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Forbidden(f"{dest} exists and is not an empty directory: back up to a new one")
    store.check()
    dest.mkdir(parents=True, exist_ok=True)
    partial = dest / ".partial"
    partial.touch()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    files: dict[str, int] = {}
    if store.dialect == "sqlite":
        assert store.db.path is not None
        copy_sqlite_file(store.db.path, dest / SQLITE_FILE)
        files[SQLITE_FILE] = (dest / SQLITE_FILE).stat().st_size
        papers, schema = _sqlite_summary(dest / SQLITE_FILE)
    else:
        # Counted before the dump: the dump's snapshot is as new or newer, so the count is a lower bound.
        papers, schema = store.count_papers(), store.schema_version()
        _run(_pg_binary("pg_dump", store), "--format=custom", "--no-owner", f"--file={dest / PG_FILE}", store.db.url)
        files[PG_FILE] = (dest / PG_FILE).stat().st_size
    if cache_file is not None and cache_file.exists():
        copy_sqlite_file(cache_file, dest / CACHE_FILE)
        files[CACHE_FILE] = (dest / CACHE_FILE).stat().st_size
    manifest = {
        "format": FORMAT,
        "dialect": store.dialect,
        "schema_version": schema,
        "papers": papers,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "indexes": "not included: a restore empties the index directory, `paperfeed index` rebuilds it",
    }
    (dest / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    partial.unlink()
    return manifest


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of the backup directory ``src``; refuses what is not a whole backup of a known format."""
    if not src.exists():
        raise NotFound(f"no backup at {src}", str(src))
    path = src / MANIFEST
    if not path.is_file():
        raise BadInput(f"not a paperfeed backup (no {MANIFEST})", str(src))
    if (src / ".partial").exists():
        raise BadInput("an unfinished backup (it was interrupted): make a new one", str(src))
    try:
        manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"unreadable manifest: {exc}", str(path)) from None
    if manifest.get("format") != FORMAT or manifest.get("dialect") not in ("sqlite", "postgres"):
        raise BadInput(f"a backup format this paperfeed does not read ({manifest.get('format')!r})", str(path))
    return manifest


def restore(
    src: Path, url: str, *, index_dir: Path | None = None, cache_file: Path | None = None, force: bool = False
) -> dict[str, Any]:
    """Restore the backup ``src`` into the store at ``url`` (same engine), its embedding cache to ``cache_file``
    and empty ``index_dir``; a store that holds papers is replaced only with ``force``. Returns the manifest and
    the restored store's paper count. The site and workers of the target must be stopped."""
    manifest = read_manifest(src)
    target = Store(url)
    try:
        if target.dialect != manifest["dialect"]:
            raise BadInput(
                f"the backup is of a {manifest['dialect']} store; restore it into a "
                + ("sqlite:///… URL" if manifest["dialect"] == "sqlite" else "postgresql://… URL"),
                str(src),
            )
        if not force and _holds_papers(target):
            raise Forbidden(f"the store at {target.db.safe_url} holds papers: pass --force to replace it")
        if target.dialect == "sqlite":
            target.close()
            assert target.db.path is not None
            copy_sqlite_file(src / SQLITE_FILE, target.db.path)
        else:
            _run(
                _pg_binary("pg_restore", target),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={url}",
                str(src / PG_FILE),
            )
    finally:
        target.close()
    if cache_file is not None and (src / CACHE_FILE).exists():
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite_file(src / CACHE_FILE, cache_file)
    if index_dir is not None and index_dir.exists():
        shutil.rmtree(index_dir)
    restored = Store(url)
    try:
        restored.check()
        papers = restored.count_papers()
    finally:
        restored.close()
    return {**manifest, "restored_papers": papers, "index_dir_emptied": str(index_dir) if index_dir else None}


def _sqlite_summary(path: Path) -> tuple[int, int]:
    """(live papers, schema version) of a copied store, read-only: opening it as a store would turn it to WAL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (papers,) = conn.execute("SELECT count(*) FROM papers WHERE deleted_at IS NULL").fetchone()
        (schema,) = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    finally:
        conn.close()
    return int(papers), int(schema)


def _holds_papers(store: Store) -> bool:
    if store.db.path is not None and not store.db.path.exists():
        return False
    return store.schema_version() > 0 and store.count_papers() > 0


def copy_sqlite_file(src: Path, dest: Path) -> None:
    """Copy a live SQLite database (others may be writing) to ``dest`` as of one commit, replacing ``dest``.

    Written beside ``dest`` and renamed over it, so ``dest`` is never half a database; any WAL of an old
    ``dest`` goes too (it belongs to the database being replaced)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".restoring")
    tmp.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {src}: {exc}") from None
    try:
        copy = sqlite3.connect(tmp)
        try:
            # One step (-1 pages): the whole file under one read transaction, which WAL lets writers run beside.
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        finally:
            copy.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {src}: {exc}") from None
    finally:
        source.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, dest)


def _pg_binary(name: str, store: Store) -> str:
    """``pg_dump`` / ``pg_restore`` able to talk to the store's server: of its major version or newer (they refuse
    older servers only), the closest such among PATH's, Debian's (``/usr/lib/postgresql/N/bin``) and the ones the
    ``pgserver`` package bundles."""
    row = store.db.query_one("SHOW server_version_num")
    server = int(row[0]) // 10000 if row else 0
    candidates = [shutil.which(name), *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))]
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "pginstall" / "bin" / name))
    found: list[tuple[int, str]] = []
    for path in dict.fromkeys(c for c in candidates if c and Path(c).exists()):
        version = re.search(rb"(\d+)\.\d+", subprocess.run([path, "--version"], capture_output=True).stdout)
        if version and int(version[1]) >= server:
            found.append((int(version[1]), path))
    if not found:
        raise StoreError(
            f"no {name} of PostgreSQL {server} or newer: install PostgreSQL's client programs (or pgserver)"
        )
    return min(found)[1]


def _run(*cmd: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise StoreError(f"cannot run {cmd[0]}: {exc}") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise StoreError(f"{Path(cmd[0]).name} failed: {' / '.join(message[-3:]) or done.returncode}")
