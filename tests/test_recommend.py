"""For you on a real store (SQLite or PostgreSQL) over the demo corpus: the shipped vectors go into the embedding
cache, so the real index fills without running the model; signals are plain records like the library's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from paperfeed.demo import load_demo, prime_cache
from paperfeed.errors import BadInput
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.recommend import blend, foryou, model
from paperfeed.recommend.reasons import Reason, reasons
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.store import Store, open_store

DAY = "2026-06-16"  # the demo's busiest listing day (554 papers)


@dataclass(frozen=True)
class Signal:
    paper_id: str
    kind: str
    at: datetime


def rows(members: dict[int, list[Signal]]) -> list[tuple[int, str, str]]:
    """Members' signals as a digest run reads them (``Store.signal_rows_many``)."""
    return [(m, s.paper_id, s.kind) for m, sigs in members.items() for s in sigs]


def signals(*pairs: tuple[str, str]) -> list[Signal]:
    """Newest first, like ``Store.interest_signals``."""
    start = datetime(2026, 7, 1, tzinfo=UTC)
    return [Signal(pid, kind, start - timedelta(minutes=i)) for i, (pid, kind) in enumerate(pairs)]


@pytest.fixture(scope="module")
def demo_store(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("recommend")
    with open_store(module_store_url) as store:
        indexes = open_indexes(store, SearchSettings(root / "index", cache_dir=str(root / "cache")))
        ingest(store, load_demo())
        prime_cache(indexes.cache, indexes.model)
        indexes.sync()
        foryou.forget_candidates()
        yield store


def test_vectors_of_many_match_one_by_one(demo_store: Store) -> None:
    dense = indexes_for(demo_store).dense
    feats = demo_store.listed_features(DAY, DAY)[:20]
    pks = [f.pk for f in feats] + [10**9]
    matrix, found = dense.vectors_of(pks)
    assert found.tolist() == [True] * 20 + [False]
    for row, pk in enumerate(pks[:20]):
        one = dense.vector_of(pk)
        assert one is not None
        assert np.allclose(matrix[row], one, atol=1e-3)
    assert not matrix[-1].any()


def test_a_library_on_one_topic_ranks_that_topic_first_and_says_why(demo_store: Store) -> None:
    library = [f for f in demo_store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]
    assert len(library) >= 2
    ranking = foryou.rank_period(demo_store, signals(*((f.id, "saved") for f in library)), DAY, DAY)
    assert len(ranking.ids) == len(demo_store.listed_features(DAY, DAY))
    top = [ranking.ids[i] for i in ranking.order[:5]]
    papers = demo_store.get_papers(top)
    assert sum("speech" in (papers[p].title + papers[p].abstract).lower() for p in top) >= 3
    first = ranking.scores.explain(ranking.order[0])
    said = reasons(first, ranking.model.titles, ranking.model.liked_count)
    assert said[0].kind == "close"
    assert said[0].paper_ids and set(said[0].paper_ids) <= {f.id for f in library}
    assert "in your library" in said[0].text


def test_a_tag_the_close_library_papers_share_is_named_first(demo_store: Store) -> None:
    from paperfeed.recommend.reasons import tag_reasons

    library = [f.id for f in demo_store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]
    tags = {pid: ["speech"] for pid in library}
    tags[library[0]] = ["asr", "speech"]  # a tag on one paper only is never the reason
    liked = signals(*((pid, "saved") for pid in library))
    ranking = foryou.rank_period(demo_store, liked, DAY, DAY, tags=tags)
    top = ranking.order[0]
    said = ranking.why(top)
    sims = ranking.scores.liked_sims([top])
    assert sims is not None
    close = sorted(((pid, float(s)) for pid, s in zip(ranking.model.profile.liked_ids, sims[0].tolist(), strict=True)
                    if s >= model.REASON_CLOSE), key=lambda c: -c[1])  # fmt: skip
    assert len(close) >= 3
    text = f"Close to {len(close)} papers you tagged “speech”"
    assert said[0] == Reason("tag", text, [p for p, _ in close], "speech")
    assert said[0].lead == f"Close to {len(close)} papers you tagged "
    assert said[0].to_dict()["tag"] == "speech"
    assert said[1].kind == "close" and "in your library" in said[1].text  # the titles still follow
    assert ranking.why_many(ranking.order[:5])[0] == said
    # the same member without tags: the titles only; a tag carried by one close paper only: not named
    untagged = foryou.rank_period(demo_store, liked, DAY, DAY)
    assert untagged.why(top)[0].kind == "close" and untagged.why(top) == said[1:]
    assert tag_reasons(ranking.scores, [top], {close[0][0]: ["lonely"]}) == [None]
    # two tags on the close papers: the one most of them carry; of equals, the one on the closest paper, and of
    # equals on one paper, the first alphabetically
    split = {pid: ["speech"] for pid, _ in close[:1]} | {pid: ["audio"] for pid, _ in close[1:]}
    (chosen,) = tag_reasons(ranking.scores, [top], split)
    assert chosen is not None and chosen.tag == "audio" and chosen.paper_ids == [p for p, _ in close[1:]]
    even = {close[0][0]: ["b"], close[1][0]: ["b"], close[2][0]: ["a"]} | {pid: ["a"] for pid, _ in close[3:4]}
    if len(close) == 3:
        even[close[2][0]] = ["a", "b"]
    (chosen,) = tag_reasons(ranking.scores, [top], even)
    assert chosen is not None and chosen.tag == "b"  # 2 each (or b ahead): b is on the closest paper
    both = {pid: ["zeta", "alpha"] for pid, _ in close}
    (chosen,) = tag_reasons(ranking.scores, [top], both)
    assert chosen is not None and chosen.tag == "alpha"


def test_less_like_this_sinks_the_paper_and_its_neighbours(demo_store: Store) -> None:
    library = [f for f in demo_store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]
    liked = signals(*((f.id, "saved") for f in library))
    before = foryou.rank_period(demo_store, liked, DAY, DAY)
    top_id = before.ids[before.order[0]]
    after = foryou.rank_period(demo_store, [*signals((top_id, "less")), *liked], DAY, DAY)
    order = [after.ids[i] for i in after.order]
    assert order.index(top_id) >= len(order) * 0.9
    # its closest neighbours drop too (they were close to the library and are close to the rejected paper)
    vec = after.scores.candidates.vectors
    me = after.ids.index(top_id)
    near = [after.ids[i] for i in np.argsort(-(vec @ vec[me]))[1:6]]
    rank_before = {pid: i for i, pid in enumerate(before.ids[j] for j in before.order)}
    assert sum(order.index(pid) > rank_before[pid] for pid in near) >= 4
    explained = after.scores.explain(after.ids.index(top_id))
    assert explained.less is not None and explained.less[0] == top_id
    assert any(r.kind == "less" for r in reasons(explained, after.model.titles, after.model.liked_count))
    # the newest signal per paper counts: "more" after "less" makes it liked again
    again = foryou.rank_period(demo_store, [*signals((top_id, "more"), (top_id, "less")), *liked], DAY, DAY)
    assert top_id in again.model.profile.liked_ids and top_id not in again.model.profile.disliked_ids


def test_a_paper_without_a_vector_still_pulls_by_author_and_category(demo_store: Store) -> None:
    candidates = model.Candidates(
        ["a", "b"], np.zeros((2, 384), np.float32), np.array([False, False]), [["cs.CL"], ["cs.CV"]],
        [["Ada Lovelace"], ["Someone Else"]],
    )  # fmt: skip
    profile = model.Profile.build([("x", None, ["cs.CL"], ["ada  LOVELACE"])])
    scores = model.score(profile, candidates)
    assert [candidates.ids[i] for i in scores.order()] == ["a", "b"]
    said = reasons(scores.explain(0), {}, 1)
    assert [r.kind for r in said] == ["author", "category"]
    assert "Ada Lovelace" in said[0].text


def test_the_candidates_are_cached_until_the_store_changes(demo_store: Store) -> None:
    first = foryou.period_candidates(demo_store, DAY, DAY)
    assert foryou.period_candidates(demo_store, DAY, DAY) is first
    demo_store.upsert_papers(
        [Paper(id="2606.99999", version=1, title="A new paper on the day", abstract="Fresh.", authors=["A B"],
               categories=["cs.CL"], announced=DAY, listing_days={DAY: "new"}, source="test")]
    )  # fmt: skip
    again = foryou.period_candidates(demo_store, DAY, DAY)
    assert again is not first and "2606.99999" in again.candidates.ids
    assert not again.candidates.has_vector[again.candidates.ids.index("2606.99999")]


def test_the_blend_goes_from_votes_to_personal_and_explains_both_parts(demo_store: Store) -> None:
    library = [f for f in demo_store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]
    ranking = foryou.rank_period(demo_store, signals(*((f.id, "saved") for f in library)), DAY, DAY)
    voted = ranking.ids[ranking.order[-1]]  # the worst personal fit has the most votes
    upvotes = {voted: 10, ranking.ids[ranking.order[1]]: 5}
    community, top = blend.blend(ranking, upvotes, 0)
    assert top == 10 and community[0].paper_id == voted
    personal, _ = blend.blend(ranking, upvotes, 100)
    assert [b.paper_id for b in personal] == [ranking.ids[i] for i in ranking.order]
    half, _ = blend.blend(ranking, upvotes, 50)
    assert half[0].paper_id == ranking.ids[ranking.order[1]]  # 5 votes and a good fit beat either alone
    text = half[0].explain(top, "day")
    assert "community 0.50 (5 upvotes of the day's top 10) × 50%" in text and "personal 1.00" in text
    assert blend.check_weight(60) == 50 and blend.check_weight(1000) == 100


def test_a_member_with_no_signals_gets_an_empty_profile(demo_store: Store) -> None:
    ranking = foryou.rank_period(demo_store, [], DAY, DAY)
    assert ranking.model.profile.empty
    said = reasons(ranking.scores.explain(0), {}, 0)
    assert said[0].kind == "none"


def test_ids_not_in_the_store_are_ignored(demo_store: Store, tmp_path: Path) -> None:
    ranking = foryou.rank_period(demo_store, signals(("9999.99999", "saved")), DAY, DAY)
    assert ranking.model.liked_count == 0


def test_digest_sections_for_many_members_match_each_members_own_ranking(demo_store: Store) -> None:
    from paperfeed.recommend.digest import for_you_sections

    feats = demo_store.listed_features("2026-06-12", "2026-06-15")
    speech = [f.id for f in feats if "speech" in f.title.lower()]
    other = [f.id for f in feats if "diffusion" in f.title.lower()][:8]
    members = {
        1: signals(*((pid, "saved") for pid in speech)),
        2: signals((speech[0], "less"), *((pid, "more") for pid in other)),
        3: signals(("9999.99999", "saved")),
    }
    picked = for_you_sections(demo_store, DAY, DAY, list(members), rows(members), 10)
    for member in (1, 2):
        own = foryou.rank_period(demo_store, members[member], DAY, DAY)
        assert [p.paper_id for p in picked[member]] == [own.ids[i] for i in own.order[:10]]
        assert all(p.reasons for p in picked[member])
    assert picked[3] == []


def test_batched_digest_sections_give_each_member_the_order_scores_and_reasons_of_their_page(
    demo_store: Store,
) -> None:
    """Many members of every shape (1, 2 or 200 liked papers, "less" ratings, liked papers in the day's own feed)
    scored together by the batched path: the very order, scores and reasons the member's own ranking gives."""
    import random

    from paperfeed.recommend.digest import for_you_sections

    rng = random.Random(3)
    before = [f.id for f in demo_store.listed_features("2026-05-01", "2026-06-15")]
    today = [f.id for f in demo_store.listed_features(DAY, DAY)]
    members: dict[int, list[Signal]] = {}
    tags: dict[int, dict[str, list[str]]] = {}
    for m in range(60):
        size = rng.choice([1, 2, 3, 20, 80, 200])
        papers = rng.sample(before, size) + (rng.sample(today, 3) if m % 3 == 0 else [])
        did = ["less" if m % 4 == 0 and i < 2 else rng.choice(["saved", "more", "upvote"])
               for i in range(len(papers))]  # fmt: skip
        members[m] = signals(*zip(papers, did, strict=True))
        if m % 2:  # half of them tag most of their papers with one or two of three tags
            tags[m] = {pid: sorted(rng.sample(["a", "b", "c"], rng.choice([1, 2]))) for pid in papers
                       if rng.random() < 0.8}  # fmt: skip
    picked = for_you_sections(demo_store, DAY, DAY, list(members), rows(members), 10, tags)
    # as digests do: the strongest reason only
    first = for_you_sections(demo_store, DAY, DAY, list(members), rows(members), 10, tags, first_reason=True)
    named = 0
    for m, sigs in members.items():
        own = foryou.rank_period(demo_store, sigs, DAY, DAY, tags=tags.get(m))
        assert [p.paper_id for p in picked[m]] == [own.ids[i] for i in own.order[:10]], m
        for p, one, i in zip(picked[m], first[m], own.order[:10], strict=True):
            assert p.score == pytest.approx(float(own.scores.total[i]), abs=1e-6)
            assert p.reasons == own.why(i)
            assert (one.paper_id, one.reasons) == (p.paper_id, p.reasons[:1])
            named += p.reasons[0].kind == "tag"
    assert named >= 50  # the tags were named, and named alike on both paths
    # a digest run feeds its members a chunk at a time, its pool growing with the papers each chunk names
    from paperfeed.recommend.digest import ForYouRun

    run = ForYouRun(demo_store, DAY, DAY, 10)
    ids = list(members)
    chunked = run.sections(ids[:25], rows({m: members[m] for m in ids[:25]}), tags)
    chunked |= run.sections(ids[25:], rows({m: members[m] for m in ids[25:]}), tags)
    assert chunked == picked
    # papers too many to keep their cosines for the run: each group of members gets its own, the same numbers
    from paperfeed.recommend import digest

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(digest, "GROUP_CELLS", 400 * len(today))
        small = ForYouRun(demo_store, DAY, DAY, 10)
        assert small.sections(ids, rows(members), tags) == picked and small.sims is None


def test_digest_sections_read_signals_as_a_members_page_does(demo_store: Store) -> None:
    """The newest signal per paper counts ("less" after "more", "more" after "less"), the newest 500 papers only,
    ids the store does not have are skipped, a member with no signals gets nothing: on the batched path as on the
    member's own."""
    from paperfeed.recommend.digest import for_you_sections

    before = [f.id for f in demo_store.listed_features("2026-05-01", "2026-06-15")]
    members = {
        7: signals((before[0], "less"), (before[1], "more"), (before[0], "saved"), (before[1], "less"),
                   *((pid, "saved") for pid in before[2:30]), ("9999.99999", "saved"), (before[5], "upvote")),
        3: signals(*((pid, "saved") for pid in before[:650]), *((pid, "less") for pid in before[650:700])),
        5: signals(("9999.99999", "saved")),
    }  # fmt: skip
    picked = for_you_sections(demo_store, DAY, DAY, [7, 3, 5, 11], rows(members), 10)
    for m in (7, 3):
        own = foryou.rank_period(demo_store, members[m], DAY, DAY)
        assert [p.paper_id for p in picked[m]] == [own.ids[i] for i in own.order[:10]], m
        assert [p.reasons for p in picked[m]] == own.why_many(own.order[:10])
    assert foryou.rank_period(demo_store, members[3], DAY, DAY).model.disliked_count == 0  # past the newest 500
    assert picked[5] == [] and picked[11] == []
    assert for_you_sections(demo_store, DAY, DAY, [1], [], 10) == {1: []}


def test_similar_to_a_set_of_papers_leaves_the_set_out_and_says_why(demo_store: Store) -> None:
    from paperfeed.recommend.similar import similar_to_papers

    speech = [f.id for f in demo_store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]
    found = similar_to_papers(demo_store, speech, 10)
    assert len(found) == 10 and not {s.paper_id for s in found} & set(speech)
    papers = demo_store.get_papers([s.paper_id for s in found[:5]])
    assert sum("speech" in (p.title + p.abstract).lower() for p in papers.values()) >= 3
    assert found[0].reasons[0].kind == "close"
    tagged = similar_to_papers(demo_store, speech, 10, tags={pid: ["speech"] for pid in speech})
    assert [s.paper_id for s in tagged] == [s.paper_id for s in found]
    assert tagged[0].reasons[0].kind == "tag" and tagged[0].reasons[0].tag == "speech"
    assert tagged[0].reasons[1:] == found[0].reasons
    assert similar_to_papers(demo_store, ["9999.99999"]) == []
    with pytest.raises(BadInput):
        similar_to_papers(demo_store, speech, 0)


def test_signals_of_many_members_are_each_members_own(store: Store) -> None:
    store.upsert_papers(
        [Paper(id=f"2606.0000{i}", version=1, title=f"Paper {i}", abstract="A.", authors=["A B"], categories=["cs.CL"],
               announced=DAY, listing_days={DAY: "new"}, source="test") for i in range(4)]
    )  # fmt: skip
    ada = store.create_user("ada", None, "x", "member", "2026-07-01T00:00:00+00:00")
    bob = store.create_user("bob", None, "x", "member", "2026-07-01T00:00:00+00:00")
    store.save_paper(ada.id, "2606.00000", "2026-07-01T01:00:00+00:00")
    store.set_rating(ada.id, "2606.00001", -1, "2026-07-01T02:00:00+00:00")
    store.set_rating(bob.id, "2606.00002", 1, "2026-07-01T03:00:00+00:00")
    store.set_vote(bob.id, "2606.00003", True, "2026-07-01T04:00:00+00:00")
    many = store.signal_rows_many([bob.id, ada.id, 999])
    assert many == [(m, s.paper_id, s.kind) for m in sorted((ada.id, bob.id)) for s in store.interest_signals(m)]
    assert [kind for m, _, kind in many if m == bob.id] == ["upvote", "more"]
    store.upsert_papers([], deleted=["2606.00001"])  # a digest run reads it still; its ranking knows live papers only
    assert store.signal_rows_many([ada.id]) == [(ada.id, "2606.00001", "less"), (ada.id, "2606.00000", "saved")]
    store.update_entry(ada.id, "2606.00000", "2026-07-01T05:00:00+00:00", add_tags=["speech", "asr"])
    store.update_entry(bob.id, "2606.00002", "2026-07-01T05:00:00+00:00", add_tags=["vision"])
    tags = store.member_tags_many([ada.id, bob.id, 999])
    assert tags == {ada.id: store.member_tags(ada.id), bob.id: store.member_tags(bob.id)}
    assert tags[ada.id] == {"2606.00000": ["asr", "speech"]}
