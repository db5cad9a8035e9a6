"""The store's "what changed" version: every write a public page can show moves it, reads and no-ops do not."""

from __future__ import annotations

from paperfeed.papers import Paper
from paperfeed.store import Store

NOW = "2026-11-20T10:00:00Z"


def _paper(pid: str, **extra: object) -> Paper:
    fields: dict[str, object] = {
        "title": "A paper",
        "abstract": "An abstract.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.LG"],
        "submitted": "2026-11-18",
        "listing_days": {"2026-11-20": "new"},
        "source": "arxiv-api",
        **extra,
    }
    return Paper(id=pid, **fields)  # type: ignore[arg-type]


def test_every_public_change_moves_the_version_and_nothing_else_does(store: Store) -> None:
    seen = [store.content_version()]

    def moved() -> bool:
        seen.append(store.content_version())
        return seen[-1] != seen[-2]

    store.upsert_papers([_paper("2611.00001"), _paper("2611.00002")])
    assert moved()
    store.upsert_papers([_paper("2611.00001")])
    assert not moved(), "re-ingesting the same data changes nothing"
    store.upsert_papers([_paper("2611.00001", source="hf-daily", signals={"upvotes": 7})])
    assert moved(), "an HF upvote count changes the feed's order without a new paper seq"
    member = store.create_user("ada", None, "hash", "member", NOW)
    assert not moved(), "a new member shows on no public page"
    store.set_vote(member.id, "2611.00001", True, NOW)
    assert moved()
    store.set_vote(member.id, "2611.00001", True, NOW)
    assert not moved(), "the same vote twice is one vote"
    store.set_vote(member.id, "2611.00001", False, NOW)
    assert moved()
    comment = store.add_comment(member.id, "2611.00002", "Nice.", NOW)
    assert moved()
    store.set_comment_hidden(comment, member.id, "Spam", NOW)
    assert moved()
    store.add_submission("2611.00002", member.id, "2026-11-21", NOW)
    assert moved()
    store.remove_submission("2611.00002", member.id, NOW)
    assert moved()
    store.set_blocked(member.id, None, NOW)
    assert moved()
    store.upsert_papers([], deleted=["2611.00002"])
    assert moved()
    store.get_papers(["2611.00001"])
    store.activity(["2611.00001"])
    assert not moved()
    assert len(set(seen)) == len(seen) - 4  # four no-ops above; every other step a new version
