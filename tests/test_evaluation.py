"""Search-quality evaluation on BEIR-layout collections: a standard collection's empty documents (Cranfield has
two) are skipped with a warning and the rest is scored; any other broken record still refuses the collection."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperfeed.errors import BadInput
from paperfeed.search.evaluation import run_quality

DOCS = [
    {"_id": "1", "title": "experimental investigation of the aerodynamics of a wing in a slipstream", "text": "wing"},
    {"_id": "2", "title": "simple shear flow past a flat plate in an incompressible fluid", "text": "shear flow"},
    {"_id": "471", "title": "", "text": ""},  # as in Cranfield
    {"_id": "3", "title": "the boundary layer in simple shear flow past a flat plate", "text": "boundary layer"},
    {"_id": "995", "title": "", "text": "   "},
]
QUERIES = [{"_id": "q1", "text": "shear flow past a flat plate"}, {"_id": "q2", "text": "wing slipstream"}]
QRELS = [("q1", "2", 2), ("q1", "3", 1), ("q2", "1", 2)]


def _collection(root: Path, docs: list[dict[str, str]]) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS)
    )
    return root


def test_empty_documents_are_skipped_with_a_warning_and_the_rest_scored(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    collection = _collection(tmp_path / "cranfield", DOCS)
    with caplog.at_level(logging.WARNING, logger="paperfeed.search"):
        (row,) = run_quality(collection, "test", ["keyword"], "minilm-l6", None, store_url=store_url)
    assert row["queries"] == 2 and row["skipped"] == 2
    assert row["mrr@10"] == 1.0 and row["ndcg@10"] > 0.9
    assert "skipped 2 empty documents" in caplog.text and "corpus.jsonl:3" in caplog.text


def test_a_record_without_an_id_still_refuses_the_collection(tmp_path: Path, store_url: str) -> None:
    collection = _collection(tmp_path / "broken", [*DOCS, {"title": "no id", "text": "x"}])
    with pytest.raises(BadInput, match=r"1 corpus records rejected, e.g. .*corpus\.jsonl:6: record without _id"):
        run_quality(collection, "test", ["keyword"], "minilm-l6", None, store_url=store_url)


def test_bench_quality_command_scores_a_collection_with_empty_documents(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "cranfield", DOCS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env["PAPERFEED_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", "bench", "quality", str(collection), "--mode", "keyword", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["skipped"] == 2
    assert "skipped 2 empty documents" in done.stderr
