"""The search relevance floor: the cosine below which a semantic neighbour is no match, calibrated on IR collections.

    nice -n 5 python bench/search_floor.py ../shared/data/ir/cacm ../shared/data/ir/cisi ../shared/data/ir/med \
        ../shared/data/ir/scifact-dev:train [--json]

Each collection is loaded into a temporary SQLite store through the normal ingest and index path (as ``paperfeed
bench quality`` does; vectors come from the user's embedding cache when it has them). Then:

1. **Relevant pairs**: for every judged query, the cosine of each relevant document semantic search ranks in its
   top 100. The floor is the highest value, in steps of 0.05, that keeps at least ``KEEP`` of these pooled over
   all collections (so the floor costs dense retrieval at most 1% of what it found).
2. **Queries about nothing in the store**: made-up words (``qwxzv blorft``-like, seeded) and the queries of
   collections on other subjects (medicine against computing, and so on); for each floor, how many of them get no
   semantic neighbour at all, and how many hybrid results remain (keyword matches on shared words stay: they match).
3. **Quality with and without the floor**: nDCG@10 / recall@100 / MRR@10 of hybrid and dense search, through the
   product's search function, at floor 0 and at the chosen floor.
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

KEEP = 0.99
STEPS = [round(0.05 * i, 2) for i in range(0, 13)]
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
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
    relevant_cos: list[float] = []
    per: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="paperfeed-floor-") as tmp:
        stores = {}
        for name, coll in collections.items():
            store = open_store(f"sqlite:///{Path(tmp) / name}.db", migrate=True)
            indexes = open_indexes(store, SearchSettings(Path(tmp) / f"{name}-index", "minilm-l6-int8", cache))
            ingest(store, read_file(coll.corpus, "beir"))
            indexes.sync(embed=True)
            stores[name] = (store, indexes)
            found = 0
            for qid, text in coll.queries.items():
                vector = embed_cached(indexes.embedder, indexes.cache, [text])[0]
                scored = indexes.dense.nearest(vector, 100)
                ids = store.ids_for_pks([pk for pk, _ in scored])
                for pk, cos in scored:
                    if ids.get(pk, "").removeprefix(BEIR_ID_PREFIX) in coll.qrels.get(qid, {}):
                        relevant_cos.append(cos)
                        found += 1
            per[name] = {"queries": len(coll.queries), "relevant_in_dense_top100": found}
        relevant_cos.sort()
        keep_at = {f: sum(c >= f for c in relevant_cos) / len(relevant_cos) for f in STEPS}
        floor = max(f for f in STEPS if keep_at[f] >= KEEP)
        # Queries about nothing in each store.
        strays: dict[str, list[str]] = {}
        for name in collections:
            strays[name] = nonsense(50) + [
                text for other in OFF_TOPIC.get(name, ()) if other in collections
                for text in list(collections[other].queries.values())[:50]
            ]  # fmt: skip
        empty_at: dict[float, float] = {}
        top1: list[float] = []
        for f in STEPS:
            empty = total = 0
            for name, texts in strays.items():
                store, indexes = stores[name]
                for text in texts:
                    vector = embed_cached(indexes.embedder, indexes.cache, [text])[0]
                    best = indexes.dense.nearest(vector, 1)
                    if f == 0:
                        top1.append(best[0][1] if best else 0.0)
                    empty += not best or best[0][1] < f
                    total += 1
            empty_at[f] = empty / total
        nonsense_left = {}
        for f in (0.0, floor):
            counts = []
            for name in collections:
                store, _ = stores[name]
                counts += [search(store, t, 20, dense_floor=f, highlight=False).total for t in nonsense(50)]
            nonsense_left[f] = {"median": statistics.median(counts), "with_results": sum(c > 0 for c in counts)}
        quality = []
        for name, coll in collections.items():
            store, _ = stores[name]
            for mode in ("hybrid", "dense"):
                for f in (0.0, floor):
                    run = {
                        qid: [h.paper.id.removeprefix(BEIR_ID_PREFIX) for h in
                              search(store, text, 100, mode=mode, dense_floor=f, highlight=False).hits]  # type: ignore[arg-type]
                        for qid, text in coll.queries.items()
                    }  # fmt: skip
                    quality.append({"collection": name, "mode": mode, "floor": f, **score_run(run, coll.qrels)})
        for store, _ in stores.values():
            store.close()
    out = {
        "floor": floor,
        "keep": KEEP,
        "relevant_pairs": len(relevant_cos),
        "relevant_cosine_percentiles": {p: relevant_cos[int(p / 100 * (len(relevant_cos) - 1))] for p in (1, 5, 50)},
        "kept_at": keep_at,
        "stray_queries": sum(len(v) for v in strays.values()),
        "stray_top1_cosine_median": statistics.median(top1),
        "stray_without_neighbours_at": empty_at,
        "nonsense_hybrid_results": nonsense_left,
        "collections": per,
        "quality": quality,
    }
    if args.json:
        json.dump(out, sys.stdout, indent=1, default=str)
        return
    print(f"floor {floor} (keeps {keep_at[floor]:.1%} of {len(relevant_cos)} relevant pairs in dense top 100)")
    print("| floor | relevant kept | off-topic/nonsense queries with no semantic neighbour |")
    print("|---:|---:|---:|")
    for f in STEPS:
        print(f"| {f:.2f} | {keep_at[f]:.1%} | {empty_at[f]:.1%} |")
    print(f"nonsense queries, hybrid results: {nonsense_left}")
    print("| collection | mode | floor | nDCG@10 | recall@100 | MRR@10 |")
    print("|---|---|---:|---:|---:|---:|")
    for r in quality:
        print(f"| {r['collection']} | {r['mode']} | {r['floor']:.2f} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | "
              f"{r['mrr@10']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
