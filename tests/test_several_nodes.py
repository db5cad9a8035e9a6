"""Several nodes on one database: two `paperfeed serve` and two `paperfeed worker` processes (Huey on Redis) against
the test's store (PostgreSQL with PAPERFEED_TEST_PG=start, where each web node has its own keyword index; on SQLite
the nodes share the file and its index directory).

Proves what docs/deploy.md promises: a paper ingested through one node is searchable on the other within
FOLLOW_BOUND seconds; the harvest due at start-up runs once although both workers enqueue it; killing a web node,
a worker (with SIGKILL: no clean-up) loses nothing — the other node keeps serving, writes made meanwhile are
searchable on the killed node once it is back, and the surviving worker takes the queue's jobs.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from paperfeed.config import load_config
from paperfeed.jobs.worker import build_worker
from paperfeed.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
OAI_PAGE = FIXTURES / "oai" / "mikesaelim_arXivOAIHarvester" / "ListRecordsResponse.xml"
LISTINGS = FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz"
FOLLOW_SECONDS = 1  # PAPERFEED_INDEX_FOLLOW_SECONDS of the web nodes
FOLLOW_BOUND = 15.0  # seconds: the promise is follow interval + one catch-up step; CI machines are slow and shared

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="needs Debian's redis-server (.ci/run installs it)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Poll ``check`` until true; returns the seconds it took (fails the test after ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if check():
                return time.monotonic() - start
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait("redis-server", lambda: socket.create_connection(("127.0.0.1", port), 1).close() is None, 20)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def arxiv() -> Iterator[tuple[str, list[str]]]:
    """A slow OAI-PMH endpoint (1 s a page, one recorded page), recording every request; the listing feeds 404."""
    page = OAI_PAGE.read_bytes().replace(b">726959|1001</resumptionToken>", b"></resumptionToken>")
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if not self.path.startswith("/oai"):
                self.send_error(404)
                return
            time.sleep(1.0)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


class Cluster:
    """The processes of the deployment, each started with its own data directory (so its own index on PostgreSQL)."""

    def __init__(self, tmp_path: Path, store_url: str, redis_url: str, arxiv: str) -> None:
        outside = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
        self.tmp = tmp_path
        self.common = {
            **outside,
            "PAPERFEED_DATABASE_URL": store_url,
            "PAPERFEED_SECRET_KEY": "one-key-for-every-node",
            "PAPERFEED_CACHE_DIR": str(tmp_path / "embeddings"),
            "PAPERFEED_WORKER_QUEUE": redis_url,
            "PAPERFEED_ARXIV_OAI_URL": f"{arxiv}/oai",
            "PAPERFEED_ARXIV_RSS_URL": f"{arxiv}/rss",
            "PAPERFEED_ARXIV_SETS": "physics:cond-mat",
            "PAPERFEED_REQUEST_INTERVAL": "0",
            "PAPERFEED_HF_SIGNALS": "false",
            "PAPERFEED_INDEX_FOLLOW_SECONDS": str(FOLLOW_SECONDS),
            "PAPERFEED_LOG_LEVEL": "WARNING",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def env(self, name: str) -> dict[str, str]:
        return {**self.common, "PAPERFEED_DATA_DIR": str(self.tmp / name)}

    def start_web(self, name: str) -> None:
        port = self.ports.setdefault(name, _free_port())
        command = [sys.executable, "-m", "paperfeed", "serve", "--port", str(port)]
        self._start(name, command)
        _wait(f"{name} healthy", lambda: httpx.get(self.url(name, "/healthz"), timeout=5).status_code == 200, 120)

    def start_worker(self, name: str) -> None:
        self._start(name, [sys.executable, "-m", "paperfeed", "worker"])

    def _start(self, name: str, command: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(command, env=self.env(name), stdout=log, stderr=log)

    def kill(self, name: str) -> None:
        process = self.procs.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def finds(self, name: str, paper_id: str, words: str) -> bool:
        answer = httpx.get(self.url(name, "/api/search"), params={"q": words, "mode": "keyword"}, timeout=10)
        return answer.status_code == 200 and paper_id in answer.text

    def ingest(self, through: str, path: Path) -> None:
        command = [sys.executable, "-m", "paperfeed", "ingest", str(path)]
        done = subprocess.run(command, env=self.env(through), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for process in self.procs.values():
            process.terminate()
        for process in self.procs.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _probe(tmp_path: Path, paper_id: str, title: str) -> Path:
    record = json.loads(gzip.decompress(LISTINGS.read_bytes()).decode().splitlines()[0])
    record.update(id=paper_id, title=title, abs=f"https://arxiv.org/abs/{paper_id}", pdf=None)
    path = tmp_path / f"{paper_id}.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def test_two_web_nodes_and_two_workers_on_one_store(
    store_url: str, tmp_path: Path, redis_url: str, arxiv: tuple[str, list[str]]
) -> None:
    oai, requests = arxiv
    cluster = Cluster(tmp_path, store_url, redis_url, oai)
    try:
        cluster.start_web("web-a")
        cluster.start_web("web-b")
        cluster.start_worker("worker-1")
        cluster.start_worker("worker-2")

        # Both workers enqueue every job at start; the harvest runs once (its lease), then is not due.
        with open_store(store_url) as store:
            _wait("the harvest", lambda: store.count_papers() > 0, 120)
            harvested = store.count_papers()
            time.sleep(4)  # time for a second harvest, were one to run
            assert store.count_papers() == harvested
        assert len([r for r in requests if r.startswith("/oai")]) == 1, requests

        # Harvested by a worker, searchable on both web nodes; ingested through one node, searchable on the other.
        assert _wait("harvest searchable on web-b", lambda: cluster.finds("web-b", "0704.0716", "scaling functions"),
                     FOLLOW_BOUND)  # fmt: skip
        cluster.ingest("web-a", _probe(tmp_path, "2612.00001", "Quixotic multinode probe alpha"))
        seconds = _wait("probe searchable on web-b", lambda: cluster.finds("web-b", "2612.00001", "quixotic alpha"),
                        FOLLOW_BOUND)  # fmt: skip
        print(f"ingested through web-a, searchable on web-b after {seconds:.1f} s")
        assert cluster.finds("web-a", "2612.00001", "quixotic alpha") or _wait(
            "probe on web-a", lambda: cluster.finds("web-a", "2612.00001", "quixotic alpha"), FOLLOW_BOUND
        )

        # A web node killed outright: the other serves on; what was written meanwhile is there when it is back.
        cluster.kill("web-a")
        assert httpx.get(cluster.url("web-b", "/"), timeout=10).status_code == 200
        cluster.ingest("web-b", _probe(tmp_path, "2612.00002", "Quixotic multinode probe beta"))
        _wait("beta on web-b", lambda: cluster.finds("web-b", "2612.00002", "quixotic beta"), FOLLOW_BOUND)
        cluster.start_web("web-a")
        _wait("beta on web-a after its restart", lambda: cluster.finds("web-a", "2612.00002", "quixotic beta"),
              FOLLOW_BOUND)  # fmt: skip
        assert cluster.finds("web-a", "2612.00001", "quixotic alpha")

        # A worker killed outright: the other takes the queue's jobs; the harvest still ran only once.
        cluster.kill("worker-1")
        config = load_config(env=cluster.env("test"))
        huey, tasks = build_worker(config)
        for name in ("harvest", "listings", "digests"):
            tasks[name]()
        _wait("the surviving worker empties the queue", lambda: huey.pending_count() == 0, 60)
        metrics = httpx.get(cluster.url("web-b", "/metrics"), timeout=10).text
        assert "paperfeed_job_queue_depth 0.0" in metrics
        assert len([r for r in requests if r.startswith("/oai")]) == 1, requests
        with open_store(store_url) as store:
            assert store.count_papers() == harvested + 2
            assert store.get_state("lease:harvest") is None  # released by the worker that ran it
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
