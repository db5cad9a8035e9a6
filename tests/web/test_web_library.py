"""The library's doors over HTTP, as a person and a script use them: save buttons on every list (one query per page,
not per paper), the library page and its filters, tags, notes and ratings, imports with their report, exports,
collections (pages, feeds, exports, the Hugging Face JSON, hand ordering), the account page, and the JSON API."""

from __future__ import annotations

import re

import bibtexparser
import feedparser
import orjson
import rispy

from web_support import Browser, Site, paper, snapshot

DAY = "2026-11-20"


def fill(site: Site) -> None:
    site.add(
        paper("2611.00001", "Diffusion models for proteins", DAY),
        paper("2611.00002", "Gaussian splatting in real time", DAY, authors=["Grace Hopper"]),
        paper("2611.00003", "Sparse attention at scale", DAY),
        paper("hep-th/9901001", "Old strings", DAY),
    )


def saved_buttons(html: str) -> dict[str, str]:
    return dict(re.findall(r'action="/library/([^"]+)/(save|unsave)"', html))


def test_every_list_has_a_save_form_that_works_without_javascript(site: Site, alice: Browser) -> None:
    fill(site)
    home = alice.get(f"/papers/date/{DAY}")
    assert saved_buttons(home.text) == {p: "save" for p in ("2611.00001", "2611.00002", "2611.00003", "hep-th/9901001")}
    done = alice.post("/library/hep-th/9901001/save", {"next": f"/papers/date/{DAY}"})
    assert done.status_code == 303 and done.headers["location"] == f"/papers/date/{DAY}"
    after = alice.get(f"/papers/date/{DAY}")
    assert saved_buttons(after.text)["hep-th/9901001"] == "unsave" and "★ Saved" in after.text
    assert alice.get(f"/papers/date/{DAY}", headers={"Accept": "application/json"}).json()["papers"][0]["saved"] in (
        True,
        False,
    )
    paper_page = alice.get("/papers/hep-th/9901001")
    assert 'action="/library/hep-th/9901001/unsave"' in paper_page.text and "Ratings are private" in paper_page.text
    anonymous = site.browser().get(f"/papers/date/{DAY}")
    assert saved_buttons(anonymous.text) == {} and "/login?next=" in anonymous.text
    assert "saved" not in site.browser().get("/", headers={"Accept": "application/json"}).json()["papers"][0]


def test_save_needs_csrf(site: Site, alice: Browser) -> None:
    fill(site)
    assert alice.post("/library/2611.00001/save", csrf="forged").status_code == 403
    assert site.store.library_ids(1) == ([], 0)


def test_a_member_with_no_signals_is_offered_imports_and_categories(site: Site, alice: Browser) -> None:
    fill(site)
    page = alice.get("/library")
    assert "Start your library in a minute" in page.text and 'href="/library/import"' in page.text
    assert 'href="/?category=cs.LG"' in page.text
    assert alice.get("/library", headers={"Accept": "application/json"}).json()["has_signals"] is False
    assert site.browser().get("/library", follow_redirects=False).headers["location"] == "/login?next=/library"


def test_library_page_filters_tags_notes_state_and_ratings(site: Site, alice: Browser) -> None:
    fill(site)
    for pid in ("2611.00001", "2611.00002"):
        alice.post(f"/library/{pid}/save")
    alice.post("/library/2611.00002/entry", {"add_tags": "vision, 3d", "note": "read §4", "state": "read"})
    alice.post("/library/2611.00001/rate", {"value": "-1"})
    page = alice.get("/library?tag=vision")
    assert re.findall(r'class="paper-link" href="/papers/([^"]+)"', page.text) == ["2611.00002"]
    assert 'value="read §4"' in page.text
    data = alice.get("/library?state=read&q=gaussian", headers={"Accept": "application/json"}).json()
    assert [p["id"] for p in data["papers"]] == ["2611.00002"] and data["papers"][0]["tags"] == ["3d", "vision"]
    alice.post("/library/2611.00002/entry", {"remove_tag": "3d"})
    assert site.store.library_entry(1, "2611.00002").tags == ("vision",)  # type: ignore[union-attr]
    assert site.store.ratings_of(1) == {"2611.00001": -1}
    paper_page = alice.get("/papers/2611.00001").text
    assert 'name="value" value="0" aria-pressed="true">− Less like this' in paper_page


def test_import_page_reports_matched_and_unmatched_and_refuses_bad_files(site: Site, alice: Browser) -> None:
    fill(site)
    csrf = alice.csrf("/library/import")
    files = {"file": ("refs.bib", b"@misc{a, title={Old Strings}}\n@misc{b, title={Nothing like it}}\n")}
    page = alice.http.post("/library/import", data={"csrf": csrf, "tags": "zotero"}, files=files)
    assert page.status_code == 200
    assert "1 matched, 1 not found" in page.text and "Nothing like it" in page.text and "by title, line 1" in page.text
    assert site.store.library_entry(1, "hep-th/9901001").tags == ("zotero",)  # type: ignore[union-attr]
    bad = alice.http.post("/library/import", data={"csrf": csrf, "text": "TY  - JOUR\nTI  - Old strings\n"})
    assert bad.status_code == 422 and "line 1" in bad.text and "never ends" in bad.text
    by_author = alice.http.post("/library/import", data={"csrf": csrf, "author": "Grace Hopper"})
    assert "1 matched" in by_author.text


def test_exports_download_as_files(site: Site, alice: Browser) -> None:
    fill(site)
    alice.post("/library/2611.00001/entry", {"add_tags": "bio"})
    bib = alice.get("/library/export.bib")
    assert bib.headers["content-disposition"] == 'attachment; filename="library.bib"'
    assert bibtexparser.parse_string(bib.text).entries[0]["keywords"] == "bio"
    assert rispy.loads(alice.get("/library/export.ris").text)[0]["doi"] == "10.48550/arXiv.2611.00001"
    assert orjson.loads(alice.get("/library/export.json").text)[0]["number"] == "2611.00001"


def test_collections_pages_order_feeds_and_hugging_face_json(site: Site, alice: Browser, bob: Browser) -> None:
    fill(site)
    made = alice.post("/collections", {"name": "Reading group", "public": "1", "paper": "2611.00003"})
    assert made.headers["location"] == "/u/alice/collections/reading-group"
    col = site.store.collection_by_slug("alice", "reading-group")
    assert col is not None
    alice.post("/collections/add", {"collection_id": str(col.id), "paper": "2611.00001"})
    alice.post(f"/collections/{col.id}/papers", {"paper": "2611.00001", "action": "up"})
    page = alice.get("/u/alice/collections/reading-group")
    assert re.findall(r'class="paper-link" href="/papers/([^"]+)"', page.text) == ["2611.00001", "2611.00003"]
    assert "Edit this collection" in page.text
    seen_by_bob = bob.get("/u/alice/collections/reading-group")
    assert seen_by_bob.status_code == 200 and "Edit this collection" not in seen_by_bob.text
    feed = feedparser.parse(site.browser().get("/u/alice/collections/reading-group/feed.atom").content)
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == ["2611.00001", "2611.00003"]
    hf = site.browser().get("/api/collections/alice/reading-group").json()
    assert hf["slug"] == "alice/reading-group" and hf["owner"]["name"] == "alice" and not hf["private"]
    assert [(i["type"], i["id"], i["position"]) for i in hf["items"]] == [
        ("paper", "2611.00001", 0),
        ("paper", "2611.00003", 1),
    ]
    assert bob.post(f"/collections/{col.id}/papers", {"paper": "2611.00002"}).status_code == 404
    alice.post(f"/collections/{col.id}/edit", {"name": "Reading group", "description": "Tuesdays"})
    assert site.browser().get("/u/alice/collections/reading-group").status_code == 404, "private now"
    assert site.browser().get("/api/collections/alice/reading-group").status_code == 404


def test_account_page_says_what_deletion_keeps_and_deletes(site: Site, alice: Browser, bob: Browser) -> None:
    fill(site)
    bob.post("/papers/2611.00001/comments", {"body": "Lovely result"})
    bob.post("/library/2611.00002/save")
    page = bob.get("/account")
    assert "anonymous name" in page.text and "your private ratings" in page.text
    exported = bob.get("/account/export.json")
    assert exported.headers["content-disposition"] == 'attachment; filename="paperfeed-bob.json"'
    assert orjson.loads(exported.content)["library"][0]["paper"] == "2611.00002"
    assert bob.post("/account/delete", {"confirm": "nope"}).status_code == 422
    gone = bob.post("/account/delete", {"confirm": "bob"})
    assert gone.status_code == 303 and bob.logged_in_as() is None
    assert "Lovely result" in alice.get("/papers/2611.00001").text
    assert ">bob<" not in alice.get("/papers/2611.00001").text


def test_the_json_api_for_scripts(site: Site, alice: Browser) -> None:
    fill(site)
    token = alice.post("/settings/tokens", {"name": "script"})
    key = re.search(r"pf_[A-Za-z0-9_\-]+", token.text)
    assert key is not None
    api = site.browser()
    auth = {"Authorization": f"Bearer {key[0]}"}
    put = api.http.put(
        "/api/library/papers/hep-th/9901001", json={"add_tags": ["strings"], "state": "read"}, headers=auth
    )
    assert put.json() == {"paper": "hep-th/9901001", "state": "read", "tags": ["strings"], "note": ""}
    assert api.http.put("/api/ratings/2611.00003", json={"value": 1}, headers=auth).json()["rating"] == 1
    assert api.http.get("/api/ratings", headers=auth).json() == {"2611.00003": 1}
    report = api.http.post("/api/library/import", json={"text": "2611.00001\n2699.00001"}, headers=auth).json()
    assert [m["paper"] for m in report["matched"]] == ["2611.00001"] and report["unmatched"][0]["where"] == "line 2"
    bad = api.http.post("/api/library/import", json={"text": "@misc{x, title={open"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["where"] == "line 1"
    listed = api.http.get("/api/library", headers=auth).json()
    assert {p["id"] for p in listed["papers"]} == {"hep-th/9901001", "2611.00001"}
    made = api.http.post("/api/collections", json={"name": "Strings", "public": True}, headers=auth).json()
    assert made["slug"] == "strings"
    api.http.post("/api/collections/alice/strings/items", json={"paper": "2611.00002"}, headers=auth)
    api.http.post("/api/collections/alice/strings/items", json={"paper": "hep-th/9901001"}, headers=auth)
    order = api.http.put(
        "/api/collections/alice/strings/order", json={"papers": ["hep-th/9901001", "2611.00002"]}, headers=auth
    )
    assert order.json()["papers"] == ["hep-th/9901001", "2611.00002"]
    assert api.http.delete("/api/library/papers/2611.00002", headers=auth).json()["removed"] is True
    assert api.http.get("/api/collections/alice/strings").json()["items"][0]["id"] == "hep-th/9901001"
    assert api.http.get("/api/library/export?format=ris", headers=auth).text.startswith("TY  - GEN")
    assert api.http.get("/api/library").status_code == 401
    spec = api.get("/openapi.json").json()
    assert {"/api/library", "/api/ratings", "/api/collections/{owner}/{slug}"} <= set(spec["paths"])


def test_account_restore_and_delete_refuse_forged_posts_and_change_nothing(
    site: Site, alice: Browser, bob: Browser
) -> None:
    fill(site)
    bob.post("/library/2611.00001/save")
    export = bob.get("/account/export.json").content
    before = snapshot(site.store)
    for token in ("", "0" * 40, alice.csrf()):
        files = {"file": ("me.json", export)}
        assert bob.http.post("/account/restore", data={"csrf": token}, files=files).status_code == 403
        assert bob.http.post("/account/delete", data={"csrf": token, "confirm": "bob"}).status_code == 403
    assert snapshot(site.store) == before and bob.logged_in_as() == "bob"
    bob.post("/library/2611.00001/unsave")
    restored = bob.http.post("/account/restore", data={"csrf": bob.csrf()}, files={"file": ("me.json", export)})
    assert restored.status_code == 200 and "Restored 1 saved paper," in restored.text
    assert snapshot(site.store) == before


def test_the_account_page_restores_votes_and_the_blend_and_says_why_comments_and_subscriptions_stay(
    site: Site, bob: Browser
) -> None:
    fill(site)
    bob.post("/papers/2611.00001/comments", {"body": "Lovely result"})
    bob.post("/papers/2611.00002/vote", {"up": "1"})
    bob.post("/library/2611.00003/save")
    bob.post("/for-you/blend", {"weight": "25", "next": "/"})
    export = bob.get("/account/export.json").content
    page = bob.get("/account")
    assert "at most 20 MB" in page.text and "restoring the same file twice changes nothing" in page.text
    assert "<strong>Comments</strong>: a comment belongs to the discussion it was written in" in page.text
    assert "<strong>Subscriptions</strong>: an email digest is sent only to an address that confirmed" in page.text
    assert bob.get("/account", headers={"Accept": "application/json"}).json()["restore_leaves_out"].keys() == {
        "comments", "subscriptions"
    }  # fmt: skip
    carol = site.browser()
    carol.sign_up("carol")
    for _ in range(2):  # twice: the second changes nothing
        done = carol.http.post("/account/restore", data={"csrf": carol.csrf()}, files={"file": ("me.json", export)})
        assert done.status_code == 200
        assert "Restored 1 saved paper, 0 collections, 0 ratings and 1 upvote, and your blend (25 % personal)." in (
            done.text
        )
        assert "Not restored, as the account page explains: 1 comment." in done.text
        assert site.store.activity(["2611.00002"])["2611.00002"].upvotes == 2  # bob's and carol's
    me = site.store.user_by_name("carol")
    assert me is not None and site.store.personal_weight(me.id) == 25 and site.store.comments_by(me.id) == []


def test_uploads_take_files_up_to_their_limit_and_say_so_past_it(site: Site, alice: Browser) -> None:
    fill(site)
    # a reference manager's export past the 64 KB every other request is held to: imported
    padding = "".join(f"@misc{{pad{i}, title={{A paper this site does not have number {i}}}}}\n" for i in range(1500))
    big = "@misc{one, eprint={2611.00001}, archivePrefix={arXiv}, title={Diffusion models for proteins}}\n" + padding
    assert len(big.encode()) > 64 * 1024
    files = {"file": ("zotero.bib", big.encode())}
    done = alice.http.post("/library/import", data={"csrf": alice.csrf()}, files=files)
    assert done.status_code == 200 and site.store.library_ids(1)[1] == 1
    # past the file's limit: a page (or JSON) that says the limit and what to do, not a bare "Content Too Large"
    huge = {"file": ("huge.bib", b"%" * (5_000_000 + 70_000))}
    refused = alice.http.post("/library/import", data={"csrf": alice.csrf()}, files=huge)
    assert refused.status_code == 413 and "The file is larger than 5 MB" in refused.text
    assert "split it into smaller files" in refused.text and "<html" in refused.text
    as_json = alice.http.post(
        "/library/import", data={"csrf": alice.csrf()}, files=huge, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 413 and as_json.json()["error"].startswith("The file is larger than 5 MB")
    # just under the route's limit but over the file's: the import's own check says the same limit
    over = {"file": ("over.bib", b"%" * (5_000_000 + 10))}
    said = alice.http.post("/library/import", data={"csrf": alice.csrf()}, files=over)
    assert said.status_code == 422 and "larger than 5 MB" in said.text
    # anything else is held to 64 KB, and says so
    comment = alice.http.post(
        "/api/papers/2611.00001/comments", json={"body": "x" * 100_000}, headers={"X-CSRF-Token": alice.csrf("/")}
    )
    assert comment.status_code == 413 and comment.json() == {
        "error": "The request is larger than 64 KB, the most this site takes outside file uploads", "status": 413
    }  # fmt: skip


def test_the_json_api_exports_collections_and_restores_an_account(site: Site, alice: Browser, bob: Browser) -> None:
    fill(site)
    alice.post("/library/2611.00001/entry", {"add_tags": "proteins"})
    alice.post("/papers/2611.00002/vote", {"up": "1"})
    alice.post("/collections", {"name": "Reading group", "public": "1"})
    col = site.store.collection_by_slug("alice", "reading-group")
    assert col is not None
    site.store.add_to_collection(col.id, ["2611.00003", "2611.00001"], "2026-11-21T10:00:00+00:00")
    site.store.set_rating(1, "2611.00003", -1, "2026-11-21T11:00:00+00:00")
    ris = alice.get("/api/collections/alice/reading-group/export?format=ris")
    assert ris.headers["content-type"].startswith("application/x-research-info-systems")
    assert [r["doi"] for r in rispy.loads(ris.text)] == ["10.48550/arXiv.2611.00003", "10.48550/arXiv.2611.00001"]
    bib = bibtexparser.parse_string(alice.get("/api/collections/alice/reading-group/export").text)
    assert [e["eprint"] for e in bib.entries] == ["2611.00003", "2611.00001"] and "proteins" in bib.entries[1][
        "keywords"
    ]
    csl = bob.get("/api/collections/alice/reading-group/export?format=csl")
    assert csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    assert [c["number"] for c in csl.json()] == ["2611.00003", "2611.00001"] and "keyword" not in csl.json()[1]
    assert bob.get("/api/collections/alice/reading-group/export?format=docx").status_code == 422
    exported = alice.get("/api/account/export").json()
    csrf = {"X-CSRF-Token": bob.csrf("/")}
    for _ in range(2):
        report = bob.http.post("/api/account/restore", json=exported, headers=csrf).json()
        assert report == {
            "library": 2, "collections": 1, "ratings": 1, "votes": 1, "personal_weight": None, "missing": [],
            "not_restored": {"comments": 0, "subscriptions": 0},
        }  # fmt: skip
    mine = bob.get("/api/collections/bob/reading-group").json()
    assert [i["id"] for i in mine["items"]] == ["2611.00003", "2611.00001"]
    assert bob.get("/api/ratings").json() == {"2611.00003": -1}
    bad = bob.http.post("/api/account/restore", json={**exported, "format": "zotero"}, headers=csrf)
    assert bad.status_code == 422
    assert bob.http.post("/api/account/restore", json=exported).status_code == 403  # a cookie without its token
    spec = bob.get("/openapi.json").json()["paths"]
    export_doc = spec["/api/collections/{owner}/{slug}/export"]["get"]["responses"]
    assert {
        "application/x-bibtex",
        "application/x-research-info-systems",
        "application/vnd.citationstyles.csl+json",
    } <= (export_doc["200"]["content"].keys())
    restore_doc = spec["/api/account/restore"]["post"]
    assert "20 MB" in restore_doc["responses"]["413"]["description"] and "requestBody" in restore_doc
