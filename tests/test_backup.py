"""``paperfeed backup`` / ``restore`` on both engines: a store backed up while a writer keeps committing comes back
whole (every batch committed before the backup began, no torn batch), with its embedding cache; refusals and
their exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from paperfeed.papers import Paper
from paperfeed.store import Store, open_store
from support import fresh_store_url

BATCH = 40


def cli(store_url: str, work: Path, *args: str, code: int = 0, tag: str = "a") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env["COLUMNS"] = "400"  # rich wraps messages at the terminal width
    env["PAPERFEED_CACHE_DIR"] = str(work / f"cache-{tag}")
    env["PAPERFEED_DATA_DIR"] = str(work / f"data-{tag}")
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", "--database-url", store_url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == code, proc.stderr
    return proc


def _batch(k: int) -> list[Paper]:
    return [
        Paper(
            id=f"2501.{k:03d}{i:02d}",
            title=f"Batch {k} paper {i}",
            abstract="Words. " * 50,
            authors=["A. Author", f"B{i}"],
            categories=["cs.LG", "stat.ML"],
            listing_days={"2025-01-02": "new"},
            source="arxiv-listings",
        )
        for i in range(BATCH)
    ]


class Writer(threading.Thread):
    """Commits batches of papers, each with its checkpoint, until stopped: the running instance's ingest."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open_store(self.url) as store:
                while not self.stop.is_set():
                    k = self.committed + 1
                    store.upsert_papers(_batch(k), checkpoint=("writer", {"batch": k}))
                    self.committed = k
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_backup_of_a_running_store_under_writes_restores_with_nothing_lost(
    store_url: str, pg_server_url: str | None, tmp_path: Path
) -> None:
    cache = tmp_path / "cache-a" / "embeddings.sqlite"
    cache.parent.mkdir()
    with sqlite3.connect(cache) as conn:
        conn.execute("CREATE TABLE vectors (key TEXT PRIMARY KEY, blob BLOB)")
        conn.execute("INSERT INTO vectors VALUES ('minilm:abc', x'0102')")
    writer = Writer(store_url)
    writer.start()
    try:
        while writer.committed < 5 and writer.error is None:
            time.sleep(0.05)
        before = writer.committed
        out = cli(store_url, tmp_path, "backup", str(tmp_path / "bk"), "--json")
        manifest = json.loads(out.stdout)
        during = writer.committed
        while writer.committed < during + 3 and writer.error is None:  # the store goes on changing after it
            time.sleep(0.05)
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None
    assert manifest["dialect"] == ("sqlite" if pg_server_url is None else "postgres")
    assert "embeddings.sqlite" in manifest["files"]

    with fresh_store_url(pg_server_url, tmp_path / "target-dir") as target_url:
        if pg_server_url is None:  # SQLite: restore to where no store is yet
            target_url = f"sqlite:///{tmp_path / 'restored' / 'paperfeed.db'}"
        index_dir = tmp_path / "data-b" / "index"
        if pg_server_url is None:
            index_dir = tmp_path / "restored" / "paperfeed-index"
        index_dir.mkdir(parents=True)
        (index_dir / "stale").write_text("an index of another store")
        done = json.loads(cli(target_url, tmp_path, "restore", str(tmp_path / "bk"), "--json", tag="b").stdout)
        with open_store(target_url) as restored:
            state = restored.get_state("writer")
            assert state is not None
            k = state["batch"]
            # Every batch committed before the backup began is there, and the backup is one commit's store:
            # exactly the batches up to its checkpoint, each whole.
            assert before <= k <= writer.committed
            assert restored.count_papers() == k * BATCH == done["restored_papers"]
            if pg_server_url is None:
                assert manifest["papers"] == k * BATCH
            else:
                assert manifest["papers"] <= k * BATCH
            papers = restored.get_papers(p.id for j in range(1, k + 1) for p in _batch(j))
            assert len(papers) == k * BATCH
            paper = papers["2501.00101"]
            assert (paper.categories, paper.listing_days) == (["cs.LG", "stat.ML"], {"2025-01-02": "new"})
            assert "arxiv-listings" in paper.sightings
            assert restored.get_papers([_batch(k + 1)[0].id]) == {}
            # and it is a working store: writes go on with fresh change numbers
            restored.upsert_papers(_batch(k + 1))
            assert restored.count_papers() == (k + 1) * BATCH
        assert not index_dir.exists()  # emptied: `paperfeed index` rebuilds it from the store
        assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == sorted(["manifest.json", *manifest["files"]])
        with sqlite3.connect(tmp_path / "cache-b" / "embeddings.sqlite") as conn:
            assert conn.execute("SELECT key, blob FROM vectors").fetchall() == [("minilm:abc", b"\x01\x02")]


def test_refusals_and_their_exit_codes(store: Store, store_url: str, tmp_path: Path) -> None:
    store.upsert_papers(_batch(1))
    cli(store_url, tmp_path, "backup", str(tmp_path / "bk"))
    # a backup never overwrites: 7
    assert "not an empty directory" in cli(store_url, tmp_path, "backup", str(tmp_path / "bk"), code=7).stderr
    # over a store that holds papers only with --force: 7, then 0
    assert "--force" in cli(store_url, tmp_path, "restore", str(tmp_path / "bk"), code=7).stderr
    store.upsert_papers(_batch(2))
    cli(store_url, tmp_path, "restore", str(tmp_path / "bk"), "--force")
    with open_store(store_url) as restored:
        assert restored.count_papers() == BATCH
    # no such backup: 3; not a backup: 4; an interrupted one: 4
    cli(store_url, tmp_path, "restore", str(tmp_path / "nothing"), code=3)
    (tmp_path / "empty").mkdir()
    assert "not a paperfeed backup" in cli(store_url, tmp_path, "restore", str(tmp_path / "empty"), code=4).stderr
    (tmp_path / "bk" / ".partial").touch()
    assert "unfinished" in cli(store_url, tmp_path, "restore", str(tmp_path / "bk"), code=4).stderr
    (tmp_path / "bk" / ".partial").unlink()
    # the other engine's store: 4
    other = f"sqlite:///{tmp_path / 'other.db'}" if store_url.startswith("postgres") else "postgresql://x@/nowhere"
    assert "restore it into" in cli(other, tmp_path, "restore", str(tmp_path / "bk"), code=4).stderr


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_help(command: str, store_url: str, tmp_path: Path) -> None:
    out = cli(store_url, tmp_path, command, "--help").stdout
    assert "Exit codes" in out and "index" in out
