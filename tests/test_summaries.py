"""Machine-made summaries: made by the index job from the one model run that embeds a paper, stored with the hash of
the text, never made twice for the same text; extractive (words of the abstract only). Runs on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.papers import Paper
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.models import get_embedder
from paperfeed.search.registry import SearchSettings
from paperfeed.search.summaries import KEYPHRASES, candidate_phrases, sentences
from paperfeed.store import Store, open_store

ABSTRACT = (
    "Road traffic is hard to forecast. We model the road network as a graph whose nodes are sensors. "
    "A graph neural network with message passing predicts congestion an hour ahead from sensor readings. "
    "On two city data sets it beats recurrent baselines. Code: https://example.org."
)
TRAFFIC = Paper(id="2501.09999", title="Graph neural networks for traffic forecasting", abstract=ABSTRACT)


@pytest.fixture
def indexed(store_url: str, tmp_path: Path) -> Iterator[Store]:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(tmp_path / "cache")))
        store.upsert_papers([TRAFFIC, Paper(id="2501.09998", title="Untitled", abstract="")])
        yield store


def test_sentences_and_candidates_come_from_the_abstract() -> None:
    found = sentences(ABSTRACT, 10)
    assert found[0] == ("Road traffic is hard to forecast.", (10, 43))
    assert all(len(s) >= 25 and "https" not in s for s, _ in found)
    phrases = candidate_phrases(ABSTRACT)
    assert phrases[0][0] == "graph neural network"  # the longest phrases first, then the more frequent
    assert all(ABSTRACT[a:b].lower() == p.lower() for p, (a, b) in phrases)  # each span is where the phrase is
    assert "graph neural" not in dict(phrases)  # only ever seen inside the longer phrase
    assert not any(word in {"the", "we", "a", "of", "is"} for p, _ in phrases for word in p.split())


@pytest.mark.parametrize(
    ("abstract", "garbled"),
    [  # each from a real arXiv abstract of the shared listings
        ("We prove the Poincar\\'{e} inequality for graphs.", {"poincar", "poincar e", "e"}),
        ("The M$^2$D-LIF framework facilitates training.", {"M D-LIF", "D-LIF framework facilitates", "M"}),
        ("The $k$NN-LM model achieves $30\\%$ error reduction.", {"NN-LM", "NN-LM model achieves"}),
        ("We propose \\textbf{Personalize Anything}, a training-free method.", {"textbf", "textbf personalize"}),
        ("It won a Kaggle competition\\footnote{https://www.kaggle.com/c/x} task today.", {"kaggle task"}),
        ("The decoder recovers per-voxel 3D wind vectors from 2024 data.", {"D wind vectors", "D", "2024 data"}),
    ],
)
def test_latex_and_links_make_no_phrases(abstract: str, garbled: set[str]) -> None:
    phrases = dict(candidate_phrases(abstract))
    assert not garbled & set(phrases), phrases
    assert all(abstract[a:b].lower() == p.lower() for p, (a, b) in phrases.items())


def test_the_index_job_stores_an_extractive_summary_once(indexed: Store) -> None:
    report = indexes_for(indexed).sync()
    assert report.summarised == 2 and report.embedded == 2  # the summary's model run left the vectors in the cache
    made = indexed.summaries_of([TRAFFIC.id, "2501.09998"])
    assert set(made) == {TRAFFIC.id}  # an empty abstract gives none (and none is invented)
    summary = made[TRAFFIC.id]
    assert summary.sentence in [s for s, _ in sentences(ABSTRACT)]  # a sentence of the abstract, word for word
    assert len(summary.keyphrases) == KEYPHRASES == len(set(summary.keyphrases))
    assert all(k.lower() in ABSTRACT.lower() for k in summary.keyphrases)

    again = indexes_for(indexed).sync()  # nothing changed: nothing redone
    assert (again.summarised, again.embedded) == (0, 0) and indexed.summaries_of([TRAFFIC.id]) == made


def test_the_progress_bar_is_told_of_every_text_the_model_embeds(indexed: Store) -> None:
    told: dict[str, int] = {}
    report = indexes_for(indexed).sync(progress=lambda what, n: told.__setitem__(what, told.get(what, 0) + n))
    # The summaries step embedded both (the vector step found them cached): the embedding bar counts them there.
    assert told == {"keyword": 2, "embedded": 2, "vectors": 2} and report.embedded == 2
    indexed.upsert_papers([Paper(id="2501.09997", title="Another paper", abstract="")])
    told.clear()
    indexes_for(indexed).sync(summaries=False, progress=lambda what, n: told.__setitem__(what, told.get(what, 0) + n))
    assert told == {"keyword": 1, "embedded": 1, "vectors": 1}  # without summaries, the vector step embeds


def test_ready_made_vectors_are_not_summarised_unless_asked(indexed: Store) -> None:
    # A store whose vectors came ready-made (the demo's, a restored cache) indexes at once: no model run per paper.
    indexes = indexes_for(indexed)
    indexes.sync(summaries=False)  # the vectors are in the cache now, with no summary made
    report = indexes.sync()
    assert (report.summarised, report.embedded) == (0, 0) and indexed.summaries_of([TRAFFIC.id]) == {}
    backfilled = indexes.sync(backfill_summaries=True)
    assert backfilled.summarised == 2 and backfilled.embedded == 0
    assert set(indexed.summaries_of([TRAFFIC.id])) == {TRAFFIC.id}


def test_a_changed_abstract_is_summarised_again_and_other_changes_are_not(indexed: Store) -> None:
    indexes_for(indexed).sync()
    indexed.upsert_papers([Paper(**{**TRAFFIC.__dict__, "categories": ["cs.LG"]})])
    assert indexes_for(indexed).sync().summarised == 0  # same title and abstract
    shorter = "Road traffic is hard to forecast, and we forecast it with graph neural networks on sensor graphs."
    indexed.upsert_papers([Paper(**{**TRAFFIC.__dict__, "abstract": shorter, "version": 2})])
    assert indexes_for(indexed).sync().summarised == 1
    assert indexed.summaries_of([TRAFFIC.id])[TRAFFIC.id].sentence == shorter


def test_the_summary_uses_the_same_vector_as_the_paper() -> None:
    embedder = get_embedder("minilm-l6-int8")
    text = f"{TRAFFIC.title}. {ABSTRACT}"
    (states,) = embedder.embed_tokens([text])  # type: ignore[attr-defined]
    assert float(states.pooled @ embedder.embed([text])[0]) > 0.9999
    assert len(states.offsets) == len(states.tokens)
