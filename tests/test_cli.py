"""The command line end to end: init, ingest (files and remote sources), export/re-import, stats, config, exit codes.

Commands run as real subprocesses (so exit codes and stdout/stderr are what a user sees) against the test store.
Remote sources are served from recorded arXiv responses by a loopback HTTP server.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.demo import demo_files
from paperfeed.store import open_store
from support import FIXTURES

SEEDS = [path for path, fmt in demo_files() if fmt == "seeds"]
LISTINGS_SLICE = FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz"


def run(
    store_url: str, *args: str, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", "--database-url", store_url, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def ingest_json(store_url: str, *args: str) -> dict[str, int]:
    out = run(store_url, "ingest", "--json", "-q", *args).stdout
    data: dict[str, int] = json.loads(out)
    return data


def test_seeds_give_368_papers_and_twice_changes_nothing(store_url: str) -> None:
    first = ingest_json(store_url, *map(str, SEEDS))
    assert (first["new"], first["rejected"]) == (368, 0)
    again = ingest_json(store_url, *map(str, SEEDS))
    assert (again["new"], again["updated"], again["rejected"]) == (0, 0, 0)
    with open_store(store_url) as store:
        assert store.count_papers() == 368


def test_export_reimports_into_an_empty_store_losslessly(store_url: str, tmp_path: Path) -> None:
    ingest_json(store_url, str(LISTINGS_SLICE), str(SEEDS[0]))
    ingest_json(
        store_url, "--format", "hf-daily", str(FIXTURES / "files" / "daily_papers_2024-10-25_excerpt_first2.json")
    )
    exported = tmp_path / "export.jsonl"
    run(store_url, "export", "-o", str(exported))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    run(other, "init")
    assert ingest_json(other, str(exported))["rejected"] == 0
    assert run(other, "export").stdout == exported.read_text()
    assert ingest_json(other, str(exported))["unchanged"] == len(exported.read_text().splitlines())


def test_bad_lines_are_reported_with_file_and_line_and_skipped(store_url: str, tmp_path: Path) -> None:
    good = gzip.decompress(LISTINGS_SLICE.read_bytes()).decode().splitlines()
    bad = tmp_path / "bad.jsonl"
    no_title = json.loads(good[2])
    no_title["title"] = ""
    bad.write_text("\n".join([good[0], good[1], "{not json", json.dumps(no_title), good[3]]) + "\n")
    proc = run(store_url, "ingest", "-q", str(bad))
    assert "bad.jsonl:3" in proc.stderr and "bad.jsonl:4" in proc.stderr
    assert "3 new" in proc.stderr and "2 rejected" in proc.stderr


def test_strict_stops_before_writing_the_bad_batch(store_url: str, tmp_path: Path) -> None:
    good = gzip.decompress(LISTINGS_SLICE.read_bytes()).decode().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*good[:5], "{not json", *good[5:10]]) + "\n")
    proc = run(store_url, "ingest", "-q", "--strict", "--batch-size", "3", str(bad), ok=False)
    assert proc.returncode == 4
    assert "bad.jsonl:6" in proc.stderr
    with open_store(store_url) as store:
        assert store.count_papers() == 3  # the first batch of 3 committed; the batch with line 6 did not


def test_unknown_format_and_missing_file(store_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 nothing a paper would be")
    proc = run(store_url, "ingest", str(junk), ok=False)
    assert proc.returncode == 4 and "junk.bin" in proc.stderr
    proc = run(store_url, "ingest", str(tmp_path / "nope.jsonl"), ok=False)
    assert proc.returncode == 2 and "nope.jsonl" in proc.stderr


def test_uninitialised_store_says_what_to_do(tmp_path: Path) -> None:
    proc = run(f"sqlite:///{tmp_path / 'fresh.db'}", "stats", ok=False)
    assert proc.returncode == 6 and "paperfeed init" in proc.stderr


def test_stats_and_config(store_url: str) -> None:
    ingest_json(store_url, str(LISTINGS_SLICE))
    stats = json.loads(run(store_url, "stats", "--json").stdout)
    assert stats["papers"] == 50 and stats["by_source"] == {"listings": 50}
    assert sum(stats["by_primary_category"].values()) == 50
    rows = json.loads(run(store_url, "config", "--json", env={"PAPERFEED_SMTP_PASSWORD": "s3cret"}).stdout)
    assert {r["name"]: r["value"] for r in rows}["smtp_password"] == "********"
    proc = run(store_url, "config", env={"PAPERFEED_SMTP_PORT": "abc"}, ok=False)
    assert proc.returncode == 2 and "PAPERFEED_SMTP_PORT" in proc.stderr


def test_help_everywhere() -> None:
    for command in ([], ["ingest"], ["init"], ["export"], ["stats"], ["config"], ["demo"]):
        proc = subprocess.run([sys.executable, "-m", "paperfeed", *command, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "Usage:" in proc.stdout


def test_demo_loads_the_bundled_corpus(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    cmd = [sys.executable, "-m", "paperfeed", "--data-dir", str(tmp_path), "demo", "--no-serve", "--json"]
    first = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout)
    assert first["papers"] == first["new"] > 3000 and first["rejected"] == 0
    assert first["latest_day"] == "2026-07-01"
    with open_store(first["store"]) as store:  # the shipped summaries, without running the model
        assert store.count_summaries() > 0.95 * first["papers"]
    again = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout)
    assert again["new"] == 0 and again["papers"] == first["papers"]


# -- remote sources, served from recorded responses ----------------------------------------------------------------


@pytest.fixture
def recorded_arxiv() -> Iterator[str]:
    """A loopback server answering like arXiv with recorded responses: OAI-PMH at /oai, the API at /api/query."""
    oai_page = (FIXTURES / "oai" / "mikesaelim_arXivOAIHarvester" / "ListRecordsResponse.xml").read_bytes()
    api_page = (
        FIXTURES / "arxiv_api" / "arxiv.py_2026" / "bodies" / "id_1605.08386_s0_m100_199195aa31ad.xml"
    ).read_bytes()
    # The real first page ends with a resumption token; the follow-up page is the real empty-token end of a list.
    last_page = oai_page.replace(b">726959|1001</resumptionToken>", b"></resumptionToken>").replace(
        b'cursor="0"', b'cursor="1001"'
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/oai"):
                body = last_page if "resumptionToken" in self.path else oai_page
            elif self.path.startswith("/api/query"):
                body = api_page
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_remote_oai_harvest_and_id_lookup(store_url: str, recorded_arxiv: str) -> None:
    env = {
        "PAPERFEED_ARXIV_OAI_URL": f"{recorded_arxiv}/oai",
        "PAPERFEED_ARXIV_API_URL": f"{recorded_arxiv}/api/query",
        "PAPERFEED_REQUEST_INTERVAL": "0",
    }
    out = run(
        store_url, "ingest", "--json", "-q", "arxiv-oai", "--set", "physics:cond-mat", "--from", "2014-10-01", env=env
    )
    harvested = json.loads(out.stdout)
    assert harvested["new"] >= 5 and harvested["rejected"] == 0
    with open_store(store_url) as store:
        assert store.get_state(f"oai:{recorded_arxiv}/oai:arXivRaw:physics:cond-mat:2014-10-01:None") is None
    looked_up = json.loads(run(store_url, "ingest", "--json", "-q", "arxiv-id", "1605.08386", env=env).stdout)
    assert looked_up["new"] == 1
    with open_store(store_url) as store:
        paper = store.get_paper("1605.08386")
        assert paper.title and paper.authors and paper.abs_url == "https://arxiv.org/abs/1605.08386"
        assert "arxiv-api" in paper.sightings


# -- the real data set ---------------------------------------------------------------------------------------------

LISTINGS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-listings" / "arxiv_daily_listings.dedup.jsonl.gz"
)


@pytest.mark.slow
@pytest.mark.skipif(not LISTINGS.exists(), reason="the shared arXiv listings are not on this machine")
def test_full_listings_give_74728_papers_and_a_killed_ingest_resumes(store_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    cmd = [sys.executable, "-m", "paperfeed", "--database-url", store_url, "ingest", "-q", str(LISTINGS)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=4)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with open_store(store_url) as store:
        partial = store.count_papers()
        assert partial < 74_728 or proc.returncode == 0
    finished = ingest_json(store_url, str(LISTINGS))
    assert finished["new"] == 74_728 - partial and finished["rejected"] == 0
    again = ingest_json(store_url, str(LISTINGS))
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 74_728)


def test_index_search_and_similar_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    env = {"PAPERFEED_DATA_DIR": str(tmp_path / "data"), "PAPERFEED_CACHE_DIR": str(tmp_path / "cache")}
    ingest_json(store_url, str(LISTINGS_SLICE))
    indexed = json.loads(run(store_url, "index", "--json", env=env).stdout)
    assert indexed["keyword_updated"] == 50 and indexed["vectors_updated"] == 50 and indexed["embedded"] == 50
    again = json.loads(run(store_url, "index", "--json", env=env).stdout)
    assert again["vectors_updated"] == 0 and again["embedded"] == 0
    record = json.loads(gzip.decompress(LISTINGS_SLICE.read_bytes()).decode().splitlines()[5])
    found = json.loads(run(store_url, "search", record["title"], "--json", env=env).stdout)
    assert found["hits"][0]["id"] == record["id"] and "<mark>" in found["hits"][0]["title_html"]
    similar = json.loads(run(store_url, "similar", record["id"], "-n", "3", "--json", env=env).stdout)
    assert len(similar) == 3 and record["id"] not in [h["id"] for h in similar]
    newest = json.loads(run(store_url, "similar", record["id"], "--sort", "recency", "--json", env=env).stdout)
    assert record["id"] not in [h["id"] for h in newest]
    days = [h["announced"] or "" for h in newest]
    assert days == sorted(days, reverse=True)
    refused = run(store_url, "similar", "--text", "graphs", "--sort", "popularity", env=env, ok=False)
    assert refused.returncode == 2 and "--sort" in refused.stderr
    like = json.loads(run(store_url, "similar", "--text", record["summary"], "-n", "1", "--json", env=env).stdout)
    assert like[0]["id"] == record["id"]
    proc = run(store_url, "similar", env=env, ok=False)
    assert proc.returncode == 2 and "PAPER_ID or --text" in proc.stderr


def test_search_refuses_offsets_past_the_maximum_depth(store_url: str, tmp_path: Path) -> None:
    env = {"PAPERFEED_DATA_DIR": str(tmp_path / "data"), "PAPERFEED_CACHE_DIR": str(tmp_path / "cache")}
    proc = run(store_url, "search", "learning", "--offset", "100000000", "-n", "100", env=env, ok=False)
    assert proc.returncode == 4 and "at most the first 1000 results" in proc.stderr
    assert run(store_url, "search", "learning", "-n", "0", env=env, ok=False).returncode == 2


def test_records_with_nul_or_over_a_limit_are_rejected_by_file_and_line(store_url: str, tmp_path: Path) -> None:
    # On PostgreSQL a NUL byte used to end the whole ingest with an uncaught DataError.
    good = gzip.decompress(LISTINGS_SLICE.read_bytes()).decode().splitlines()
    nul, huge, enormous = (json.loads(good[i]) for i in (1, 2, 3))
    nul["summary"] = "An abstract with a \u0000 byte."
    huge["summary"] = "word " * 5_000  # 25,000 characters: over the 20,000 of an abstract
    enormous["summary"] = "x" * (33 * 2**20)  # a line over 32 MB is refused without being parsed
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([good[0], json.dumps(nul), json.dumps(huge), json.dumps(enormous), good[4]]) + "\n")
    said = " ".join(run(store_url, "ingest", "-q", "--format", "listings", str(bad)).stderr.split())  # unwrapped
    assert f"bad.jsonl:2: record {nul['id']}: abstract holds a NUL character" in said
    assert f"bad.jsonl:3: record {huge['id']}: abstract longer than 20,000 characters" in said
    assert "bad.jsonl:4: line longer than 32 MB" in said
    assert "2 new" in said and "3 rejected" in said
