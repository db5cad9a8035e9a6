"""Machine-made summaries of a paper, made by the index job: its abstract's most central sentence and keyphrases.

Both are extractive, so nothing is invented: the summary is the abstract's sentence closest in meaning to the whole
paper (its title and abstract, as the search index embeds them) and the keyphrases are phrases of one to three words
of the abstract, ranked by closeness to the paper and kept apart from each other (maximal marginal relevance, so
"diffusion model" and "diffusion models" are not both listed).

They cost no second run of the model: the index job embeds each new paper's text once with ``embed_tokens``, which
also gives the token vectors the paper vector is pooled from. A sentence's or phrase's vector is the mean of its
own tokens' vectors (contextual, from that same run), compared with the paper's; the pooled vector goes to the
embedding cache, so the vector index then finds it there. Papers are stored with the hash of the text summarised
(``store.summaries``) and only redone when it changes; pages read what is stored and label it machine-made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from paperfeed.search.embed import Embedder, EmbeddingCache, TokenStates, paper_text, text_hash
from paperfeed.store import Store, utcnow
from paperfeed.store.summaries import MachineSummary

KEYPHRASES = 5
CANDIDATES = 30  # phrases scored per paper (see candidate_phrases): cheap, but bounds the MMR loop
DIVERSITY = 0.5  # MMR: how much a phrase's likeness to those already chosen counts against it
MIN_SENTENCE = 25  # characters; shorter pieces ("Code: github.com/…") are not summaries
SUMMARY_BATCH = 64  # papers per model run and per commit
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_CLAUSE = re.compile(r"[^.,;:!?()\[\]]+")
# A word may start with a digit ("3D", "2D-aware"), so that "3D wind vectors" does not become "D wind vectors";
# one with no letter ("2024", "30") is matched only to keep it out of phrases.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z0-9]")
_CASED = re.compile(r".[A-Z]|^[A-Z]$")
_URL = re.compile(r"\S*://\S*|\bwww\.\S+")
# LaTeX is no phrase: inline math and any word glued to it or to other markup ("Poincar\\'{e}", "M$^2$D-LIF",
# "70\\%"), whose letters would otherwise come out as words ("poincar e", "M D-LIF"). Bare braces ("{snowy}") are kept.
_LATEX = re.compile(r"\S*\$[^$]{0,300}\$\S*|\S*[\\$^_]\S*")
_BRACES = str.maketrans("{}", "  ")
# Words that do not start or end a keyphrase: function words and the words every abstract uses.
_STOP_TEXT = (
    "a about above across after again against all almost along also although always among an and another "
    "any are as at be been before being below between both but by can could did do does done during each "
    "either et etc even ever every few for from further had has have having here how however i if in into "
    "is it its itself just may might more most much must new no nor not novel now of off often on once "
    "one only onto or other our ours out over own paper per propose proposed proposes present presents "
    "show shows shown so some such than that the their them then there these they this those through thus "
    "to too two under until up upon use used uses using very via was we well were what when where whether "
    "which while who whom whose why will with within without would yet our approach method methods result "
    "results work works based study studies"
)
_STOP = frozenset(_STOP_TEXT.split())


Span = tuple[int, int]  # characters [start, end) of the paper text


def sentences(abstract: str, start: int = 0) -> list[tuple[str, Span]]:
    """The abstract's sentences that could summarise it (not fragments, not "Code: https://…"), with their spans
    in a text where the abstract begins at ``start``."""
    found: list[tuple[str, Span]] = []
    position = 0
    for piece in _SENTENCE.split(abstract):
        at = abstract.index(piece, position)
        position = at + len(piece)
        sentence = " ".join(piece.split())
        if len(sentence) >= MIN_SENTENCE and not _URL.search(piece):
            found.append((sentence, (start + at, start + position)))
    return found


def candidate_phrases(abstract: str, start: int = 0) -> list[tuple[str, Span]]:
    """Phrases of 1-3 words inside one clause with no stop word in them, each with the span of its first use; longer
    and more frequent ones first (a phrase scores its count times its length), so those scored are the likeliest."""
    counts: dict[str, int] = {}
    first: dict[str, Span] = {}
    # Masked with as many commas, so spans stay true and no phrase runs across a link or markup.
    text = _LATEX.sub(_masked, _URL.sub(_masked, abstract)).translate(_BRACES)
    for clause in _CLAUSE.finditer(text):
        words = list(_WORD.finditer(clause.group()))
        for i in range(len(words)):
            for size in (1, 2, 3):
                chunk = words[i : i + size]
                if len(chunk) < size or any(w.group().lower() in _STOP for w in chunk):
                    continue
                if size == 1 and len(chunk[0].group()) < 4:
                    continue
                if any(len(w.group()) == 1 and w.group().islower() for w in chunk):  # "x", "e": variables
                    continue
                if any(not any(c.isalpha() for c in w.group()) for w in chunk):
                    continue
                # Case kept where it is meant ("BERT", "LoRA", "3D"), not where a sentence starts ("Graph").
                phrase = " ".join(w.group() if _CASED.search(w.group()) else w.group().lower() for w in chunk)
                counts[phrase] = counts.get(phrase, 0) + 1
                base = start + clause.start()
                first.setdefault(phrase, (base + chunk[0].start(), base + chunk[-1].end()))
    # A phrase only ever seen inside a longer one ("graph neural" of "graph neural network") is not a phrase.
    padded = {p: f" {p.lower()} " for p in counts}
    kept = [p for p in counts if not any(q != p and padded[p] in padded[q] and counts[q] >= counts[p] for q in counts)]
    ranked = sorted(kept, key=lambda p: (-counts[p] * len(p.split()), first[p]))
    return [(p, first[p]) for p in ranked[:CANDIDATES]]


def _masked(match: re.Match[str]) -> str:
    return "," * len(match.group())


def summarise_states(title: str, abstract: str, states: TokenStates) -> MachineSummary | None:
    """The summary of one paper from its text's token vectors (``paper_text(title, abstract)`` embedded); None when
    the abstract gives neither a sentence nor a phrase."""
    start = len(paper_text(title, abstract)) - len(abstract)
    spans = np.array(states.offsets, dtype=np.int64).reshape(-1, 2)
    whole = states.pooled

    def vector(span: Span) -> npt.NDArray[np.float32] | None:
        # Tokens inside the span; none when the model's input was cut before it (long abstracts).
        inside = (spans[:, 1] > spans[:, 0]) & (spans[:, 0] >= span[0]) & (spans[:, 1] <= span[1])
        if not inside.any():
            return None
        v = states.tokens[inside].mean(axis=0)
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm else None

    scored = [(s, v) for s, span in sentences(abstract, start) if (v := vector(span)) is not None]
    sentence = max(scored, key=lambda sv: float(sv[1] @ whole))[0] if scored else None
    phrases = [(p, v) for p, span in candidate_phrases(abstract, start) if (v := vector(span)) is not None]
    keyphrases = _diverse(phrases, whole)
    if sentence is None and not keyphrases:
        return None
    return MachineSummary(sentence, keyphrases)


def _diverse(phrases: list[tuple[str, npt.NDArray[np.float32]]], whole: npt.NDArray[np.float32]) -> list[str]:
    """Maximal marginal relevance: close to the paper, far from the phrases already chosen (and no plural of one)."""
    if not phrases:
        return []
    rows = np.vstack([v for _, v in phrases])
    relevance = rows @ whole
    chosen: list[int] = []
    left = set(range(len(phrases)))
    while left and len(chosen) < KEYPHRASES:
        best = max(
            left,
            key=lambda i: (
                (1 - DIVERSITY) * float(relevance[i])
                - DIVERSITY * max((float(rows[i] @ rows[j]) for j in chosen), default=0.0)
            ),
        )
        left.discard(best)
        name = phrases[best][0].lower()
        if any(name.rstrip("s") == phrases[j][0].lower().rstrip("s") for j in chosen):
            continue
        chosen.append(best)
    return [phrases[i][0] for i in chosen]


def summarise_texts(
    embedder: Embedder, cache: EmbeddingCache, papers: Sequence[tuple[str, str]]
) -> list[MachineSummary | None] | None:
    """Summaries of (title, abstract) pairs from one run of the model, whose paper vectors are put in the cache (the
    vector index then embeds nothing more); None when the model gives no token vectors (then none are made)."""
    embed_tokens = getattr(embedder, "embed_tokens", None)
    if embed_tokens is None:
        return None
    texts = [paper_text(title, abstract) for title, abstract in papers]
    states: list[TokenStates] = embed_tokens(texts) if texts else []
    if states:
        cache.put(embedder.name, [text_hash(t) for t in texts], np.vstack([s.pooled for s in states]))
    return [summarise_states(t, a, s) for (t, a), s in zip(papers, states, strict=True)]


def sync_summaries(
    store: Store,
    embedder: Embedder,
    cache: EmbeddingCache,
    *,
    backfill: bool = False,
    embedded_progress: Callable[[int], None] | None = None,
) -> tuple[int, int, int]:
    """Summarise the live papers whose title and abstract have no current summary: (made, skipped because their
    text had not changed, texts the model embedded that the cache lacked).

    A summary rides on the model run that embeds a new text, so by default only texts the cache lacks are
    summarised: an instance's index run costs no more than before, and a store whose vectors came ready-made (the
    demo's, a restored cache) indexes at once. ``backfill`` summarises the rest too, one model run per paper
    (``paperfeed index --summaries``). ``embedded_progress`` is told how many texts the model embedded, batch by
    batch (the slow part, which a progress bar times)."""
    made = skipped = embedded = 0
    after = 0
    while candidates := store.summary_candidates(after, SUMMARY_BATCH):
        after = candidates[-1].pk
        now = utcnow()
        hashes = [text_hash(paper_text(c.title, c.abstract)) for c in candidates]
        same = [c.pk for c, h in zip(candidates, hashes, strict=True) if c.made_hash == h]
        todo = [(c, h) for c, h in zip(candidates, hashes, strict=True) if c.made_hash != h]
        if same:
            store.touch_summaries(now, same)
            skipped += len(same)
        cached = set(cache.get(embedder.name, [h for _, h in todo])) if todo else set()
        if not backfill:
            todo = [(c, h) for c, h in todo if h not in cached]
        if not todo:
            continue
        fresh = len({h for _, h in todo} - cached)
        embedded += fresh
        found = summarise_texts(embedder, cache, [(c.title, c.abstract) for c, _ in todo])
        if found is None:
            return made, skipped, embedded
        store.put_summaries(embedder.name, now, [(c.pk, h, s) for (c, h), s in zip(todo, found, strict=True)])
        made += len(todo)
        if embedded_progress and fresh:
            embedded_progress(fresh)
    return made, skipped, embedded
