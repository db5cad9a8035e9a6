"""The machine-made summary as a newcomer sees it on a paper's page: set apart from the abstract and labelled
machine-made, with the sentence and keyphrases the index job stored, or Hugging Face's own labelled as theirs.
Chromium over the demo store built by the CLI, into which a recorded OAI-PMH record and a recorded Hugging Face daily
item are ingested and indexed (the demo's own papers come with their vectors, so the index job makes no summary for
them without ``--summaries``); a console error, failed request or dialog fails the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from browser_support import BROWSER, build_demo_store, new_context, serving
from paperfeed.store import open_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = BROWSER
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


FIXTURES = Path(__file__).parents[1] / "fixtures"
RECORD = FIXTURES / "files" / "arxiv_oai_ListRecords_arXiv_0801.3931.xml"
HF_ITEM = FIXTURES / "hf_daily" / "hf_daily_papers_item.json"  # carries Hugging Face's ai_summary and ai_keywords


def _ingest(data_dir: Path, path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env["PAPERFEED_CACHE_DIR"] = str(data_dir / "cache")
    subprocess.run(
        [sys.executable, "-m", "paperfeed", "--data-dir", str(data_dir), "ingest", str(path), "--index", "-q"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def test_a_new_paper_shows_its_summary_labelled_machine_made(browser: Browser, tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    store_url = build_demo_store(data_dir)
    _ingest(data_dir, RECORD)
    _ingest(data_dir, HF_ITEM)
    with open_store(store_url) as store:
        made = store.summaries_of(["0801.3931"])
    assert made, "the index job stores the summary of a paper it embedded"
    paper_id, summary = next(iter(made.items()))
    with serving(data_dir, store_url) as base:
        context, watch = new_context(browser, base)
        page = context.new_page()
        page.goto(f"/papers/{paper_id}")
        section = page.locator("section.machine-summary")
        expect(section.get_by_role("heading", name="In short machine-made")).to_be_visible()
        expect(section.locator(".machine-label")).to_have_text("machine-made")
        expect(section.locator(".keyphrase")).to_have_count(len(summary.keyphrases))
        # Above the abstract, and apart from it: the label is what tells them apart.
        box, abstract = section.bounding_box(), page.locator("#abstract-h").bounding_box()
        assert box and abstract and box["y"] < abstract["y"]
        if shots := os.environ.get("PAPERFEED_TEST_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "machine-summary.png"), full_page=True)
        # Hugging Face's own summary, imported with its daily item: shown instead of ours, labelled as theirs.
        page.goto("/papers/2602.23229")
        expect(section.locator(".machine-label")).to_have_text("machine-made by Hugging Face")
        expect(section).to_contain_text("Large Multimodal Models demonstrate superior performance")
        expect(section.locator(".keyphrase")).to_have_count(9)
        if shots:
            page.screenshot(path=str(Path(shots) / "machine-summary-hf.png"), full_page=True)
        context.close()
    assert watch.problems() == [], "\n".join(watch.problems())
