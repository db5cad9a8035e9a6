"""Similar papers: how well ``similar()`` finds a paper's related papers, against tf-idf baselines.

    nice -n 5 python bench/similar.py ../shared/data/ir/cacm ../shared/data/similarity/cacm_citation_graph \
        --co-relevant ../shared/data/ir/cacm ../shared/data/ir/cisi ../shared/data/ir/med \
        ../shared/data/ir/scifact-dev [--sweep] [--json]

Two kinds of paper-to-paper ground truth. The citation graph shipped inside the CACM collection (``PROVENANCE.md``
beside the TSVs): direct citation links, co-citation and bibliographic coupling, plus "any" (their union); every
document with a relation of a type is a query for that type. And co-relevance (``--co-relevant``), built from a
test collection's expert relevance judgements: two documents judged relevant to the same query are related, so
every document relevant to a query that has another relevant document is a query paper. Binary gain throughout.
Weak ground truth both: citing papers are not always topically close, co-relevant ones share a topic but are not
always alike; about half the CACM documents are title-only, so the graph's numbers are also given for the query
documents that have an abstract.

Rankers, all over the same text (title + abstract) and in the same run: the product path (each collection ingested
once into a temporary SQLite store through the normal ingest + index path, then ``search.engine.similar``); its two
sides alone (nearest by stored vector, which is what ``similar()`` was before; BM25 of the paper's distinctive words,
``KeywordIndex.like_text``); tf-idf cosine with arxiv-sanity-lite's exact ``TfidfVectorizer`` settings (scikit-learn,
``pip install scikit-learn``); and this file's earlier tf-idf (unigrams, no document-frequency cut-offs).
``--sweep`` adds the fusion weights and term counts tried. The embedding cache defaults to the user cache dir so
vectors computed by ``paperfeed bench quality`` are reused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import platformdirs

from paperfeed.search.evaluation import BEIR_ID_PREFIX, mrr_at, ndcg_at, recall_at
from paperfeed.search.fusion import fuse

RELATIONS = {"links": "links.tsv", "co-citation": "co_citation.tsv", "coupling": "bibliographic_coupling.tsv"}
ANY = "any"
METRICS = ("ndcg", "precision", "recall", "mrr")
_TOKEN = re.compile(r"[a-z0-9]+")
# scikit-learn's ENGLISH_STOP_WORDS (BSD-3), inlined so the baseline needs no heavy dependency.
STOP_WORDS = frozenset(
    """a about above across after afterwards again against all almost alone along already also although always am
    among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back be
    became because become becomes becoming been before beforehand behind being below beside besides between beyond
    bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down due during
    each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything everywhere except
    few fifteen fifty fill find fire first five for former formerly forty found four from front full further get give
    go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his how however
    hundred i ie if in inc indeed interest into is it its itself keep last latter latterly least less ltd made many
    may me meanwhile might mill mine more moreover most mostly move much must my myself name namely neither never
    nevertheless next nine no nobody none noone nor not nothing now nowhere of off often on once one only onto or
    other others otherwise our ours ourselves out over own part per perhaps please put rather re same see seem seemed
    seeming seems serious several she should show side since sincere six sixty so some somehow someone something
    sometime sometimes somewhere still such system take ten than that the their them themselves then thence there
    thereafter thereby therefore therein thereupon these they thick thin third this those though three through
    throughout thru thus to together too top toward towards twelve twenty two un under until up upon us very via was
    we well were what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without would yet you your yours
    yourself yourselves""".split()  # noqa: SIM905
)

Graph = dict[str, dict[str, set[str]]]  # relation -> query doc -> related docs
Rankings = dict[str, list[str]]  # query doc -> ranked other docs
# arxiv-sanity-lite's vectorizer, exactly as it builds it (its compute.py).
ASL_TFIDF = {
    "ngram_range": (1, 2),
    "max_features": 20000,
    "min_df": 5,
    "max_df": 0.1,
    "sublinear_tf": True,
    "stop_words": "english",
    "strip_accents": "unicode",
}
# --sweep: the fusions of the two sides tried (dense weight, distinctive words, times a title word counts).
SWEEP = [(w, t, 2.0) for w in (0.5, 0.6, 0.7) for t in (15, 25, 40, 60, 100)] + [(0.6, t, 1.0) for t in (25, 40, 60)]


def read_graph(directory: Path) -> Graph:
    """The three relation files (``doc_id other_doc_id weight``) plus their union; self rows hold totals: skipped."""
    graph: Graph = {}
    for relation, name in RELATIONS.items():
        edges: dict[str, set[str]] = {}
        for line in (directory / name).read_text(encoding="utf-8").splitlines()[1:]:
            doc, other, _weight = line.split("\t")
            if doc != other:
                edges.setdefault(doc, set()).add(other)
        graph[relation] = edges
    union: dict[str, set[str]] = {}
    for edges in list(graph.values()):
        for doc, related in edges.items():
            union.setdefault(doc, set()).update(related)
    graph[ANY] = union
    return graph


def read_corpus(path: Path) -> dict[str, tuple[str, str]]:
    """BEIR ``_id`` -> (title, text), in file order (the baseline breaks score ties by it)."""
    docs = {}
    for raw in path.read_bytes().splitlines():
        if raw.strip():
            record = orjson.loads(raw)
            docs[str(record["_id"])] = (record.get("title") or "", record.get("text") or "")
    return docs


def co_relevance(qrels_dir: Path, docs: Mapping[str, object]) -> dict[str, set[str]]:
    """Document -> the other documents judged relevant to a query it is relevant to (every ``qrels/*.tsv``)."""
    by_query: dict[str, set[str]] = {}
    for path in sorted(qrels_dir.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            query, doc, grade = line.split("\t")[:3]
            if float(grade) > 0 and doc in docs:
                by_query.setdefault(f"{path.stem}:{query}", set()).add(doc)
    related: dict[str, set[str]] = {}
    for group in by_query.values():
        for doc in group:
            if len(group) > 1:
                related.setdefault(doc, set()).update(group - {doc})
    return related


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


def tfidf_rankings(docs: Mapping[str, str], queries: Sequence[str], k: int) -> dict[str, list[str]]:
    """Top ``k`` other documents by tf-idf cosine for each query id; documents sharing no term are not ranked."""
    ids = list(docs)
    counts = [Counter(tokens(docs[d])) for d in ids]
    df = Counter(term for c in counts for term in c)
    vocab = {term: i for i, term in enumerate(sorted(df))}
    idf = {t: math.log((1 + len(ids)) / (1 + n)) + 1.0 for t, n in df.items()}
    rows: list[dict[int, float]] = []
    for c in counts:
        weights = {vocab[t]: (1.0 + math.log(n)) * idf[t] for t, n in c.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        rows.append({j: w / norm for j, w in weights.items()})
    position = {d: i for i, d in enumerate(ids)}
    sims = _cosines(rows, [position[q] for q in queries], len(vocab))
    out = {}
    for q, scores in zip(queries, sims, strict=True):
        scores[position[q]] = 0.0
        order = np.argsort(-scores, kind="stable")[:k]  # stable: ties go by corpus order
        out[q] = [ids[i] for i in order if scores[i] > 0]
    return out


def asl_tfidf_rankings(docs: Mapping[str, str], queries: Sequence[str], k: int) -> Rankings:
    """Top ``k`` other documents by cosine of arxiv-sanity-lite's tf-idf vectors (scikit-learn, ``ASL_TFIDF``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped, unused-ignore]

    ids = list(docs)
    matrix = TfidfVectorizer(**ASL_TFIDF).fit_transform([docs[d] for d in ids])  # rows are L2-normalised
    position = {d: i for i, d in enumerate(ids)}
    out = {}
    for start in range(0, len(queries), 256):
        chunk = queries[start : start + 256]
        sims = np.asarray((matrix[[position[q] for q in chunk]] @ matrix.T).toarray())
        for q, scores in zip(chunk, sims, strict=True):
            scores[position[q]] = 0.0
            order = np.argsort(-scores, kind="stable")[:k]
            out[q] = [ids[i] for i in order if scores[i] > 0]
    return out


def _cosines(rows: list[dict[int, float]], query_rows: list[int], n_terms: int) -> np.ndarray:
    """Query rows × all rows; scipy.sparse when installed, else accumulation over an inverted index."""
    try:
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        postings: dict[int, list[tuple[int, float]]] = {}
        for i, row in enumerate(rows):
            for j, w in row.items():
                postings.setdefault(j, []).append((i, w))
        sims = np.zeros((len(query_rows), len(rows)))
        for r, q in enumerate(query_rows):
            for j, wq in rows[q].items():
                for i, w in postings[j]:
                    sims[r, i] += wq * w
        return sims
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.fromiter((j for r in rows for j in r), dtype=np.int64, count=int(indptr[-1]))
    data = np.fromiter((w for r in rows for w in r.values()), dtype=np.float64, count=int(indptr[-1]))
    matrix = csr_matrix((data, indices, indptr), shape=(len(rows), n_terms))
    return np.asarray((matrix[query_rows] @ matrix.T).toarray())


def score(rankings: Mapping[str, Sequence[str]], relevant: Mapping[str, set[str]], k: int) -> dict[str, float]:
    """Mean nDCG@k (binary gain), precision@k, recall@k and MRR@k over the query docs in ``relevant``."""
    total = dict.fromkeys(METRICS, 0.0)
    for q, related in relevant.items():
        ranked, gains = rankings.get(q, []), dict.fromkeys(related, 1)
        total["ndcg"] += ndcg_at(ranked, gains, k)
        total["precision"] += len(set(ranked[:k]) & related) / k
        total["recall"] += recall_at(ranked, gains, k)
        total["mrr"] += mrr_at(ranked, gains, k)
    n = len(relevant)
    return {**{m: v / n if n else 0.0 for m, v in total.items()}, "queries": n}


def markdown(rows: list[dict[str, Any]], k: int) -> str:
    relations = [*RELATIONS, ANY]
    head = "| method | metric | " + " | ".join(relations) + " |"
    lines = [head, "|---|---|" + "---:|" * len(relations)]
    for method in dict.fromkeys(r["method"] for r in rows):
        by_rel = {r["relation"]: r for r in rows if r["method"] == method}
        for m in METRICS:
            cells = " | ".join(f"{by_rel[rel][m]:.3f}" for rel in relations)
            lines.append(f"| {method} | {m}@{k} | {cells} |")
    lines.append("| | query docs | " + " | ".join(str(by_rel[rel]["queries"]) for rel in relations) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def loaded(corpus: Path, model: str, cache_dir: str) -> Iterator[tuple[Any, Any]]:
    """A temporary store holding ``corpus``, loaded the way ``run_quality`` loads a BEIR collection."""
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    with tempfile.TemporaryDirectory(prefix="paperfeed-similar-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'similar.db'}"
        settings = SearchSettings(Path(tmp) / "index", model, cache_dir)
        with open_store(url, migrate=True) as store, open_indexes(store, settings) as indexes:
            report = ingest(store, read_file(corpus, "beir"))
            if report.rejected:
                print(f"{corpus}: {report.rejected} records rejected (empty documents are skipped)", file=sys.stderr)
            indexes.sync(summaries=False)  # the summaries are a model run per paper the bench does not need
            yield store, indexes


def _strip(pid: str) -> str:
    return pid.removeprefix(BEIR_ID_PREFIX)


def product_rankings(store: Any, queries: Sequence[str], k: int) -> tuple[Rankings, list[float]]:
    """``similar()`` for each query doc, and the wall time of each call (ms)."""
    from paperfeed.search.engine import similar

    out, took = {}, []
    for q in queries:
        started = time.perf_counter()
        hits = similar(store, BEIR_ID_PREFIX + q, k)
        took.append((time.perf_counter() - started) * 1000)
        out[q] = [_strip(h.paper.id) for h in hits]
    return out, took


Side = dict[str, list[tuple[str, float]]]  # query doc -> (doc, score) best first


def dense_side(store: Any, indexes: Any, queries: Sequence[str], depth: int) -> Side:
    """Nearest papers by the query paper's stored vector (itself left out)."""
    out: Side = {}
    pks = store.pks_for_ids([BEIR_ID_PREFIX + q for q in queries])
    for q in queries:
        vector = indexes.dense.vector_of(pks[BEIR_ID_PREFIX + q])
        if vector is None:
            out[q] = []
            continue
        scored = indexes.dense.nearest(vector, depth + 1)
        ids = store.ids_for_pks([pk for pk, _ in scored])
        out[q] = [(_strip(ids[pk]), s) for pk, s in scored if pk in ids and _strip(ids[pk]) != q][:depth]
    return out


def keyword_side(store: Any, indexes: Any, queries: Sequence[str], depth: int, terms: int, title_tf: float) -> Side:
    """BM25 of each query paper's most distinctive words (``KeywordIndex.like_text``)."""
    papers = store.get_papers([BEIR_ID_PREFIX + q for q in queries])
    out: Side = {}
    for q in queries:
        paper = papers[BEIR_ID_PREFIX + q]
        hits = indexes.keyword.like_text(
            paper.title, paper.abstract, depth, terms=terms, title_tf=title_tf, exclude_id=paper.id
        )
        out[q] = [(_strip(h.paper_id), h.score) for h in hits]
    return out


def ranked(side: Side, k: int) -> Rankings:
    return {q: [d for d, _ in hits[:k]] for q, hits in side.items()}


def fused(keyword: Side, dense: Side, dense_weight: float, k: int) -> Rankings:
    return {q: [d for d, _ in fuse(keyword.get(q, []), dense.get(q, []), dense_weight)[:k]] for q in dense}


Judgements = dict[str, dict[str, set[str]]]  # judgement set -> query doc -> related docs


def collection_rankings(
    corpus: Path, queries: Sequence[str], k: int, model: str, cache_dir: str, sweep: bool
) -> tuple[dict[str, Rankings], list[float]]:
    """Every method's rankings of one collection's query docs, and ``similar()``'s per-call times."""
    from paperfeed.search.keyword import LIKE_TERMS, LIKE_TITLE_TF

    docs = read_corpus(corpus)
    texts = {d: f"{title} {text}" for d, (title, text) in docs.items() if f"{title}{text}".strip()}
    queries = [q for q in queries if q in texts]
    methods: dict[str, Rankings] = {}
    with loaded(corpus, model, cache_dir) as (store, indexes):
        methods["paperfeed similar()"], took = product_rankings(store, queries, k)
        depth = 100
        dense = dense_side(store, indexes, queries, depth)
        methods["dense neighbours only (similar() before)"] = ranked(dense, k)
        methods["keyword neighbours only (like_text)"] = ranked(
            keyword_side(store, indexes, queries, depth, LIKE_TERMS, LIKE_TITLE_TF), k
        )
        if sweep:
            sides: dict[tuple[int, float], Side] = {}
            for weight, terms, title_tf in SWEEP:
                if (terms, title_tf) not in sides:
                    sides[terms, title_tf] = keyword_side(store, indexes, queries, depth, terms, title_tf)
                name = f"sweep: dense {weight}, {terms} words, title x{title_tf:g}"
                methods[name] = fused(sides[terms, title_tf], dense, weight, k)
    methods["tf-idf cosine, arxiv-sanity-lite settings"] = asl_tfidf_rankings(texts, queries, k)
    methods["tf-idf cosine, unigrams (earlier baseline)"] = tfidf_rankings(texts, queries, k)
    return methods, took


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection", type=Path, help="BEIR-layout CACM directory (corpus.jsonl)")
    parser.add_argument("graph", type=Path, help="directory with links.tsv, co_citation.tsv, ...")
    parser.add_argument("--co-relevant", type=Path, nargs="*", default=[], help="BEIR collections (qrels/*.tsv)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sweep", action="store_true", help="also score the fusion weights and term counts tried")
    parser.add_argument("--json", action="store_true", help="also print the raw numbers as JSON")
    parser.add_argument("--cache-dir", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--model", default="minilm-l6-int8", help="embedding model (paperfeed's default)")
    args = parser.parse_args(argv)

    # collection directory -> its judgement sets
    plan: dict[Path, Judgements] = {}
    docs = read_corpus(args.collection / "corpus.jsonl")
    graph = {
        rel: {d: r & docs.keys() for d, r in edges.items() if d in docs}
        for rel, edges in read_graph(args.graph).items()
    }
    plan[args.collection] = {f"cacm {rel}": {d: r for d, r in e.items() if r} for rel, e in graph.items()}
    with_abstract = {d for d in graph[ANY] if docs[d][1].strip()}
    plan[args.collection]["cacm any, with abstract"] = {
        d: r for d, r in plan[args.collection][f"cacm {ANY}"].items() if d in with_abstract
    }
    for directory in args.co_relevant:
        name = directory.name.removesuffix("-dev")
        related = co_relevance(directory / "qrels", read_corpus(directory / "corpus.jsonl"))
        plan.setdefault(directory, {})[f"{name} co-relevant"] = related

    results: list[dict[str, Any]] = []
    timings: dict[str, list[float]] = {}
    for directory, judgements in plan.items():
        queries = sorted({q for rel in judgements.values() for q in rel})
        methods, took = collection_rankings(
            directory / "corpus.jsonl", queries, args.k, args.model, args.cache_dir, args.sweep
        )
        timings[directory.name] = took
        for method, rankings in methods.items():
            for judgement, relevant in judgements.items():
                results.append({"method": method, "judgements": judgement, **score(rankings, relevant, args.k)})
    print(f"k = {args.k}; model {args.model}\n")
    print(summary(results, "ndcg", args.k))
    print("\n" + summary(results, "mrr", args.k))
    print("\n" + summary(results, "recall", args.k))
    print("\nsimilar() per call, ms (median / p95 / max over the query docs, in process, vectors in the index):")
    for name, took in timings.items():
        took = sorted(took)
        p95 = took[min(len(took) - 1, int(0.95 * len(took)))]
        print(f"  {name}: {statistics.median(took):.1f} / {p95:.1f} / {took[-1]:.1f} ({len(took)} calls)")
    if args.json:
        print(json.dumps({"k": args.k, "model": args.model, "results": results, "timings": timings}, indent=1))


def summary(results: list[dict[str, Any]], metric: str, k: int) -> str:
    """One row per method, one column per judgement set; the last row counts the query docs."""
    sets = list(dict.fromkeys(r["judgements"] for r in results))
    cell: dict[tuple[str, str], dict[str, Any]] = {(r["method"], r["judgements"]): r for r in results}
    lines = [f"| {metric}@{k} | " + " | ".join(sets) + " |", "|---|" + "---:|" * len(sets)]
    for method in dict.fromkeys(r["method"] for r in results):
        row = [cell.get((method, s)) for s in sets]
        lines.append(f"| {method} | " + " | ".join(f"{c[metric]:.3f}" if c else "" for c in row) + " |")
    counts = [next(r["queries"] for r in results if r["judgements"] == s) for s in sets]
    lines.append("| query docs | " + " | ".join(str(n) for n in counts) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
