"""For you, offline: how high simulated researchers' own later papers and their co-authors' rank, against baselines.

    flock /work/heavy.lock python bench/recommend.py ../shared/data/arxiv-listings/ [--users 150] [--json]

The data is the real arXiv listings archive (title, abstract, authors, categories, listing days). A paper's day is
its first listing day. For each cut-off day, with ``--window`` days after it:

* a **researcher** is an author with between ``--min-papers`` and ``--max-papers`` papers before the cut-off (the
  upper bound leaves out the names that are several people: "Yang Liu" has 289 papers here) and at least one
  relevant paper in the window; ``--users`` of them are drawn at random (seeded by the cut-off);
* their **library** is their papers before the cut-off (the most recent ``--library-max``);
* the **candidates** are every paper first listed in the window; **relevant** are those written by the researcher
  or by anyone who co-authored a library paper with them (binary gain).

Every method ranks all candidates for every researcher; nDCG@10 and recall@50 are averaged over researchers, with
the spread (25th / 75th percentile) and the share of researchers for whom For you scores higher than each baseline
(ties, mostly both zero, counted apart). Methods:

* ``for-you``: the product's model (``paperfeed.recommend.model.score``) over the product's vectors
  (all-MiniLM-L6-v2 int8 through the project's embedding cache), with its author and category pulls;
* ``for-you-text``: the same model without the author pull (vectors and categories only);
* ``sanity-svm``: arxiv-sanity-lite's recipe exactly — tf-idf over title + abstract + author names
  (``TfidfVectorizer(ngram_range=(1, 2), max_features=20000, min_df=5, max_df=0.1, sublinear_tf=True,
  stop_words="english", strip_accents="unicode")`` and its token pattern) fitted on the "database" (the papers of the
  ``--db-days`` days before the cut-off, the libraries and the candidates), one ``LinearSVC(C=0.01,
  class_weight="balanced")`` per researcher trained on that database (library = 1, everything else = 0), candidates
  ranked by its decision function;
* ``sanity-svm-text``: the same without author names (text only, like for-you-text);
* ``centroid``: cosine to the mean of the library's vectors;
* ``newest``: the latest listing first (ties by id).

Only what is ranked or learned from is embedded (candidates and libraries); vectors are cached by (model, text) in
the user cache dir (or ``--cache``), so a second run embeds nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from paperfeed.recommend import model
from paperfeed.search.embed import EmbeddingCache, embed_cached, paper_text
from paperfeed.search.models import get_embedder

CUTOFFS = ("2025-09-15", "2026-01-15", "2026-04-15")
METHODS = ("for-you", "for-you-text", "sanity-svm", "sanity-svm-text", "centroid", "newest")
BASELINES = ("sanity-svm", "sanity-svm-text", "centroid", "newest")


@dataclass
class Rec:
    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    day: str


def load(path: Path) -> list[Rec]:
    file = path / "arxiv_daily_listings.dedup.jsonl.gz" if path.is_dir() else path
    out = []
    with gzip.open(file, "rt") as f:
        for line in f:
            r = json.loads(line)
            out.append(Rec(r["id"], r["title"], r["summary"], r["authors"], r["categories"], min(r["listing_dates"])))
    return out


@dataclass
class User:
    name: str
    library: list[int]  # record indexes
    relevant: set[int]


@dataclass
class Split:
    cutoff: str
    candidates: list[int]
    db: list[int]  # the arxiv-sanity "database": recent papers before the cut-off, libraries, candidates
    users: list[User]


def make_split(recs: list[Rec], cutoff: str, args: argparse.Namespace) -> Split:
    end = (date.fromisoformat(cutoff) + timedelta(days=args.window)).isoformat()
    db_from = (date.fromisoformat(cutoff) - timedelta(days=args.db_days)).isoformat()
    before: dict[str, list[int]] = defaultdict(list)
    candidates = []
    for i, r in enumerate(recs):
        if r.day < cutoff:
            for a in r.authors:
                before[model.author_key(a)].append(i)
        elif r.day < end:
            candidates.append(i)
    by_author: dict[str, list[int]] = defaultdict(list)
    for i in candidates:
        for a in recs[i].authors:
            by_author[model.author_key(a)].append(i)
    eligible = []
    for name, papers in before.items():
        if not args.min_papers <= len(papers) <= args.max_papers:
            continue
        coauthors = {model.author_key(a) for i in papers for a in recs[i].authors}  # includes the researcher
        relevant = {i for a in coauthors for i in by_author.get(a, ())}
        if relevant:
            library = sorted(papers, key=lambda i: recs[i].day)[-args.library_max :]
            eligible.append(User(name, library, relevant))
    eligible.sort(key=lambda u: u.name)
    users = random.Random(cutoff).sample(eligible, min(args.users, len(eligible)))
    in_db = {i for i, r in enumerate(recs) if db_from <= r.day < cutoff}
    in_db.update(i for u in users for i in u.library)
    in_db.update(candidates)
    return Split(cutoff, candidates, sorted(in_db), users)


def ndcg(ranked: np.ndarray, relevant: set[int], k: int = 10) -> float:
    gains = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:k].tolist()) if i in relevant)
    ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    return gains / ideal if ideal else 0.0


def recall(ranked: np.ndarray, relevant: set[int], k: int = 50) -> float:
    return len(set(ranked[:k].tolist()) & relevant) / len(relevant) if relevant else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    recs = load(Path(args.data))
    splits = [make_split(recs, c, args) for c in args.cutoffs]
    need = sorted({i for s in splits for i in s.candidates} | {i for s in splits for u in s.users for i in u.library})
    print(f"{len(recs)} papers; embedding {len(need)} (candidates + libraries)", file=sys.stderr)
    embedder = get_embedder(args.model)
    cache = EmbeddingCache(Path(args.cache) / "embeddings.sqlite")
    vecs = np.zeros((len(recs), embedder.dim), dtype=np.float32)
    for start in range(0, len(need), 512):
        chunk = need[start : start + 512]
        vecs[chunk] = embed_cached(embedder, cache, [paper_text(recs[i].title, recs[i].abstract) for i in chunk])
        print(f"  embedded {start + len(chunk)}/{len(need)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    embed_s = time.perf_counter() - started
    if args.embed_only:
        return {"papers": len(recs), "embedded": len(need), "embed_seconds": round(embed_s, 1)}

    per: dict[str, dict[str, list[float]]] = {m: {"ndcg": [], "recall": []} for m in args.methods}
    split_rows = []
    timing: dict[str, list[float]] = {m: [] for m in args.methods}
    for split in splits:
        cand = np.array(split.candidates)
        cands = model.Candidates(
            [recs[i].id for i in cand],
            vecs[cand],
            np.ones(len(cand), dtype=bool),
            [recs[i].categories for i in cand],
            [recs[i].authors for i in cand],
        )
        newest = cand[np.lexsort(([recs[i].id for i in cand], [recs[i].day for i in cand]))[::-1]]
        svm_inputs = {}
        for variant, with_authors in (("sanity-svm", True), ("sanity-svm-text", False)):
            if variant not in args.methods:
                continue
            texts = [
                " ".join([recs[i].title, recs[i].abstract, *(recs[i].authors if with_authors else [])])
                for i in split.db
            ]
            vectorizer = TfidfVectorizer(
                input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode", lowercase=True,
                analyzer="word", stop_words="english", token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
                ngram_range=(1, 2), max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
                max_df=0.1, min_df=5,
            )  # fmt: skip
            x = sparse.csr_matrix(vectorizer.fit_transform(texts))
            svm_inputs[variant] = x
        row_of = {i: r for r, i in enumerate(split.db)}
        cand_rows = np.array([row_of[i] for i in cand])
        split_scores: dict[str, list[float]] = {m: [] for m in args.methods}
        for user in split.users:
            lib = user.library
            rankings: dict[str, np.ndarray] = {}
            for variant, with_authors in (("for-you", True), ("for-you-text", False)):
                if variant not in args.methods:
                    continue
                t0 = time.perf_counter()
                profile = model.Profile.build(
                    [(recs[i].id, vecs[i], recs[i].categories, recs[i].authors if with_authors else []) for i in lib],
                    dim=embedder.dim,
                )
                rankings[variant] = cand[model.score(profile, cands).order()]
                timing[variant].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            centroid = vecs[lib].mean(axis=0)
            rankings["centroid"] = cand[np.argsort(-(vecs[cand] @ centroid), kind="stable")]
            timing["centroid"].append(time.perf_counter() - t0)
            rankings["newest"] = newest
            lib_rows = [row_of[i] for i in lib]
            for variant, x in svm_inputs.items():
                t0 = time.perf_counter()
                y = np.zeros(x.shape[0])
                y[lib_rows] = 1
                clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
                clf.fit(x, y)
                s = clf.decision_function(x[cand_rows])
                rankings[variant] = cand[np.argsort(-s, kind="stable")]
                timing[variant].append(time.perf_counter() - t0)
            for m in args.methods:
                n10, r50 = ndcg(rankings[m], user.relevant), recall(rankings[m], user.relevant)
                per[m]["ndcg"].append(n10)
                per[m]["recall"].append(r50)
                split_scores[m].append(n10)
        split_rows.append(
            {
                "cutoff": split.cutoff,
                "candidates": len(cand),
                "db": len(split.db),
                "users": len(split.users),
                "mean_library": float(np.mean([len(u.library) for u in split.users])),
                "mean_relevant": float(np.mean([len(u.relevant) for u in split.users])),
                "ndcg": {m: float(np.mean(v)) for m, v in split_scores.items()},
            }
        )
        print(f"  cut-off {split.cutoff}: " + json.dumps(split_rows[-1]["ndcg"]), file=sys.stderr)
    summary: dict[str, Any] = {}
    for m in args.methods:
        row: dict[str, Any] = {}
        for metric, values in per[m].items():
            a = np.array(values)
            row[metric] = {"mean": float(a.mean()), "p25": float(np.percentile(a, 25)),
                           "p75": float(np.percentile(a, 75))}  # fmt: skip
        row["ms_per_user"] = 1000 * float(np.median(timing[m])) if timing[m] else 0.0
        summary[m] = row
    ours = np.array(per["for-you"]["ndcg"])
    wins = {}
    for b in [b for b in BASELINES if b in args.methods]:
        theirs = np.array(per[b]["ndcg"])
        wins[b] = {"better": float((ours > theirs).mean()), "tied": float((ours == theirs).mean()),
                   "worse": float((ours < theirs).mean())}  # fmt: skip
    return {
        "papers": len(recs),
        "embedded": len(need),
        "embed_seconds": round(embed_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "users": sum(len(s.users) for s in splits),
        "splits": split_rows,
        "methods": summary,
        "for_you_vs": wins,
        "args": {k: v for k, v in vars(args).items() if k != "cache"},
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| method | nDCG@10 mean | nDCG@10 p25–p75 | recall@50 mean | recall@50 p25–p75 "
        "| For you better / tied / worse |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    methods = list(result["methods"])
    for m in methods:
        row = result["methods"][m]
        n, r = row["ndcg"], row["recall"]
        vs = result["for_you_vs"].get(m)
        versus = f"{vs['better']:.0%} / {vs['tied']:.0%} / {vs['worse']:.0%}" if vs else ""
        lines.append(
            f"| {m} | {n['mean']:.3f} | {n['p25']:.3f}–{n['p75']:.3f} | {r['mean']:.3f} | "
            f"{r['p25']:.3f}–{r['p75']:.3f} | {versus} |"
        )
    lines.append("")
    lines.append("| cut-off | candidates | researchers | mean library | mean relevant | " + " | ".join(methods) + " |")
    lines.append("|---|---:|---:|---:|---:|" + "---:|" * len(methods))
    for s in result["splits"]:
        lines.append(
            f"| {s['cutoff']} | {s['candidates']} | {s['users']} | {s['mean_library']:.1f} | "
            f"{s['mean_relevant']:.1f} | " + " | ".join(f"{s['ndcg'][m]:.3f}" for m in methods) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="the arxiv-listings folder (or its .jsonl.gz)")
    parser.add_argument("--cutoffs", nargs="+", default=list(CUTOFFS))
    parser.add_argument("--window", type=int, default=7, help="days after each cut-off whose papers are ranked")
    parser.add_argument("--users", type=int, default=120, help="researchers per cut-off")
    parser.add_argument("--min-papers", type=int, default=4)
    parser.add_argument("--max-papers", type=int, default=40)
    parser.add_argument("--library-max", type=int, default=200)
    parser.add_argument("--db-days", type=int, default=60, help="days before the cut-off in arxiv-sanity's database")
    parser.add_argument("--model", default="minilm-l6-int8")
    parser.add_argument("--cache", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--count-only", action="store_true", help="say how many papers would be embedded and stop")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="for-you first")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override a constant of paperfeed.recommend.model (e.g. AUTHOR_WEIGHT=0.3)",
    )
    parser.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for setting in args.set:
        name, _, value = setting.partition("=")
        if not hasattr(model, name):
            parser.error(f"paperfeed.recommend.model has no {name}")
        setattr(model, name, type(getattr(model, name))(value))
    if args.count_only:
        recs = load(Path(args.data))
        splits = [make_split(recs, c, args) for c in args.cutoffs]
        for s in splits:
            print(s.cutoff, "candidates", len(s.candidates), "users", len(s.users), "db", len(s.db))
        need = {i for s in splits for i in s.candidates} | {i for s in splits for u in s.users for i in u.library}
        print("to embed", len(need))
        return
    result = run(args)
    print(json.dumps(result, indent=1) if args.json or args.embed_only else markdown(result))


if __name__ == "__main__":
    main()
