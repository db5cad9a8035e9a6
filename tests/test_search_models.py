"""The embedding models' batching: length-sorted batches run in parallel give the vectors of one text at a time, and
the int8 export (``minilm-l6-w8a8``) is the same model as the default's file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from paperfeed.search.embed import paper_text
from paperfeed.search.models import MAX_BATCH, TOKEN_BUDGET, OnnxMiniLM, _minilm_files, get_embedder, length_batches

LISTINGS = Path(__file__).parent / "fixtures" / "files" / "arxiv_daily_listings.head50.jsonl.gz"


def listing_texts() -> list[str]:
    """50 real papers' texts and shorter cuts of them: 5 to 300+ word pieces, so batches mix and the cap bites."""
    with gzip.open(LISTINGS, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    texts = [paper_text(r["title"], " ".join(r["summary"].split())) for r in records]
    return texts[:30] + [" ".join(t.split()[: 3 + 7 * i]) for i, t in enumerate(texts[30:])]


def test_length_batches_cover_every_text_once_longest_first_within_the_budget() -> None:
    lengths = [5, 256, 40, 256, 120, 7, 256, 33] * 10
    batches = length_batches(lengths, budget=1024)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    widths = [max(lengths[i] for i in b) for b in batches]
    assert widths == sorted(widths, reverse=True)
    assert all(len(b) * w <= 1024 or len(b) == 1 for b, w in zip(batches, widths, strict=True))
    assert all(len(b) <= MAX_BATCH for b in length_batches([1] * 500))
    assert length_batches([]) == []
    assert [len(b) for b in length_batches([256, 200, 129, 128, 128, 20, 20, 1])] == [1, 1, 1, 2, 3]
    assert all(len(b) == 1 for b in length_batches(lengths, budget=1))
    assert TOKEN_BUDGET >= 256  # a text at the cap fits one run


@pytest.mark.parametrize("workers", [1, 2])
def test_bucketed_parallel_embedding_gives_the_vectors_of_one_text_at_a_time(workers: int) -> None:
    embedder = OnnxMiniLM("minilm-l6-int8", *_minilm_files(), dim=384, workers=workers)
    assert embedder.workers == workers
    texts = listing_texts()
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert together.shape == (len(texts), 384)
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_token_states_come_from_the_same_batched_run() -> None:
    embedder = get_embedder("minilm-l6-int8")
    texts = listing_texts()[:20]
    states = embedder.embed_tokens(texts)  # type: ignore[attr-defined]
    vectors = embedder.embed(texts)
    for text, state, vector in zip(texts, states, vectors, strict=True):
        assert np.abs(state.pooled - vector).max() < 1e-5
        assert len(state.tokens) == len(state.offsets) <= 256
        assert state.offsets[-1] == (0, 0) and state.offsets[1][1] <= len(text)  # [SEP] last; real spans inside


def test_the_int8_export_runs_each_text_alone_and_keeps_the_models_vectors() -> None:
    w8a8, int8 = get_embedder("minilm-l6-w8a8"), get_embedder("minilm-l6-int8")
    texts = listing_texts()
    together = w8a8.embed(texts)
    # Every text runs alone (its int8 activations are scaled per run), so its vector never depends on its company.
    assert np.array_equal(together, np.vstack([w8a8.embed([t]) for t in texts]))
    cosine = (together * int8.embed(texts)).sum(axis=1)
    assert cosine.min() > 0.98 and cosine.mean() > 0.99
    (states,) = w8a8.embed_tokens(texts[:1])  # type: ignore[attr-defined]
    assert np.abs(states.pooled - together[0]).max() < 1e-6
