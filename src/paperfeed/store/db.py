"""The dialect seam: connections, placeholders, transactions and locking for SQLite and PostgreSQL.

Everything above this module writes one SQL text with ``?`` placeholders; this module adapts it to the engine and
owns what differs in how the engines are driven. SQLite runs in WAL mode with a busy timeout so readers never see
"database is locked", and writers queue on ``BEGIN IMMEDIATE`` (plus an in-process lock, so threads of one
process queue without spinning). PostgreSQL serialises paperfeed's writers with a transaction-scoped advisory lock,
which gives both backends the same one-writer semantics for merges that read before they write.

Bulk writes go through ``insert_rows`` (rows known to be new) and ``upsert_rows``. On SQLite both are one prepared
``INSERT`` (``… ON CONFLICT``) run over the rows: SQLite is in-process, a statement per row costs microseconds. On
PostgreSQL new rows are streamed with ``COPY`` straight into their table, and upserted ones into a temporary
staging table merged by one ``INSERT … SELECT … ON CONFLICT`` per table and batch: a statement per row was a
plan execution and a share of a network round trip each (ingest ran at 2,900 papers/s that way).
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from paperfeed.errors import BadInput, StoreError

_WRITE_LOCK_ID = 0x70617065  # advisory lock key for paperfeed writers on PostgreSQL ("pape")


class Database:
    """A per-thread connection to one store URL; ``query``/``execute`` take SQL with ``?`` placeholders."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._unstorable: tuple[type[Exception], ...] = _UNSTORABLE
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path: Path | None = Path(url.removeprefix("sqlite:///"))
        elif url.startswith(("postgresql://", "postgres://")):
            import psycopg

            self.dialect = "postgres"
            self.path = None
            self._unstorable = (*_UNSTORABLE, psycopg.DataError)
        else:
            raise StoreError(f"unsupported store URL {url!r}: use sqlite:///path or postgresql://…")
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._sql_cache: dict[str, str] = {}
        self._connections: list[tuple[threading.Thread, Any]] = []
        self._connections_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA cache_size=-65536")
            return conn
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {self.safe_url}: {exc}") from None

    @property
    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            # Web servers' thread pools retire idle threads and start new ones: close the connections of threads
            # that have ended, or each new thread leaks one (with its page cache, up to 64 MB on SQLite).
            with self._connections_lock:
                alive = []
                for thread, other in self._connections:
                    if thread.is_alive():
                        alive.append((thread, other))
                    else:
                        with suppress(Exception):
                            other.close()
                self._connections = [*alive, (threading.current_thread(), conn)]
        return conn

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages."""
        if "@" in self.url and "://" in self.url:
            scheme, rest = self.url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
        return self.url

    def close(self) -> None:
        with self._connections_lock:
            for _, conn in self._connections:
                with suppress(Exception):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- SQL -----------------------------------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        if self.dialect == "sqlite":
            return text
        cached = self._sql_cache.get(text)
        if cached is None:
            cached = self._sql_cache[text] = text.replace("%", "%%").replace("?", "%s")
        return cached

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cur = self.conn.execute(self.sql(text), params)
        except self._unstorable as exc:
            raise _unstorable(exc) from exc
        return list(cur.fetchall())

    def query_one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.query(text, params)
        return rows[0] if rows else None

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        try:
            cur = self.conn.execute(self.sql(text), params)
        except self._unstorable as exc:
            raise _unstorable(exc) from exc
        return int(cur.rowcount or 0)

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            try:
                self.conn.cursor().executemany(self.sql(text), rows)
            except self._unstorable as exc:
                raise _unstorable(exc) from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows whose keys are known to be absent (on PostgreSQL: one COPY straight into the table)."""
        if not rows:
            return
        cols = ", ".join(columns)
        if self.dialect == "sqlite":
            self.conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({self.placeholders(len(columns))})", rows)
            return
        with self.conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def upsert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        key: Sequence[str] | None = None,
        update: Sequence[str] = (),
        extra_set: str = "",
    ) -> None:
        """Insert ``rows`` into ``table``; with ``key``, a row whose key exists updates ``update`` (``excluded.``
        values) plus ``extra_set`` (SQL, e.g. ``deleted_at = NULL``) instead. Inside the caller's transaction; the
        rows' keys must be distinct (PostgreSQL refuses to update one row twice in one statement)."""
        if not rows:
            return
        cols = ", ".join(columns)
        conflict = ""
        if key is not None:
            sets = ", ".join([*(f"{c} = excluded.{c}" for c in update), *([extra_set] if extra_set else [])])
            conflict = f" ON CONFLICT ({', '.join(key)}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
        if self.dialect == "sqlite":
            marks = self.placeholders(len(columns))
            self.conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}){conflict}", rows)
            return
        self._merge_staged(table, cols, conflict, rows, None)

    def upsert_copy_data(
        self, table: str, columns: Sequence[str], data: bytes, *, key: Sequence[str], update: Sequence[str]
    ) -> None:
        """``upsert_rows`` for rows already encoded as PostgreSQL binary COPY data (header and trailer included),
        for values whose text form costs more to make than the binary one (pgvector's vectors)."""
        cols = ", ".join(columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        self._merge_staged(table, cols, f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}", (), data)

    def _merge_staged(
        self, table: str, cols: str, conflict: str, rows: Sequence[Sequence[Any]], data: bytes | None
    ) -> None:
        stage = self._staging_table(table, cols)
        cur = self.conn.cursor()
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN" + (" (FORMAT BINARY)" if data is not None else "")) as copy:
            if data is not None:
                copy.write(data)
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}{conflict}")
        # Emptied now, not left for the next batch: autovacuum never visits temporary tables.
        cur.execute(f"TRUNCATE {stage}")

    def _staging_table(self, table: str, cols: str) -> str:
        """A temporary table of this session with ``table``'s types for ``cols``. Created by every call that needs
        it (IF NOT EXISTS costs one catalogue lookup): a rolled-back transaction takes a table it created along."""
        name = f"pf_stage_{table}_{zlib.crc32(cols.encode()):08x}"
        self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT {cols} FROM {table} WITH NO DATA")
        return name

    def executescript(self, script: str) -> None:
        if self.dialect == "sqlite":
            # executescript would COMMIT the caller's transaction; run statement by statement instead.
            for statement in _split_sql(script):
                self.conn.execute(statement)
        else:
            self.conn.execute(script)

    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            row = self.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
            return row is not None
        row = self.query_one("SELECT to_regclass(?)", (name,))
        return bool(row and row[0])

    @staticmethod
    def placeholders(n: int) -> str:
        return ",".join("?" * n)

    def any_of(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """``column`` equal to one of ``values``, as (condition, parameters) pieces to run one query each: one
        ``= ANY(?)`` over an array on PostgreSQL (psycopg parsed an ``IN`` list of 900 placeholders anew for every
        query, a tenth of a bulk ingest's client time), ``IN`` lists of at most 900 on SQLite (its host-parameter
        limit was 999). No values, no pieces."""
        if not values:
            return
        if self.dialect == "postgres":
            yield f"{column} = ANY(?)", [list(values)]
            return
        for i in range(0, len(values), 900):
            chunk = list(values[i : i + 900])
            yield f"{column} IN ({self.placeholders(len(chunk))})", chunk

    # -- transactions ------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One writer at a time; everything inside commits together or not at all."""
        with self._write_lock:
            conn = self.conn
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_ID,))
                    yield


# Values no door should have let through (each door checks its input), refused here as the last line of defence
# instead of surfacing as a 500: text with an unpaired surrogate (both drivers), a NUL (psycopg: DataError), an
# integer past 64 bits (sqlite3: OverflowError; psycopg: DataError, NumericValueOutOfRange). psycopg's is added
# when a PostgreSQL store opens (importing psycopg costs a third of a second, which SQLite users need not pay).
_UNSTORABLE: tuple[type[Exception], ...] = (UnicodeEncodeError, OverflowError)


def _unstorable(exc: Exception) -> BadInput:
    if isinstance(exc, UnicodeEncodeError):
        return BadInput("text that is not valid Unicode (an unpaired surrogate)")
    if isinstance(exc, OverflowError):
        return BadInput("a number too large to store")
    return BadInput(f"a value the database cannot store ({str(exc).splitlines()[0][:200]})")


def _split_sql(script: str) -> Iterator[str]:
    """Split a migration script into statements, keeping trigger bodies (BEGIN … END;) whole."""
    buffer: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--") and not buffer:
            continue
        buffer.append(line)
        statement = "\n".join(buffer).strip()
        if statement.endswith(";") and sqlite3.complete_statement(statement):
            yield statement
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest:
        yield rest
