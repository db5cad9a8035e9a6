"""A paper's machine-made summary on its page (labelled as such) and as ``ai_summary`` / ``ai_keywords`` in the
Hugging Face API, read from what the index job stored; where Hugging Face's own were imported, those are passed on
and shown (labelled as theirs) instead of ours; before the index job has run, there is none (nothing is made inside
a request)."""

from __future__ import annotations

from paperfeed.papers import Paper
from web_support import Site, paper

ABSTRACT = (
    "Road traffic is hard to forecast. We model the road network as a graph whose nodes are sensors. "
    "A graph neural network with message passing predicts congestion an hour ahead from sensor readings. "
    "On two city data sets it beats recurrent baselines."
)


def test_no_summary_before_the_index_job_then_a_labelled_one(site: Site) -> None:
    site.add(paper("2610.30001", "Graph neural networks for traffic", "2026-10-05", abstract=ABSTRACT))
    before = site.browser().get("/api/papers/2610.30001").json()
    assert "ai_summary" not in before and "ai_keywords" not in before
    assert "machine-made" not in site.browser().get("/papers/2610.30001").text
    site.sync()
    page = site.browser().get("/papers/2610.30001")
    assert page.status_code == 200 and "machine-made" in page.text and 'class="keyphrase"' in page.text
    info = site.browser().get("/api/papers/2610.30001").json()
    assert info["ai_summary"] in ABSTRACT and len(info["ai_keywords"]) == 5
    as_json = site.browser().get("/papers/2610.30001", headers={"Accept": "application/json"}).json()
    assert as_json["machine_summary"]["ai_summary"] == info["ai_summary"]
    (daily,) = site.browser().get("/api/daily_papers", params={"date": "2026-10-05"}).json()
    assert daily["paper"]["ai_summary"] == info["ai_summary"] == daily["ai_summary"]
    listed = [p for p in site.browser().get("/api/papers").json() if p["id"] == "2610.30001"]
    assert listed[0]["ai_keywords"] == info["ai_keywords"]


def test_hugging_faces_own_summary_is_passed_on_instead(site: Site) -> None:
    theirs = "A summary Hugging Face wrote."
    site.add(
        Paper(
            **{
                **paper("2610.30002", "Graph neural networks for traffic", "2026-10-05", abstract=ABSTRACT).__dict__,
                "source": "hf-daily",
                "signals": {"ai_summary": theirs, "ai_keywords": ["traffic"]},
            }
        )
    )
    site.sync()
    info = site.browser().get("/api/papers/2610.30002").json()
    assert (info["ai_summary"], info["ai_keywords"]) == (theirs, ["traffic"])
    page = site.browser().get("/papers/2610.30002")
    assert "machine-made by Hugging Face" in page.text and theirs in page.text
    assert "Picked from the abstract" not in page.text
    as_json = site.browser().get("/papers/2610.30002", headers={"Accept": "application/json"}).json()
    assert as_json["machine_summary"] == {"ai_summary": theirs, "ai_keywords": ["traffic"], "by": "huggingface"}


def test_search_api_carries_the_summaries(site: Site) -> None:
    # A text of its own: the embedding cache is shared by the tests, and a cached text is not summarised again.
    site.add(paper("2610.30003", "Forecasting traffic with graph networks", "2026-10-05", abstract=ABSTRACT))
    site.sync()
    (found,) = site.browser().get("/api/papers/search", params={"q": "traffic congestion"}).json()
    info = site.browser().get("/api/papers/2610.30003").json()
    assert found["paper"]["ai_summary"] == found["ai_summary"] == info["ai_summary"]
    assert found["ai_keywords"] == info["ai_keywords"]
