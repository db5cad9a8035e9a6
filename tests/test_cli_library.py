"""``paperfeed library`` as a script uses it: real subprocesses against the test store, exit codes, --json."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from paperfeed.community import rules
from paperfeed.papers import Paper
from paperfeed.store import open_store

SAMPLES = Path(__file__).parent / "fixtures" / "library"


def run(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    return subprocess.run(
        [sys.executable, "-m", "paperfeed", "--database-url", store_url, "library", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def setup(store_url: str) -> None:
    with open_store(store_url) as store:
        store.upsert_papers(
            [
                Paper(
                    id="2005.14165",
                    title="Language Models are Few-Shot Learners",
                    authors=["Tom B. Brown"],
                    submitted="2020-05-28",
                    source="test",
                ),
                Paper(id="2611.00001", title="Title of Reference", authors=["Ada Lovelace"], source="test"),
            ]
        )
        store.create_user("ada", None, "not-a-hash", "admin", rules.now_iso())


def test_import_list_export_and_restore(store_url: str, tmp_path: Path) -> None:
    setup(store_url)
    ids = tmp_path / "ids.txt"
    ids.write_text("https://arxiv.org/abs/2611.00001v1\n2699.99999\n")
    done = run(
        store_url,
        "import",
        str(SAMPLES / "zotero-bbt-arxiv.biblatex"),
        str(ids),
        "--member",
        "ada",
        "--tags",
        "cli",
        "--collection",
        "Imported",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    reports = orjson.loads(done.stdout)
    assert [r["matched"][0]["paper"] for r in reports] == ["2005.14165", "2611.00001"]
    assert reports[1]["unmatched"][0]["where"] == "line 2" and reports[0]["collection"] == "imported"
    listed = orjson.loads(run(store_url, "list", "--member", "ada", "--tag", "cli", "--json").stdout)
    assert {p["paper"] for p in listed["papers"]} == {"2005.14165", "2611.00001"}
    bib = run(store_url, "export", "--member", "ada", "--collection", "imported")
    assert bib.returncode == 0 and bib.stdout.count("@misc{") == 2 and "keywords = {" in bib.stdout
    account = tmp_path / "ada.json"
    assert run(store_url, "export", "--member", "ada", "--format", "account", "-o", str(account)).returncode == 0
    with open_store(store_url) as store:
        store.create_user("ada2", None, "not-a-hash", "member", rules.now_iso())
    restored = run(store_url, "restore", str(account), "--member", "ada2", "--json")
    assert orjson.loads(restored.stdout) == {
        "library": 2, "collections": 1, "ratings": 0, "votes": 0, "personal_weight": None, "missing": [],
        "not_restored": {"comments": 0, "subscriptions": 0},
    }  # fmt: skip
    said = run(store_url, "restore", str(account), "--member", "ada2")
    assert said.returncode == 0 and "Restored 2 saved papers, 1 collection, 0 ratings and 0 upvotes." in said.stderr


def test_exit_codes_name_what_went_wrong(store_url: str, tmp_path: Path) -> None:
    setup(store_url)
    good, bad = tmp_path / "good.txt", tmp_path / "bad.ris"
    good.write_text("2611.00001\n")
    bad.write_text("TY  - JOUR\nTI  - Title of Reference\n")
    refused = run(store_url, "import", str(good), str(bad), "--member", "ada")
    assert refused.returncode == 4 and "line 1" in refused.stderr and "never ends" in refused.stderr
    assert orjson.loads(run(store_url, "list", "--member", "ada", "--json").stdout)["total"] == 0, "nothing written"
    assert run(store_url, "list", "--member", "nobody").returncode == 3
    assert run(store_url, "import", "--member", "ada").returncode == 2
    assert run(store_url, "export", "--member", "ada", "--collection", "none").returncode == 3
