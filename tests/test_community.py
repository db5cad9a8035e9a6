"""The community rules without HTTP: accounts, sessions, API tokens, rate limits, votes, comments, submissions and
moderation, on a real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher

from paperfeed.community import rules, trending
from paperfeed.errors import BadInput, Forbidden, NotFound, RateLimited, Unauthorized
from paperfeed.papers import Paper
from paperfeed.store import Store
from paperfeed.store.community import User

PASSWORD = "correct horse battery"
DAY = "2026-11-20"
# A fixed clock for rate limits: 1_800_000_000 is a multiple of 300, 600 and 3600, so windows start there.
NOW = 1_800_000_060


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the rules are the same, each hash costs a millisecond instead of 0.1 s."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(rules, "_hasher", fast)
    monkeypatch.setattr(rules, "_DUMMY_HASH", fast.hash("dummy"))


def paper(pid: str, title: str = "A paper", **extra: object) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract="An abstract.",
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        submitted="2026-11-18",
        announced=DAY,
        listing_days={DAY: "new"},
        source="test",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def papers(store: Store) -> Store:
    store.upsert_papers([paper("2611.00001"), paper("2611.00002"), paper("hep-th/9901001", "Old strings")])
    return store


def member(store: Store, name: str, role: str | None = None) -> User:
    """A member signed up with PASSWORD (the first is the admin), then given ``role`` if one is named."""
    user = rules.sign_up(store, name, PASSWORD)
    if role is not None and role != user.role:
        store.set_role(user.id, role)
    found = store.user_by_id(user.id)
    assert found is not None
    return found


# -- accounts ----------------------------------------------------------------------------------------------------
def test_first_member_becomes_admin_later_ones_members(store: Store) -> None:
    first = rules.sign_up(store, "alice", PASSWORD, "alice@example.org")
    second = rules.sign_up(store, "bob", PASSWORD)
    assert (first.role, second.role) == ("admin", "member")
    assert first.is_moderator and not second.is_moderator
    assert (first.email, second.email) == ("alice@example.org", None)
    assert store.count_users() == 2


def test_passwords_are_stored_as_argon2_hashes(store: Store) -> None:
    rules.sign_up(store, "alice", PASSWORD)
    found = store.password_hash("alice")
    assert found is not None
    assert found[1].startswith("$argon2id$") and PASSWORD not in found[1]


@pytest.mark.parametrize(
    ("name", "password", "email", "where"),
    [
        ("a", PASSWORD, None, "name"),  # too short
        ("x" * 33, PASSWORD, None, "name"),  # too long
        ("-alice", PASSWORD, None, "name"),  # must start with a letter or digit
        ("al ice", PASSWORD, None, "name"),
        ("<script>", PASSWORD, None, "name"),
        ("admin", PASSWORD, None, "name"),  # reserved
        ("Settings", PASSWORD, None, "name"),  # reserved, any case
        ("alice", "short", None, "password"),
        ("alice", "x" * 1025, None, "password"),
        ("alice", PASSWORD, "not-an-email", "email"),
        ("alice", PASSWORD, "a@b", "email"),
        ("alice", PASSWORD, "<a@b.org>", "email"),
    ],
)
def test_sign_up_refuses_bad_input_naming_the_field(
    store: Store, name: str, password: str, email: str | None, where: str
) -> None:
    with pytest.raises(BadInput) as caught:
        rules.sign_up(store, name, password, email)
    assert caught.value.where == where
    assert store.count_users() == 0


@pytest.mark.parametrize(
    ("name", "email", "where"),
    [("alice", None, "name"), ("ALICE", None, "name"), ("carol", "Alice@Example.org", "email")],
)
def test_names_and_emails_are_unique_ignoring_case(store: Store, name: str, email: str | None, where: str) -> None:
    rules.sign_up(store, "alice", PASSWORD, "alice@example.org")
    with pytest.raises(BadInput) as caught:
        store.create_user(name, email, "x", "member", rules.now_iso())
    assert caught.value.where == where
    assert "already taken" in caught.value.reason
    assert store.count_users() == 1


@pytest.mark.parametrize("login", ["alice", "ALICE", " alice ", "alice@example.org", "Alice@Example.ORG"])
def test_log_in_by_name_or_email(store: Store, login: str) -> None:
    rules.sign_up(store, "alice", PASSWORD, "alice@example.org")
    assert rules.log_in(store, login, PASSWORD).name == "alice"


@pytest.mark.parametrize(("login", "password"), [("alice", "wrong password!"), ("nobody", PASSWORD), ("", PASSWORD)])
def test_log_in_failures_all_say_the_same_vague_thing(store: Store, login: str, password: str) -> None:
    rules.sign_up(store, "alice", PASSWORD)
    with pytest.raises(Unauthorized) as caught:
        rules.log_in(store, login, password)
    assert str(caught.value) == "wrong name or password"


def test_blocked_member_cannot_log_in_and_loses_sessions_and_tokens(store: Store) -> None:
    admin = member(store, "alice")
    bob = member(store, "bob")
    session = rules.start_session(store, bob, 30)
    token = rules.create_api_token(store, bob, "script")
    assert rules.session_user(store, session) == bob
    assert rules.api_token_user(store, token) == bob
    blocked = rules.block_member(store, admin, "bob")
    assert blocked.blocked
    with pytest.raises(Forbidden, match="blocked"):
        rules.log_in(store, "bob", PASSWORD)
    assert rules.session_user(store, session) is None
    assert rules.api_token_user(store, token) is None
    with pytest.raises(Forbidden):
        rules.require_member(blocked)


def test_unblocking_lets_the_member_back_in(store: Store) -> None:
    admin = member(store, "alice")
    member(store, "bob")
    rules.block_member(store, admin, "bob")
    rules.block_member(store, admin, "bob", block=False)
    assert rules.log_in(store, "bob", PASSWORD).blocked_at is None


def test_change_password(store: Store) -> None:
    alice = member(store, "alice")
    with pytest.raises(Unauthorized):
        rules.change_password(store, alice, "not my password", "a brand new password")
    with pytest.raises(BadInput) as caught:
        rules.change_password(store, alice, PASSWORD, "short")
    assert caught.value.where == "password"
    rules.log_in(store, "alice", PASSWORD)  # neither attempt changed it
    rules.change_password(store, alice, PASSWORD, "a brand new password")
    assert rules.log_in(store, "alice", "a brand new password").id == alice.id
    with pytest.raises(Unauthorized):
        rules.log_in(store, "alice", PASSWORD)


def test_sessions_start_end_and_expire(store: Store) -> None:
    alice = member(store, "alice")
    token = rules.start_session(store, alice, 30)
    assert len(token) >= 40
    assert rules.session_user(store, token) == alice
    assert rules.session_user(store, token + "x") is None
    assert rules.session_user(store, None) is None
    assert rules.session_user(store, "") is None
    # Only the digest is stored, never the token itself.
    assert store.db.query("SELECT token_hash FROM sessions") == [(rules.digest(token),)]
    rules.end_session(store, token)
    assert rules.session_user(store, token) is None
    expired = rules.start_session(store, alice, 0)  # expires the moment it starts
    assert rules.session_user(store, expired) is None


def test_api_tokens_have_a_prefix_are_stored_hashed_and_revocable(store: Store) -> None:
    alice = member(store, "alice")
    token = rules.create_api_token(store, alice, "  my script  ")
    assert token.startswith("pf_")
    assert rules.api_token_user(store, token) == alice
    assert rules.api_token_user(store, token[3:]) is None  # without the prefix it is not ours
    assert rules.api_token_user(store, "pf_nonsense") is None
    (listed,) = store.api_tokens(alice.id)
    assert listed.name == "my script" and listed.last_used_at is not None
    assert store.db.query("SELECT token_hash FROM api_tokens") == [(rules.digest(token),)]
    with pytest.raises(NotFound):  # only its member may revoke it
        rules.revoke_api_token(store, member(store, "bob"), listed.id)
    with pytest.raises(Unauthorized):
        rules.revoke_api_token(store, None, listed.id)
    rules.revoke_api_token(store, alice, listed.id)
    assert rules.api_token_user(store, token) is None
    assert store.api_tokens(alice.id) == []
    with pytest.raises(NotFound):
        rules.revoke_api_token(store, alice, listed.id)


def test_a_token_name_is_cut_and_defaulted(store: Store) -> None:
    alice = member(store, "alice")
    rules.create_api_token(store, alice, "   ")
    rules.create_api_token(store, alice, "n" * 100)
    assert [t.name for t in store.api_tokens(alice.id)] == ["token", "n" * 64]


# -- rate limits ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", sorted(rules.RATE_LIMITS))
def test_rate_limit_allows_the_limit_then_refuses_until_the_window_ends(store: Store, action: str) -> None:
    limit, window = rules.RATE_LIMITS[action]
    start = 1_800_000_000  # a window boundary for every limit
    for i in range(limit):
        rules.check_rate(store, action, "1.2.3.4", now=start + i)
    with pytest.raises(RateLimited) as caught:
        rules.check_rate(store, action, "1.2.3.4", now=start + limit)
    assert caught.value.retry_after == window - limit
    assert caught.value.http_status == 429
    rules.check_rate(store, action, "5.6.7.8", now=start + limit)  # another client has its own count
    rules.check_rate(store, "login" if action != "login" else "signup", "1.2.3.4", now=start + limit)
    rules.check_rate(store, action, "1.2.3.4", now=start + window)  # the next window starts afresh


def test_rate_limit_uses_the_clock_when_not_given_one(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "time", SimpleNamespace(time=lambda: NOW))
    for _ in range(10):
        rules.check_rate(store, "login", "x")
    with pytest.raises(RateLimited) as caught:
        rules.check_rate(store, "login", "x")
    assert caught.value.retry_after == 300 - 60


def test_sign_up_log_in_and_password_changes_count_against_the_client(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rate limits live in the rules, so every door that passes the client's address gets them."""
    monkeypatch.setattr(rules, "time", SimpleNamespace(time=lambda: NOW))
    for i in range(5):
        rules.sign_up(store, f"member{i}", PASSWORD, client="1.2.3.4")
    with pytest.raises(RateLimited):
        rules.sign_up(store, "member5", PASSWORD, client="1.2.3.4")
    rules.sign_up(store, "member5", PASSWORD, client="5.6.7.8")
    for _ in range(10):
        rules.log_in(store, "member0", PASSWORD, client="1.2.3.4")
    with pytest.raises(RateLimited):
        rules.log_in(store, "member0", PASSWORD, client="1.2.3.4")  # even with the right password
    member0 = rules.log_in(store, "member0", PASSWORD, client="5.6.7.8")
    for _ in range(10):  # a password change's guesses count per client and member, apart from log-ins
        with pytest.raises(Unauthorized):
            rules.change_password(store, member0, "a wrong guess", "a brand new password", client="1.2.3.4")
    with pytest.raises(RateLimited):
        rules.change_password(store, member0, PASSWORD, "a brand new password", client="1.2.3.4")
    rules.log_in(store, "member0", PASSWORD)  # unchanged


def test_a_closed_site_takes_no_sign_ups(store: Store) -> None:
    with pytest.raises(BadInput) as caught:
        rules.sign_up(store, "alice", PASSWORD, signups_open=False)
    assert (caught.value.where, caught.value.reason) == ("name", "this site does not take new sign-ups")
    assert store.count_users() == 0


# -- who may act -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "blocked", "member_error", "moderator_error"),
    [
        (None, False, Unauthorized, Unauthorized),
        ("member", False, None, Forbidden),
        ("member", True, Forbidden, Forbidden),
        ("moderator", False, None, None),
        ("moderator", True, Forbidden, Forbidden),
        ("admin", False, None, None),
    ],
)
def test_require_member_and_moderator(
    role: str | None, blocked: bool, member_error: type[Exception] | None, moderator_error: type[Exception] | None
) -> None:
    user = None if role is None else User(1, "x", None, role, DAY, DAY if blocked else None)
    for check, error in ((rules.require_member, member_error), (rules.require_moderator, moderator_error)):
        if error is None:
            assert check(user) is user
        else:
            with pytest.raises(error):
                check(user)


# -- votes ------------------------------------------------------------------------------------------------------------
def test_upvote_is_idempotent_and_can_be_withdrawn(papers: Store) -> None:
    alice, bob = member(papers, "alice"), member(papers, "bob")
    assert rules.upvote(papers, alice, "2611.00001") == rules.VoteResult("2611.00001", True, 1)
    assert rules.upvote(papers, alice, "2611.00001").upvotes == 1
    assert rules.upvote(papers, bob, "2611.00001").upvotes == 2
    assert rules.upvote(papers, alice, "2611.00001", up=False) == rules.VoteResult("2611.00001", False, 1)
    assert rules.upvote(papers, alice, "2611.00001", up=False).upvotes == 1
    assert papers.voted(alice.id, ["2611.00001"]) == set()
    assert papers.voted(bob.id, ["2611.00001", "2611.00002"]) == {"2611.00001"}
    assert papers.activity(["2611.00001"])["2611.00001"].upvotes == 1


def test_upvote_counts_include_hugging_face_upvotes(papers: Store) -> None:
    hf_sighting = paper("2611.00002")
    hf_sighting.source, hf_sighting.signals = "hf-daily", {"upvotes": 7, "num_comments": 2}
    papers.upsert_papers([hf_sighting])
    alice = member(papers, "alice")
    assert rules.upvote(papers, alice, "2611.00002").upvotes == 8
    activity = papers.activity(["2611.00002"])["2611.00002"]
    assert (activity.upvotes, activity.external_upvotes, activity.external_comments) == (1, 7, 2)


@pytest.mark.parametrize("who", [None, "blocked"])
def test_anonymous_and_blocked_cannot_vote(papers: Store, who: str | None) -> None:
    user = None
    if who == "blocked":
        admin = member(papers, "alice")
        member(papers, "bob")
        user = rules.block_member(papers, admin, "bob")
    with pytest.raises((Unauthorized, Forbidden)):
        rules.upvote(papers, user, "2611.00001")
    assert papers.activity(["2611.00001"])["2611.00001"].upvotes == 0


def test_voting_on_an_unknown_paper_is_not_found(papers: Store) -> None:
    with pytest.raises(NotFound):
        rules.upvote(papers, member(papers, "alice"), "2611.99999")


def test_old_style_ids_take_votes(papers: Store) -> None:
    assert rules.upvote(papers, member(papers, "alice"), "hep-th/9901001").upvotes == 1


# -- comments ---------------------------------------------------------------------------------------------------------
def test_comment_is_cleaned_stored_and_counted(papers: Store) -> None:
    alice = member(papers, "alice")
    made = rules.comment(papers, alice, "2611.00001", "  Nice\r\nresult\x00!  ")
    assert (made.author, made.paper_id, made.body) == ("alice", "2611.00001", "Nice\nresult!")
    assert papers.comments_on("2611.00001") == [made]
    assert papers.activity(["2611.00001"])["2611.00001"].comments == 1


@pytest.mark.parametrize("body", ["", "   \n\t ", "\x00\x01", "x" * 5001])
def test_unusable_comments_are_refused(papers: Store, body: str) -> None:
    with pytest.raises(BadInput) as caught:
        rules.comment(papers, member(papers, "alice"), "2611.00001", body)
    assert caught.value.where == "body"
    assert papers.comments_on("2611.00001") == []


def test_comment_rate_limit_is_per_member(papers: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "time", SimpleNamespace(time=lambda: NOW))
    alice, bob = member(papers, "alice"), member(papers, "bob")
    for i in range(10):
        rules.comment(papers, alice, "2611.00001", f"comment {i}")
    with pytest.raises(RateLimited):
        rules.comment(papers, alice, "2611.00001", "one too many")
    rules.comment(papers, bob, "2611.00001", "bob may still talk")
    assert len(papers.comments_on("2611.00001")) == 11


# -- submissions ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("2611.01234", "2611.01234"),
        ("2611.01234v3", "2611.01234"),
        ("  2611.01234  ", "2611.01234"),
        ("arXiv:2611.01234", "2611.01234"),
        ("arxiv: 2611.01234v2", "2611.01234"),
        ("https://arxiv.org/abs/2611.01234", "2611.01234"),
        ("https://arxiv.org/abs/2611.01234v2", "2611.01234"),
        ("http://arxiv.org/pdf/2611.01234v1.pdf", "2611.01234"),
        ("https://arxiv.org/pdf/2611.01234", "2611.01234"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
    ],
)
def test_parse_paper_ref(ref: str, expected: str) -> None:
    assert rules.parse_paper_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "   ", "hello", "2611", "https://example.org/paper", "12345.678"])
def test_parse_paper_ref_refuses_what_is_not_an_arxiv_id(ref: str) -> None:
    with pytest.raises(BadInput) as caught:
        rules.parse_paper_ref(ref)
    assert caught.value.where == "paper"


class FakeArxiv:
    """``fetch_paper`` stand-in: the papers arXiv "has", and the ids asked for."""

    def __init__(self, *papers: Paper) -> None:
        self.papers = {p.id: p for p in papers}
        self.asked: list[str] = []

    def __call__(self, paper_id: str) -> Paper | None:
        self.asked.append(paper_id)
        return self.papers.get(paper_id)


def test_submit_a_stored_paper_lists_it_on_the_day_with_the_submitter(papers: Store) -> None:
    alice = member(papers, "alice")
    arxiv = FakeArxiv()
    found = rules.submit(papers, alice, "https://arxiv.org/abs/2611.00002v1", arxiv, "2026-11-24")
    assert found.id == "2611.00002"
    assert arxiv.asked == []  # already here: arXiv is not asked
    assert papers.listing("2026-11-24", "2026-11-24")[0] == ["2611.00002"]
    activity = papers.activity(["2611.00002"])["2611.00002"]
    assert activity.submitter == "alice" and activity.submitted_at is not None
    assert papers.submitted_by(alice.id) == ["2611.00002"]


def test_submit_fetches_a_new_paper_from_arxiv(papers: Store) -> None:
    new = paper("2611.05555", "Fresh from arXiv")
    arxiv = FakeArxiv(new)
    found = rules.submit(papers, member(papers, "alice"), "arXiv:2611.05555v2", arxiv, "2026-11-24")
    assert arxiv.asked == ["2611.05555"]
    assert found.title == "Fresh from arXiv"
    assert papers.get_paper("2611.05555").title == "Fresh from arXiv"


def test_submit_unknown_to_arxiv_is_not_found_and_stores_nothing(papers: Store) -> None:
    with pytest.raises(NotFound, match=r"arXiv has no paper 2611\.09999"):
        rules.submit(papers, member(papers, "alice"), "2611.09999", FakeArxiv(), "2026-11-24")
    assert papers.get_papers(["2611.09999"]) == {}
    assert papers.listing("2026-11-24", "2026-11-24") == ([], 0)


def test_duplicate_submission_names_the_submitter_and_removed_ones_can_come_back(papers: Store) -> None:
    alice, bob = member(papers, "alice"), member(papers, "bob")
    rules.submit(papers, alice, "2611.00001", FakeArxiv(), "2026-11-24")
    with pytest.raises(BadInput) as caught:
        rules.submit(papers, bob, "2611.00001v2", FakeArxiv(), "2026-11-24")
    assert caught.value.where == "paper" and "already submitted by alice" in caught.value.reason
    rules.remove_submission(papers, alice, "2611.00001")  # alice is the admin
    assert papers.listing("2026-11-24", "2026-11-24") == ([], 0)
    assert papers.activity(["2611.00001"])["2611.00001"].submitter is None
    rules.submit(papers, bob, "2611.00001", FakeArxiv(), "2026-11-25")
    assert papers.activity(["2611.00001"])["2611.00001"].submitter == "bob"


def test_submit_rate_limit(papers: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "time", SimpleNamespace(time=lambda: NOW))
    alice = member(papers, "alice")
    rules.submit(papers, alice, "2611.00001", FakeArxiv(), DAY)
    for _ in range(19):  # duplicates count as attempts too
        with pytest.raises(BadInput):
            rules.submit(papers, alice, "2611.00001", FakeArxiv(), DAY)
    with pytest.raises(RateLimited) as caught:
        rules.submit(papers, alice, "2611.00002", FakeArxiv(), DAY)
    assert caught.value.retry_after == 3600 - 60


# -- moderation -------------------------------------------------------------------------------------------------------
def test_hiding_a_comment_hides_it_from_readers_and_the_count(papers: Store) -> None:
    admin, bob = member(papers, "alice"), member(papers, "bob")
    spam = rules.comment(papers, bob, "2611.00001", "buy my stuff")
    keep = rules.comment(papers, bob, "2611.00001", "a real remark")
    hidden = rules.hide_comment(papers, admin, spam.id, "  Spam  ")
    assert hidden.hidden_at is not None and hidden.hidden_reason == "Spam"
    assert papers.comments_on("2611.00001") == [keep]
    assert [c.id for c in papers.comments_on("2611.00001", include_hidden=True)] == [spam.id, keep.id]
    assert papers.activity(["2611.00001"])["2611.00001"].comments == 1
    rules.hide_comment(papers, admin, spam.id, "again")  # hiding twice does not count twice
    assert papers.activity(["2611.00001"])["2611.00001"].comments == 1
    shown = rules.hide_comment(papers, admin, spam.id, None, hide=False)
    assert shown.hidden_at is None and shown.hidden_reason is None
    assert papers.activity(["2611.00001"])["2611.00001"].comments == 2


def test_a_blocked_members_comments_disappear(papers: Store) -> None:
    admin, bob = member(papers, "alice"), member(papers, "bob")
    rules.comment(papers, bob, "2611.00001", "hello")
    rules.block_member(papers, admin, "bob")
    assert papers.comments_on("2611.00001") == []
    assert len(papers.comments_on("2611.00001", include_hidden=True)) == 1


Action = Callable[[Store, User, int], object]
ACTIONS: dict[str, Action] = {
    "hide": lambda s, u, comment_id: rules.hide_comment(s, u, comment_id, "Spam"),
    "remove": lambda s, u, comment_id: rules.remove_submission(s, u, "2611.00002"),
    "block": lambda s, u, comment_id: rules.block_member(s, u, "carol"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize(("role", "allowed"), [("member", False), ("moderator", True), ("admin", True)])
def test_only_moderators_moderate(papers: Store, action: str, role: str, allowed: bool) -> None:
    member(papers, "alice")  # the admin
    actor = member(papers, "bob", role) if role != "admin" else member(papers, "dave", "admin")
    carol = member(papers, "carol")
    made = rules.comment(papers, carol, "2611.00001", "hello")
    rules.submit(papers, carol, "2611.00002", FakeArxiv(), DAY)
    if allowed:
        ACTIONS[action](papers, actor, made.id)
    else:
        with pytest.raises(Forbidden):
            ACTIONS[action](papers, actor, made.id)
    changed = {
        "hide": papers.get_comment(made.id).hidden_at is not None,
        "remove": papers.activity(["2611.00002"])["2611.00002"].submitter is None,
        "block": papers.user_by_name("carol").blocked,  # type: ignore[union-attr]
    }
    assert changed == {name: allowed and name == action for name in changed}


@pytest.mark.parametrize(
    ("actor_role", "target_role", "allowed"),
    [
        ("moderator", "admin", False),
        ("moderator", "moderator", False),
        ("admin", "moderator", True),
        ("admin", "admin", False),
    ],
)
def test_who_may_block_whom(store: Store, actor_role: str, target_role: str, allowed: bool) -> None:
    member(store, "alice")
    actor = member(store, "bob", actor_role)
    member(store, "carol", target_role)
    if allowed:
        assert rules.block_member(store, actor, "carol").blocked
    else:
        with pytest.raises(Forbidden):
            rules.block_member(store, actor, "carol")
        assert not store.user_by_name("carol").blocked  # type: ignore[union-attr]


def test_moderating_what_is_not_there(papers: Store) -> None:
    admin = member(papers, "alice")
    with pytest.raises(NotFound):
        rules.hide_comment(papers, admin, 12345, "Spam")
    with pytest.raises(NotFound):
        rules.remove_submission(papers, admin, "2611.00001")
    with pytest.raises(NotFound):
        rules.block_member(papers, admin, "nobody")


# -- trending's formula ----------------------------------------------------------------------------------------------
def test_the_trending_formula_text_and_explanations_come_from_its_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    assert trending.FORMULA == (
        "points = upvotes + 0.5 × comments + 0.5 × HF upvotes + 0.25 × HF comments; score = points / (age h + 2)^1.5"
    )
    entry = trending.TrendingEntry("2611.00001", 0.0, 7.0, 10.0, DAY, 6, 2, 0, 1)
    assert entry.why().startswith("6 upvotes + 2 comments × 0.5 + 1 HF comments × 0.25 = 7 points")
    heavier = tuple(replace(t, weight=2.0) if t.field == "comments" else t for t in trending.TERMS)
    monkeypatch.setattr(trending, "TERMS", heavier)
    assert entry.why().startswith("6 upvotes + 2 comments × 2 + 1 HF comments × 0.25")
