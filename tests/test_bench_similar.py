"""bench/similar.py's pure parts: reading the citation graph, the tf-idf baseline and the metrics, on a tiny graph."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "similar.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_similar", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sim = _load()

DOCS = {
    "1": "Sorting with binary trees",
    "2": "Binary tree sorting algorithms",
    "3": "Compiling ALGOL expressions",
    "4": "An ALGOL compiler for expressions",
    "5": "The and of with",  # nothing but stop words: shares no term with anything
}


def _write_graph(directory: Path) -> None:
    rows = {
        "links.tsv": ["1\t1\t3", "1\t2\t1", "2\t1\t1", "3\t4\t1", "4\t3\t1"],
        "co_citation.tsv": ["1\t1\t9", "1\t3\t2", "3\t1\t2"],
        "bibliographic_coupling.tsv": ["5\t5\t4"],  # only a self row: doc 5 is no query
    }
    for name, lines in rows.items():
        (directory / name).write_text("doc_id\tother_doc_id\tweight\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_read_graph_skips_self_rows_and_builds_the_union(tmp_path: Path) -> None:
    _write_graph(tmp_path)
    graph = sim.read_graph(tmp_path)
    assert graph["links"] == {"1": {"2"}, "2": {"1"}, "3": {"4"}, "4": {"3"}}
    assert graph["co-citation"] == {"1": {"3"}, "3": {"1"}}
    assert graph["coupling"] == {}
    assert graph["any"] == {"1": {"2", "3"}, "2": {"1"}, "3": {"1", "4"}, "4": {"3"}}


LOG2_3 = 1.584962500721156


@pytest.mark.parametrize(
    ("ranked", "related", "k", "expected"),
    [
        (["2", "3"], {"2"}, 2, {"ndcg": 1.0, "precision": 0.5, "recall": 1.0, "mrr": 1.0}),
        (["3", "2"], {"2"}, 2, {"ndcg": 1 / LOG2_3, "precision": 0.5, "recall": 1.0, "mrr": 0.5}),
        (["3", "2"], {"2"}, 1, {"ndcg": 0.0, "precision": 0.0, "recall": 0.0, "mrr": 0.0}),
        (["3"], {"2", "4"}, 10, {"ndcg": 0.0, "precision": 0.0, "recall": 0.0, "mrr": 0.0}),
        (
            ["4", "9", "2"],
            {"2", "4"},
            3,
            {"ndcg": 1.5 / (1 + 1 / LOG2_3), "precision": 2 / 3, "recall": 1.0, "mrr": 1.0},
        ),
    ],
)
def test_score_one_query(ranked: list[str], related: set[str], k: int, expected: dict[str, float]) -> None:
    result = sim.score({"1": ranked}, {"1": related}, k)
    assert result["queries"] == 1
    for metric, value in expected.items():
        assert result[metric] == pytest.approx(value), metric


def test_score_averages_and_counts_missing_rankings_as_zero() -> None:
    result = sim.score({"1": ["2"]}, {"1": {"2"}, "3": {"4"}}, 10)
    assert result == pytest.approx({"ndcg": 0.5, "precision": 0.05, "recall": 0.5, "mrr": 0.5, "queries": 2})
    assert sim.score({}, {}, 10)["queries"] == 0


def test_tokens_lowercase_alphanumeric_without_stop_words() -> None:
    assert sim.tokens("The ALGOL-60 compiler, and its B5000 port") == ["algol", "60", "compiler", "b5000", "port"]


def test_tfidf_ranks_by_shared_terms_and_never_returns_the_query() -> None:
    rankings = sim.tfidf_rankings(DOCS, ["1", "3", "5"], 10)
    assert rankings["1"] == ["2"]
    assert rankings["3"] == ["4"]
    assert rankings["5"] == []  # no shared term: nothing ranked, rather than an arbitrary order


def test_tfidf_without_scipy_gives_the_same_cosines(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{0: 0.6, 1: 0.8}, {1: 1.0}, {2: 1.0}]
    with_scipy = sim._cosines(rows, [0, 2], 3)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)  # makes ``from scipy.sparse import ...`` fail
    without = sim._cosines(rows, [0, 2], 3)
    assert without == pytest.approx(with_scipy)
    assert without == pytest.approx(np.array([[1.0, 0.8, 0.0], [0.0, 0.0, 1.0]]))


def test_markdown_has_a_row_per_method_and_metric() -> None:
    rows = [
        {"method": m, "relation": r, "ndcg": 0.5, "precision": 0.1, "recall": 0.2, "mrr": 0.3, "queries": 4}
        for m in ("a", "b")
        for r in ("links", "co-citation", "coupling", "any")
    ]
    table = sim.markdown(rows, 10).splitlines()
    assert table[0] == "| method | metric | links | co-citation | coupling | any |"
    assert len(table) == 2 + 2 * 4 + 1
    assert table[-1] == "| | query docs | 4 | 4 | 4 | 4 |"


def test_co_relevance_relates_the_documents_judged_relevant_to_one_query(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\t1\t1\nq1\t2\t1\nq1\t3\t0\nq2\t2\t2\nq2\t4\t1\nq3\t5\t1\nq3\t9\t1\n",
        encoding="utf-8",
    )
    related = sim.co_relevance(tmp_path, DOCS)
    # Grade 0 is not relevant; doc 9 is not in the corpus, so q3 relates nothing (5 alone).
    assert related == {"1": {"2"}, "2": {"1", "4"}, "4": {"2"}}


def test_asl_tfidf_uses_arxiv_sanity_lites_vectorizer() -> None:
    pytest.importorskip("sklearn")
    # min_df 5: a term must be in five documents; max_df 0.1: in at most a tenth of them. 60 filler documents
    # make "binary" (in 5) and "algol" (in 5) count and leave everything else out.
    docs = {str(i): f"filler{i} text{i}" for i in range(60)}
    docs |= {f"b{i}": f"binary trees {i}" for i in range(5)} | {f"a{i}": f"ALGOL compilers {i}" for i in range(5)}
    rankings = sim.asl_tfidf_rankings(docs, ["b0", "a0", "0"], 10)
    assert set(rankings["b0"]) == {"b1", "b2", "b3", "b4"}
    assert set(rankings["a0"]) == {"a1", "a2", "a3", "a4"}
    assert rankings["0"] == []  # none of its terms passes the cut-offs


def test_summary_has_a_column_per_judgement_set_and_a_row_per_method() -> None:
    rows = [
        {"method": m, "judgements": j, "ndcg": 0.25, "mrr": 0.5, "recall": 0.75, "queries": n}
        for m in ("a", "b")
        for j, n in (("cacm any", 4), ("med co-relevant", 7))
    ]
    table = sim.summary(rows, "ndcg", 10).splitlines()
    assert table[0] == "| ndcg@10 | cacm any | med co-relevant |"
    assert table[2] == "| a | 0.250 | 0.250 |"
    assert table[-1] == "| query docs | 4 | 7 |"
