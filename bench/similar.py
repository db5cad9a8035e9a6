"""Similar papers: how well ``similar()`` finds a CACM paper's citation neighbours, against a tf-idf baseline.

    nice -n 5 python bench/similar.py ../shared/data/ir/cacm ../shared/data/similarity/cacm_citation_graph [--json]

Ground truth is the citation graph shipped inside the CACM collection (``PROVENANCE.md`` beside the TSVs): direct
citation links, co-citation and bibliographic coupling, plus "any" (their union). Every document with at least one
relation of a type is a query for that type; the related documents are relevant (binary gain). Weak ground truth:
citing papers are not always topically close, and about half the documents are title-only, so the numbers are
also given for the query documents that have an abstract.

Two rankers see the same text (title + abstract): the product path (the corpus ingested into a temporary SQLite
store through the normal ingest + index path, then ``search.engine.similar``), and a tf-idf cosine baseline
(lowercased alphanumeric tokens, English stop words dropped, sublinear tf, smoothed idf, L2-normalised). The
embedding cache defaults to the user cache dir so vectors computed by ``paperfeed bench quality`` are reused.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import platformdirs

from paperfeed.search.evaluation import BEIR_ID_PREFIX, mrr_at, ndcg_at, recall_at

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


def product_rankings(corpus: Path, queries: Sequence[str], k: int, model: str, cache_dir: str) -> dict[str, list[str]]:
    """``similar()`` over a temporary store loaded the way ``run_quality`` loads a BEIR collection."""
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.engine import similar
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
                sys.exit(f"{report.rejected} corpus records rejected")
            indexes.sync()
            return {
                q: [h.paper.id.removeprefix(BEIR_ID_PREFIX) for h in similar(store, BEIR_ID_PREFIX + q, k)]
                for q in queries
            }


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection", type=Path, help="BEIR-layout CACM directory (corpus.jsonl)")
    parser.add_argument("graph", type=Path, help="directory with links.tsv, co_citation.tsv, ...")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="also print the raw numbers as JSON")
    parser.add_argument("--cache-dir", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--model", default="minilm-l6-int8", help="embedding model (paperfeed's default)")
    args = parser.parse_args(argv)

    docs = read_corpus(args.collection / "corpus.jsonl")
    graph = {
        rel: {d: r & docs.keys() for d, r in edges.items() if d in docs}
        for rel, edges in read_graph(args.graph).items()
    }
    graph = {rel: {d: r for d, r in edges.items() if r} for rel, edges in graph.items()}
    order = {d: i for i, d in enumerate(docs)}
    queries = sorted(graph[ANY], key=order.__getitem__)
    with_abstract = {d for d in queries if docs[d][1].strip()}
    texts = {d: f"{title} {text}" for d, (title, text) in docs.items()}
    methods = {
        "paperfeed similar()": product_rankings(
            args.collection / "corpus.jsonl", queries, args.k, args.model, args.cache_dir
        ),
        "tf-idf cosine": tfidf_rankings(texts, queries, args.k),
    }
    subsets = {"all query docs": None, "query docs with an abstract": with_abstract}
    results = []
    for subset, keep in subsets.items():
        for method, rankings in methods.items():
            for rel, edges in graph.items():
                relevant = {d: r for d, r in edges.items() if keep is None or d in keep}
                results.append(
                    {"subset": subset, "method": method, "relation": rel, **score(rankings, relevant, args.k)}
                )
    print(f"{len(queries)} query docs with a relation, {len(with_abstract)} of them with an abstract; k = {args.k}")
    for subset in subsets:
        print(f"\n### {subset}\n\n{markdown([r for r in results if r['subset'] == subset], args.k)}")
    if args.json:
        print(json.dumps({"k": args.k, "model": args.model, "results": results}, indent=1))


if __name__ == "__main__":
    main()
