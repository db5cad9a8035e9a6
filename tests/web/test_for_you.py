"""For you over HTTP on a real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG) holding the demo corpus (its
shipped vectors primed into the embedding cache, so nothing is embedded): the blend control on the feed pages
(without JavaScript, remembered per member), the reasons under each paper, the For-you tab, the JSON API, the
private For-you feed and the For-you section of a digest.
"""

from __future__ import annotations

import re

import pytest

from paperfeed.demo import load_demo, prime_cache
from paperfeed.digests.compose import compose_period
from paperfeed.digests.subscriptions import subscribe
from paperfeed.ingest.writer import ingest
from paperfeed.periods import parse_period
from paperfeed.recommend import foryou
from paperfeed.search.indexes import indexes_for
from web_support import Browser, Site, listed

DAY = "2026-06-16"
PAGE = f"/papers/date/{DAY}"


@pytest.fixture
def demo_site(site: Site) -> Site:
    ingest(site.store, load_demo())
    indexes = indexes_for(site.store)
    prime_cache(indexes.cache, indexes.model)
    indexes.sync()
    foryou.forget_candidates()
    return site


def speech_papers(site: Site) -> list[str]:
    return [f.id for f in site.store.listed_features("2026-06-12", "2026-06-15") if "speech" in f.title.lower()]


@pytest.fixture
def reader(demo_site: Site, alice: Browser) -> Browser:
    """alice, who upvoted the speech papers of the days before DAY (upvotes are interest signals)."""
    for pid in speech_papers(demo_site):
        assert alice.post(f"/papers/{pid}/vote", {"up": "1"}).status_code == 303
    return alice


def about_speech(site: Site, ids: list[str]) -> int:
    papers = site.store.get_papers(ids)
    return sum("speech" in (papers[i].title + papers[i].abstract).lower() for i in ids)


def test_the_blend_control_reorders_the_day_and_is_remembered(demo_site: Site, reader: Browser) -> None:
    anonymous = listed(demo_site.browser().get(PAGE))
    page = reader.get(PAGE)
    assert listed(page) == anonymous  # nobody chose a blend: the community's order
    assert 'name="weight" value="0" checked' in page.text and "Order: community ↔ personal" in page.text
    assert 'class="blend-form" method="post" action="/for-you/blend"' in page.text  # a plain form: no JS needed
    moved = reader.post("/for-you/blend", {"weight": "100", "next": PAGE})
    assert (moved.status_code, moved.headers["location"]) == (303, PAGE)
    personal = reader.get(PAGE)
    top = listed(personal)[:5]
    assert top != anonymous[:5] and about_speech(demo_site, top) >= 3
    assert 'name="weight" value="100" checked' in personal.text
    assert "Close to “" in personal.text and "in your library" in personal.text
    assert "community 0.00 (0 upvotes) × 0% + personal 1.00" in personal.text
    assert listed(reader.get("/"))[:1] != []  # the home page too, with the remembered blend
    half = reader.get(PAGE + "?blend=50")  # a page may ask for another blend without changing the remembered one
    assert 'name="weight" value="50" checked' in half.text
    assert 'name="weight" value="100" checked' in reader.get(PAGE).text
    assert listed(demo_site.browser().get(PAGE)) == anonymous  # other visitors are unaffected


def test_visitors_get_no_blend_and_the_tab_asks_them_to_log_in(demo_site: Site) -> None:
    visitor = demo_site.browser()
    assert "blend-form" not in visitor.get(PAGE).text
    assert visitor.get("/for-you").status_code == 401


def test_the_for_you_tab_and_the_json_api_explain_both_parts(demo_site: Site, reader: Browser) -> None:
    tab = reader.get(f"/for-you?period={DAY}")
    assert tab.status_code == 200 and "<h1>For you" in tab.text and "learned from" in tab.text
    assert 'aria-label="Similar to your library"' in tab.text
    assert about_speech(demo_site, listed(tab)[:5]) >= 3
    data = reader.get(f"/api/for-you?period={DAY}&blend=50").json()
    assert data["for_you"]["personal_weight"] == 50 and data["for_you"]["applied"] is True
    first = data["papers"][0]["for_you"]
    assert {"score", "community", "personal", "upvotes", "explanation", "reasons"} <= first.keys()
    assert first["reasons"][0]["kind"] in ("close", "author", "category")
    assert reader.get(PAGE, headers={"accept": "application/json"}).json()["for_you"]["personal_weight"] == 0
    csrf = reader.csrf("/")
    put = reader.http.put("/api/for-you/blend", json={"personal_weight": 80}, headers={"X-CSRF-Token": csrf})
    assert put.json() == {"personal_weight": 75}
    assert reader.get("/api/for-you/blend").json() == {"personal_weight": 75}
    similar = reader.get("/api/for-you/similar?limit=5").json()
    assert len(similar) == 5 and not {s["id"] for s in similar} & set(speech_papers(demo_site))
    assert demo_site.browser().get("/api/for-you").status_code == 401


def test_the_private_for_you_feed_says_why(demo_site: Site, reader: Browser) -> None:
    settings = reader.get("/settings").text
    found = re.search(r'href="(/feeds/for-you/[^"]+/feed)\.rss"', settings)
    assert found, "the settings page links the For-you feed"
    feed = demo_site.browser().get(found[1] + ".rss")
    assert feed.status_code == 200 and "For you: " in feed.text
    assert demo_site.browser().get("/feeds/for-you/not-a-token/feed.rss").status_code in (403, 404, 422)


def test_a_digest_has_a_for_you_section_for_a_member(demo_site: Site, reader: Browser) -> None:
    alice = demo_site.store.user_by_name("alice")
    assert alice is not None
    config = demo_site.app.state.site.config
    subscriber = subscribe(demo_site.store, config, "alice@example.org", topics=["foryou"], include_trending=False,
                           user_id=alice.id, confirmed=True)  # fmt: skip
    period = parse_period(DAY)
    ((_, digest),) = list(compose_period(demo_site.store, config, period, [subscriber]))
    assert [s.title for s in digest.sections] == ["For you"]
    entries = digest.sections[0].entries
    assert about_speech(demo_site, [e.paper.id for e in entries[:5]]) >= 3
    assert entries[0].reasons[0].startswith("for you: ")


def test_less_like_this_changes_the_next_page_at_once(demo_site: Site, reader: Browser) -> None:
    reader.post("/for-you/blend", {"weight": "100", "next": PAGE})
    before = listed(reader.get(PAGE))
    alice = demo_site.store.user_by_name("alice")
    assert alice is not None
    demo_site.store.set_rating(alice.id, before[0], -1, "2026-07-01T12:00:00+00:00")
    after = reader.get(PAGE)
    assert before[0] not in listed(after)  # from first to the end of the day's 554
    data = reader.get(f"/api/for-you?period={DAY}&page=19").json()  # the last page
    rated = [p for p in data["papers"] if p["id"] == before[0]]
    assert rated and rated[0]["for_you"]["reasons"][-1]["kind"] == "less"


def test_similar_to_a_collection_shows_public_ones_and_your_own(demo_site: Site, reader: Browser) -> None:
    alice = demo_site.store.user_by_name("alice")
    assert alice is not None
    speech = speech_papers(demo_site)
    now = "2026-07-01T12:00:00+00:00"
    for pid in speech:
        demo_site.store.save_paper(alice.id, pid, now)
    private = demo_site.store.create_collection(alice.id, "speech", "Speech", "", False, now)
    demo_site.store.add_to_collection(private.id, speech, now)
    found = reader.get(f"/api/for-you/collections/{private.id}/similar?limit=5").json()
    assert len(found) == 5 and not {p["id"] for p in found} & set(speech)
    assert found[0]["reasons"][0]["kind"] == "close"
    assert demo_site.browser().get(f"/api/for-you/collections/{private.id}/similar").status_code == 404
    demo_site.store.update_collection(private.id, now, name=None, description=None, public=True)
    assert demo_site.browser().get(f"/api/for-you/collections/{private.id}/similar").status_code == 200


def test_the_tag_that_pulled_a_paper_in_is_named_everywhere(demo_site: Site, reader: Browser) -> None:
    """alice tags the speech papers she upvoted: the For-you tab, its JSON, the private feed, a digest and "similar
    to my library" say "close to N papers you tagged “speech”", and the page links her library by that tag."""
    for pid in speech_papers(demo_site):
        tagged = reader.post(f"/library/{pid}/entry", {"add_tags": "speech"})
        assert tagged.status_code == 303
    tab = reader.get(f"/for-you?period={DAY}")
    assert re.search(r'Close to \d+ papers you tagged <a class="tag" href="/library\?tag=speech">speech</a>', tab.text)
    first = reader.get(f"/api/for-you?period={DAY}").json()["papers"][0]["for_you"]["reasons"][0]
    assert first["kind"] == "tag" and first["tag"] == "speech"
    assert first["text"] == f"Close to {len(first['papers'])} papers you tagged “speech”"
    assert set(first["papers"]) <= set(speech_papers(demo_site))
    similar = reader.get("/api/for-you/similar?limit=5").json()
    assert similar[0]["reasons"][0]["kind"] == "tag"
    found = re.search(r'href="(/feeds/for-you/[^"]+/feed)\.rss"', reader.get("/settings").text)
    assert found
    assert "papers you tagged “speech”" in demo_site.browser().get(found[1] + ".rss").text
    alice = demo_site.store.user_by_name("alice")
    assert alice is not None
    subscriber = subscribe(demo_site.store, demo_site.app.state.site.config, "alice@example.org", topics=["foryou"],
                           include_trending=False, user_id=alice.id, confirmed=True)  # fmt: skip
    ((_, digest),) = list(compose_period(demo_site.store, demo_site.app.state.site.config, parse_period(DAY),
                                         [subscriber]))  # fmt: skip
    assert re.fullmatch(r"for you: Close to \d+ papers you tagged “speech”", digest.sections[0].entries[0].reasons[0])
