"""Fuzz the JSON API with schemathesis against its own /openapi.json, bounded in time, as CI does.

Usage: python scripts/schemathesis_run.py [--max-time SECONDS] [--max-examples N] [--database-url URL|start]
    [schemathesis options…]

Loads the bundled demo corpus into a throw-away store (no network; SQLite, or PostgreSQL with ``--database-url``),
serves the app on a loopback port (uvicorn in a thread; submitting fetches nothing), signs up a member with an API
token so the routes that need one are fuzzed too, and runs ``schemathesis run --checks all``: any 5xx, any status
the document does not list, a response that does not match its schema, a missing Allow on a 405… fails the run
(exit status of schemathesis).

One check is left out: ``positive_data_acceptance`` expects every value the schema allows to be accepted, but the
API checks more than a schema can say (a day, week or month must exist on the calendar, a cursor must be one it
issued, page × limit must stay within the first 1000 results, a comment must not be blank, an arXiv id or an email
address must parse) and refuses the rest with a documented 422 naming the field (docs/security.md).
``negative_data_rejection`` runs: what the schema says is invalid is refused (booleans and integers of JSON bodies are
strict; a vote's ``up`` also takes 0/1, as the schema says; every closed set of values is a pattern).
SCHEMATHESIS_EXCLUDE in the environment replaces the excluded checks (empty: run them all).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from paperfeed.community import rules
from paperfeed.config import load_config
from paperfeed.store import open_store
from paperfeed.web.app import create_app

EXCLUDED_CHECKS = os.environ.get("SCHEMATHESIS_EXCLUDE", "positive_data_acceptance")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=150, help="time budget of the fuzzing, in seconds")
    parser.add_argument("--max-examples", type=int, default=100, help="examples per operation and phase")
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database to run on, or 'start' for a throw-away one (the pgserver package); "
        "default: a SQLite file in a temporary directory (PAPERFEED_DATABASE_URL is ignored either way)",
    )
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="paperfeed-schemathesis-") as tmp, contextlib.ExitStack() as stack:
        data = Path(tmp)
        env = {**os.environ, "PAPERFEED_DATA_DIR": str(data), "PAPERFEED_CACHE_DIR": str(data / "cache")}
        env.pop("PAPERFEED_DATABASE_URL", None)
        if args.database_url:
            url = stack.enter_context(_postgres(data)) if args.database_url == "start" else args.database_url
            env["PAPERFEED_DATABASE_URL"] = url
        subprocess.run(["paperfeed", "demo", "--no-serve", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
        config = load_config(env={k: v for k, v in env.items() if k.startswith("PAPERFEED_")})
        with open_store(config.store_url) as store:
            member = rules.sign_up(store, "fuzzer", "a long enough password")
            token = rules.create_api_token(store, member, "schemathesis")
            app = create_app(config, store=store, fetch_paper=lambda _: None)
            with _served(app) as url:
                command = [
                    "schemathesis",
                    "run",
                    f"{url}/openapi.json",
                    "--checks",
                    "all",
                    *(["--exclude-checks", EXCLUDED_CHECKS] if EXCLUDED_CHECKS else []),
                    "--max-time",
                    str(args.max_time),
                    "--max-examples",
                    str(args.max_examples),
                    "--workers",
                    "1",
                    "--seed",
                    "1",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--no-color",
                    *extra,
                ]
                started = time.monotonic()
                code = subprocess.run(command, check=False).returncode
                print(
                    f"schemathesis: exit {code} after {time.monotonic() - started:.0f} s on {store.dialect}",
                    file=sys.stderr,
                )
                return code


@contextlib.contextmanager
def _postgres(directory: Path) -> Iterator[str]:
    """A throw-away PostgreSQL server (with pgvector) in ``directory``, and the URL of an empty database on it."""
    import pgserver
    import psycopg

    server = pgserver.get_server(directory / "pg", cleanup_mode="stop")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE paperfeed_fuzz")
        yield str(server.get_uri(database="paperfeed_fuzz"))
    finally:
        server.cleanup()


class _served:
    """uvicorn in a thread on a free loopback port, as ``paperfeed serve`` runs it (no proxy headers)."""

    def __init__(self, app: object) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
