"""Search ideas past the swept fusion knobs, each scored on every collection in one run, with its cost per query.

    nice -n 5 python bench/search_ideas.py ../shared/data/ir/scifact-dev:train ../shared/data/ir/cacm \
        ../shared/data/ir/cisi ../shared/data/ir/med [--json]

Each collection (``DIR[:split]``, default split test) is loaded once into a temporary store through the normal ingest
and index path, exactly as ``paperfeed bench quality`` loads it; then every query runs through
``search.engine.search`` (hybrid, 100 results, no highlighting) once per idea, the idea set by the ranking numbers in
``search/fusion.py`` that ship with it (``IDEAS`` below). The single modes are scored alongside, so "hybrid above
both" can be read off the same table. The cost is the median wall time of a query in process (query vectors
cached: the first run of a collection embeds them), on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import platformdirs

from paperfeed.search import fusion
from paperfeed.search.evaluation import BEIR_ID_PREFIX, RUN_DEPTH, load_collection, score_run

# name -> the fusion.py numbers it sets (the rest keep their shipped values)
IDEAS: dict[str, dict[str, float]] = {
    "hybrid as shipped before (no feedback)": {"FEEDBACK_DOCS": 0},
    "dense feedback, top 3, weight 0.5": {"FEEDBACK_DOCS": 3, "FEEDBACK_WEIGHT": 0.5},
    "dense feedback, top 5, weight 0.5": {"FEEDBACK_DOCS": 5, "FEEDBACK_WEIGHT": 0.5},
    "dense feedback, top 5, weight 1.0": {"FEEDBACK_DOCS": 5, "FEEDBACK_WEIGHT": 1.0},
    "dense feedback, top 10, weight 0.5": {"FEEDBACK_DOCS": 10, "FEEDBACK_WEIGHT": 0.5},
}
SINGLE_MODES = ("keyword", "dense")


def run_collection(spec: str, model: str, cache_dir: str) -> list[dict[str, Any]]:
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.engine import EVALUATION_MAX_QUERY, search
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    directory, _, split = spec.partition(":")
    collection = load_collection(Path(directory), split or "test")
    rows = []
    with tempfile.TemporaryDirectory(prefix="paperfeed-ideas-") as tmp:
        settings = SearchSettings(Path(tmp) / "index", model, cache_dir)
        with (
            open_store(f"sqlite:///{Path(tmp) / 'ideas.db'}", migrate=True) as store,
            open_indexes(store, settings) as indexes,
        ):
            ingest(store, read_file(collection.corpus, "beir"))
            indexes.sync()
            runs: list[tuple[str, str, dict[str, float]]] = [(m, m, {"FEEDBACK_DOCS": 0}) for m in SINGLE_MODES]
            runs += [(name, "hybrid", numbers) for name, numbers in IDEAS.items()]
            shipped = {key: getattr(fusion, key) for key in ("FEEDBACK_DOCS", "FEEDBACK_WEIGHT")}
            for name, mode, numbers in runs:
                for key, value in {**shipped, **numbers}.items():
                    setattr(fusion, key, type(shipped[key])(value))
                run: dict[str, list[str]] = {}
                took = []
                for qid, text in collection.queries.items():
                    started = time.perf_counter()
                    results = search(store, text, RUN_DEPTH, mode=mode, highlight=False, max_query=EVALUATION_MAX_QUERY)  # type: ignore[arg-type]
                    took.append((time.perf_counter() - started) * 1000)
                    run[qid] = [h.paper.id.removeprefix(BEIR_ID_PREFIX) for h in results.hits]
                metrics = score_run(run, collection.qrels)
                rows.append({"collection": collection.name, "idea": name, "ms": statistics.median(took), **metrics})
            for key, value in shipped.items():
                setattr(fusion, key, value)
    return rows


def table(rows: list[dict[str, Any]], metric: str) -> str:
    collections = list(dict.fromkeys(r["collection"] for r in rows))
    cell = {(r["idea"], r["collection"]): r for r in rows}
    head = "| idea | " + " | ".join(f"{c} {metric}" for c in collections) + " | mean | ms per query (median) |"
    lines = [head, "|---|" + "---:|" * (len(collections) + 2)]
    for idea in dict.fromkeys(r["idea"] for r in rows):
        values = [cell[idea, c][metric] for c in collections]
        ms = " / ".join(f"{cell[idea, c]['ms']:.1f}" for c in collections)
        lines.append(
            f"| {idea} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {statistics.mean(values):.3f} | {ms} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collections", nargs="+", help="BEIR directories, DIR or DIR:split")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache-dir", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--model", default="minilm-l6-int8")
    args = parser.parse_args(argv)
    rows = []
    for spec in args.collections:
        rows += run_collection(spec, args.model, args.cache_dir)
        print(f"{spec}: done", file=sys.stderr)
    print(table(rows, "ndcg@10"))
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
