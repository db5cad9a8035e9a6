"""Search ideas past the swept fusion knobs, each scored on every collection in one run, with its cost per query.

    nice -n 5 python bench/search_ideas.py ../shared/data/ir/scifact-dev:train ../shared/data/ir/cacm \
        ../shared/data/ir/cisi ../shared/data/ir/med [--only NAME ...] [--json]

Each collection (``DIR[:split]``, default split test) is loaded once into a temporary store through the normal ingest
and index path, exactly as ``paperfeed bench quality`` loads it; then every query runs once per idea. An idea is
either the product's search (``search.engine.search``, hybrid, 100 results, no highlighting) with some of its
ranking numbers set (``module.NAME`` in ``search/fusion.py``, ``search/rerank.py``, ``search/keyword.py``; the
rest keep their shipped values), or a variant only this script implements (``VARIANTS``: the product's first stage
plus a step of its own, for ideas that did not earn a place in the product). The single modes are scored alongside,
so "hybrid above both" can be read off the same table. The cost is the median wall time of a query in process
(query vectors cached: the first run of a collection embeds them), on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import platformdirs

from paperfeed.search import fusion, keyword, rerank
from paperfeed.search.evaluation import BEIR_ID_PREFIX, RUN_DEPTH, load_collection, score_run

MODULES = {"fusion": fusion, "rerank": rerank, "keyword": keyword}
OFF = {"fusion.FEEDBACK_DOCS": 0, "rerank.DEPTH": 0}  # the standard recipe: no feedback, no second stage
# name -> the numbers it sets on top of OFF, and the variant it runs (None: the product's search)
IDEAS: dict[str, tuple[dict[str, float], str | None]] = {
    "standard hybrid (no feedback, no second stage)": ({}, None),
    "dense feedback, top 3, weight 0.5": ({"fusion.FEEDBACK_DOCS": 3, "fusion.FEEDBACK_WEIGHT": 0.5}, None),
    "dense feedback, top 5, weight 0.5": ({"fusion.FEEDBACK_DOCS": 5, "fusion.FEEDBACK_WEIGHT": 0.5}, None),
    "dense feedback, top 5, weight 1.0": ({"fusion.FEEDBACK_DOCS": 5, "fusion.FEEDBACK_WEIGHT": 1.0}, None),
    "dense feedback, top 10, weight 0.5": ({"fusion.FEEDBACK_DOCS": 10, "fusion.FEEDBACK_WEIGHT": 0.5}, None),
    "title boost 0.5 (shipped 0.1)": ({"keyword.TITLE_BOOST": 0.5}, None),
    "title boost 1.0": ({"keyword.TITLE_BOOST": 1.0}, None),
    "keyword feedback (RM3-like), top 5": ({}, "keyword_feedback"),
    "second stage, top 30": ({"rerank.DEPTH": 30}, None),
    "second stage, top 50": ({"rerank.DEPTH": 50}, None),
    "second stage, top 100": ({"rerank.DEPTH": 100}, None),
    "second stage, top 50, dense feedback top 5": ({"rerank.DEPTH": 50, "fusion.FEEDBACK_DOCS": 5}, None),
}
SINGLE_MODES = ("keyword", "dense")


def keyword_feedback(store: Any, text: str, docs: int = 5, weight: float = 0.3) -> list[str]:
    """RM3 on the keyword side, the way this index can do it: the best fused hits' most distinctive words
    (``like_text`` over their titles and abstracts) as a second BM25 list, mixed into the keyword side with
    ``weight``; then fused with the dense side as shipped."""
    from paperfeed.search.engine import DEPTH, first_stage
    from paperfeed.search.fusion import fuse
    from paperfeed.search.indexes import indexes_for
    from paperfeed.search.query import parse_query

    first = first_stage(store, parse_query(text), DEPTH)
    top = store.get_papers([pid for pid, _ in first.fused[:docs]])
    titles = " ".join(p.title for p in top.values())
    abstracts = " ".join(p.abstract for p in top.values())
    expansion = [(h.paper_id, h.score) for h in indexes_for(store).keyword.like_text(titles, abstracts, DEPTH)]
    mixed = fuse(first.keyword, expansion, weight) if first.keyword else expansion
    return [pid for pid, _ in fuse(mixed, first.dense)[:RUN_DEPTH]]


VARIANTS: dict[str, Callable[..., list[str]]] = {"keyword_feedback": keyword_feedback}


def _set(numbers: dict[str, float]) -> None:
    for key, value in numbers.items():
        module, name = key.split(".")
        current = getattr(MODULES[module], name)
        setattr(MODULES[module], name, type(current)(value))


def run_collection(spec: str, model: str, cache_dir: str, only: Sequence[str]) -> list[dict[str, Any]]:
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.engine import EVALUATION_MAX_QUERY, search
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    directory, _, split = spec.partition(":")
    collection = load_collection(Path(directory), split or "test")
    rows = []
    ideas = {name: idea for name, idea in IDEAS.items() if not only or any(o in name for o in only)}
    with tempfile.TemporaryDirectory(prefix="paperfeed-ideas-") as tmp:
        settings = SearchSettings(Path(tmp) / "index", model, cache_dir)
        with (
            open_store(f"sqlite:///{Path(tmp) / 'ideas.db'}", migrate=True) as store,
            open_indexes(store, settings) as indexes,
        ):
            ingest(store, read_file(collection.corpus, "beir"))
            indexes.sync(summaries=False)
            runs: list[tuple[str, str, dict[str, float], str | None]] = [(m, m, {}, None) for m in SINGLE_MODES]
            runs += [(name, "hybrid", numbers, variant) for name, (numbers, variant) in ideas.items()]
            shipped = {key: getattr(MODULES[key.split(".")[0]], key.split(".")[1]) for key in _keys(ideas)}
            for name, mode, numbers, variant in runs:
                _set({**shipped, **OFF, **numbers})
                run: dict[str, list[str]] = {}
                took = []
                for qid, text in collection.queries.items():
                    started = time.perf_counter()
                    if variant is None:
                        results = search(
                            store,
                            text,
                            RUN_DEPTH,
                            mode=mode,  # type: ignore[arg-type]
                            highlight=False,
                            max_query=EVALUATION_MAX_QUERY,
                        )
                        ranked = [h.paper.id for h in results.hits]
                    else:
                        ranked = VARIANTS[variant](store, text)
                    took.append((time.perf_counter() - started) * 1000)
                    run[qid] = [pid.removeprefix(BEIR_ID_PREFIX) for pid in ranked]
                metrics = score_run(run, collection.qrels)
                rows.append({"collection": collection.name, "idea": name, "ms": statistics.median(took), **metrics})
            _set(shipped)
    return rows


def _keys(ideas: dict[str, tuple[dict[str, float], str | None]]) -> set[str]:
    return set(OFF) | {key for numbers, _ in ideas.values() for key in numbers}


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
    parser.add_argument("--only", nargs="*", default=[], help="run only the ideas whose name contains one of these")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache-dir", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--model", default="minilm-l6-int8")
    args = parser.parse_args(argv)
    rows = []
    for spec in args.collections:
        rows += run_collection(spec, args.model, args.cache_dir, args.only)
        print(f"{spec}: done", file=sys.stderr)
    print(table(rows, "ndcg@10"))
    print("\n" + table(rows, "recall@100"))
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
