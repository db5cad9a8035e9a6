"""The search relevance floors: when a semantic neighbour is no match, calibrated on IR collections.

    nice -n 5 python bench/search_floor.py ../shared/data/ir/cacm ../shared/data/ir/cisi ../shared/data/ir/med \
        ../shared/data/ir/scifact-dev:train [--quality-queries 100] [--json]

Each collection is loaded into a temporary SQLite store through the normal ingest and index path (as ``paperfeed
bench quality`` does; vectors come from the user's embedding cache when it has them). Then:

1. **Relevant pairs**: for every judged query, the cosine of each relevant document semantic search ranks in its
   top 100, and the cosine of that query's nearest neighbour (pooled over all collections). ``DENSE_FLOOR`` (a
   neighbour's cosine) is the highest value on a 0.01 grid that keeps ``KEEP`` of these pairs.
2. **Queries about nothing in the store**: made-up words (``qwxzv blorft``-like, seeded) and, for information, the
   queries of collections on other subjects (computing against medicine, and so on: real questions, which often
   do share a topic with the other corpus); the cosine of each one's nearest neighbour. ``QUERY_FLOOR`` (the
   nearest neighbour's cosine, below which the dense side gives nothing) is the highest value at which both floors
   together still keep ``KEEP`` of the relevant pairs; the table shows how many made-up queries it silences. (The
   value where the two errors are equal is higher, about 0.41 on these collections, and loses short paraphrases
   such as "anticipating jams on highways" for a traffic-forecasting paper, cosine 0.39.)
3. **Quality**: nDCG@10 / recall@100 / MRR@10 of hybrid and dense search through the product's search function,
   with no floor, the neighbour floor only, and both (the first ``--quality-queries`` queries of each collection,
   to keep the run short), and how many hybrid results the made-up queries still get (keyword matches on shared
   words stay: they match).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from paperfeed.search.evaluation import BEIR_ID_PREFIX, load_collection, score_run

KEEP = 0.99  # both floors together keep this share of the relevant documents dense search finds
GRID = [round(0.01 * i, 2) for i in range(0, 61)]
SHOWN = [round(0.05 * i, 2) for i in range(0, 13)]
# Collections whose subjects do not overlap: the queries of one are about nothing in the other's corpus.
OFF_TOPIC = {"cacm": ("med", "scifact-dev"), "med": ("cacm", "cisi"), "cisi": ("med", "scifact-dev"),
             "scifact-dev": ("cacm", "cisi")}  # fmt: skip


def nonsense(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    letters = "bcdfghjklmnpqrstvwxz" + "aeiouy"
    words = ("".join(rng.choice(letters) for _ in range(rng.randint(4, 8))) for _ in range(2 * n))
    return [f"{a} {b}" for a, b in zip(words, words, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("collections", nargs="+", help="BEIR-layout directories, each optionally :split")
    parser.add_argument("--quality-queries", type=int, default=300, help="queries per collection in step 3")
    parser.add_argument("--model", help="embedding model (default: the configured one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from paperfeed.config import load_config
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.embed import embed_cached
    from paperfeed.search.engine import search
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    specs = []
    for raw in args.collections:
        path, _, split = raw.partition(":")
        specs.append((Path(path), split or "test"))
    collections = {d.name: load_collection(d, s) for d, s in specs}
    cache = str(Path(platformdirs.user_cache_dir("paperfeed")))
    model = args.model or load_config().embedding_model
    relevant_cos: list[float] = []  # cosine of each relevant document in a query's dense top 100
    relevant_best: list[float] = []  # and the cosine of that query's nearest neighbour
    per: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="paperfeed-floor-") as tmp:
        stores = {}
        for name, coll in collections.items():
            store = open_store(f"sqlite:///{Path(tmp) / name}.db", migrate=True)
            indexes = open_indexes(store, SearchSettings(Path(tmp) / f"{name}-index", model, cache))
            ingest(store, read_file(coll.corpus, "beir"))
            indexes.sync(embed=True)
            stores[name] = (store, indexes)
            found = 0
            for qid, text in coll.queries.items():
                vector = embed_cached(indexes.embedder, indexes.cache, [text])[0]
                scored = indexes.dense.nearest(vector, 100)
                ids = store.ids_for_pks([pk for pk, _ in scored])
                best = scored[0][1] if scored else -1.0
                for pk, cos in scored:
                    if ids.get(pk, "").removeprefix(BEIR_ID_PREFIX) in coll.qrels.get(qid, {}):
                        relevant_cos.append(cos)
                        relevant_best.append(best)
                        found += 1
            per[name] = {"queries": len(coll.queries), "relevant_in_dense_top100": found}
        # Queries about nothing in each store: the cosine of their nearest neighbour.
        strays: dict[str, list[str]] = {}
        for name in collections:
            strays[name] = nonsense(50) + [
                text for other in OFF_TOPIC.get(name, ()) if other in collections
                for text in list(collections[other].queries.values())[:50]
            ]  # fmt: skip
        top1: list[float] = []  # made-up queries
        off_topic: list[float] = []  # real questions about another subject
        made_up = set(nonsense(50))
        for name, texts in strays.items():
            store, indexes = stores[name]
            for text in texts:
                vector = embed_cached(indexes.embedder, indexes.cache, [text])[0]
                best = indexes.dense.nearest(vector, 1)
                (top1 if text in made_up else off_topic).append(best[0][1] if best else -1.0)
        pairs = list(zip(relevant_cos, relevant_best, strict=True))
        dropped_at = {f: sum(c < f for c, _ in pairs) / len(pairs) for f in GRID}
        floor = max(f for f in GRID if dropped_at[f] <= 1 - KEEP)
        lost_at = {g: sum(c < floor or b < g for c, b in pairs) / len(pairs) for g in GRID}
        passing_at = {g: sum(c >= g for c in top1) / len(top1) for g in GRID}
        off_at = {g: sum(c >= g for c in off_topic) / len(off_topic) for g in GRID}
        gate = max(g for g in GRID if g >= floor and lost_at[g] <= 1 - KEEP)
        nonsense_left = {}
        settings = {"none": (-1.0, -1.0), "floor only": (floor, -1.0), "floor and gate": (floor, gate)}
        for label, (f, g) in settings.items():
            counts = []
            for name in collections:
                store, _ = stores[name]
                counts += [
                    search(store, t, 20, dense_floor=f, query_floor=g, highlight=False).total for t in nonsense(50)
                ]
            nonsense_left[label] = {"median": statistics.median(counts), "with_results": sum(c > 0 for c in counts)}
        quality = []
        for name, coll in collections.items():
            store, _ = stores[name]
            for mode in ("hybrid", "dense"):
                for label, (f, g) in settings.items():
                    run = {
                        qid: [h.paper.id.removeprefix(BEIR_ID_PREFIX) for h in
                              search(store, text, 100, mode=mode, dense_floor=f, query_floor=g, highlight=False).hits]  # type: ignore[arg-type]
                        for qid, text in list(coll.queries.items())[: args.quality_queries]
                    }  # fmt: skip
                    judged = {qid: coll.qrels[qid] for qid in run}
                    quality.append({"collection": name, "mode": mode, "floors": label, **score_run(run, judged)})
        for store, _ in stores.values():
            store.close()
    out = {
        "dense_floor": floor,
        "query_floor": gate,
        "relevant_dropped_by_dense_floor": dropped_at[floor],
        "relevant_pairs": len(relevant_cos),
        "relevant_cosine_percentiles": {p: relevant_cos[int(p / 100 * (len(relevant_cos) - 1))] for p in (1, 5, 50)},
        "made_up_queries": len(top1),
        "made_up_top1_cosine_median": statistics.median(top1),
        "off_topic_queries": len(off_topic),
        "relevant_lost_at_gate": {g: lost_at[g] for g in [*SHOWN, gate]},
        "made_up_passing_at_gate": {g: passing_at[g] for g in [*SHOWN, gate]},
        "off_topic_passing_at_gate": {g: off_at[g] for g in [*SHOWN, gate]},
        "nonsense_hybrid_results": nonsense_left,
        "collections": per,
        "quality": quality,
    }
    if args.json:
        json.dump(out, sys.stdout, indent=1, default=str)
        return
    print(f"DENSE_FLOOR {floor}: drops {dropped_at[floor]:.1%} of {len(pairs)} relevant pairs in dense top 100")
    print(f"QUERY_FLOOR {gate}: with it, {lost_at[gate]:.1%} of relevant pairs are lost and {passing_at[gate]:.1%} "
          f"of {len(top1)} made-up queries keep a neighbour")  # fmt: skip
    print("| query floor | relevant pairs lost | made-up queries with a neighbour | off-topic questions with one |")
    print("|---:|---:|---:|---:|")
    for g in sorted({*SHOWN, gate}):
        if g >= floor:
            print(f"| {g:.2f} | {lost_at[g]:.1%} | {passing_at[g]:.1%} | {off_at[g]:.1%} |")
    print(f"made-up queries, hybrid results (median, queries with any): {nonsense_left}")
    print("| collection | mode | floors | nDCG@10 | recall@100 | MRR@10 |")
    print("|---|---|---|---:|---:|---:|")
    for r in quality:
        print(f"| {r['collection']} | {r['mode']} | {r['floors']} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | "
              f"{r['mrr@10']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
