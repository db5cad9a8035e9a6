"""The For-you screenshots in docs/screenshots/, from the real app in a real browser over the demo corpus:

    python scripts/screenshots_for_you.py --out docs/screenshots

for-you.png: the home page of a member whose library is a few speech papers (saved and tagged, half upvoted), blend at
"Half and half" and each paper's reasons; for-you-digest.png: that member's digest email (a For-you section beside
a category) as ``paperfeed digest preview`` renders it, shown at a mail client's width. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
VOTERS = ["grace", "alan", "emmy"]


def seed(store_url: str) -> str:
    """ada's library (the speech papers of the days before the latest), and some community votes on the latest day;
    returns the latest day."""
    from paperfeed.community import rules
    from paperfeed.library import saves
    from paperfeed.store import open_store

    store = open_store(store_url)
    try:
        ada = rules.sign_up(store, "ada", PASSWORD, email="ada@example.org")
        latest = store.latest_feed_day()
        assert latest
        today = {f.id for f in store.listed_features(latest, latest)}
        speech = [f.id for f in store.listed_features("2026-06-01", latest)
                  if "speech" in f.title.lower() and f.id not in today]  # fmt: skip
        for i, pid in enumerate(speech):  # saved and tagged (reasons name the tag), every other one upvoted too
            saves.update(store, ada, pid, add_tags=["speech"])
            if i % 2:
                rules.upvote(store, ada, pid)
        voters = [rules.sign_up(store, name, PASSWORD) for name in VOTERS]
        for rank, pid in enumerate(sorted(today)[:10]):
            for voter in voters[: max(1, len(voters) - rank // 3)]:
                rules.upvote(store, voter, pid)
        store.set_personal_weight(ada.id, 50, "2026-07-01T00:00:00+00:00")
        return latest
    finally:
        store.close()


def digest_html(store_url: str, data_dir: Path, base: str) -> str:
    from paperfeed.config import load_config
    from paperfeed.digests.subscriptions import subscribe
    from paperfeed.store import open_store

    env = {**os.environ, "PAPERFEED_BASE_URL": base}
    config = load_config(env={"PAPERFEED_DATA_DIR": str(data_dir), "PAPERFEED_DATABASE_URL": store_url})
    store = open_store(store_url)
    try:
        ada = store.user_by_name("ada")
        assert ada
        subscribe(store, config, "ada@example.org", topics=["foryou", "cat:cs.CL"], include_trending=False,
                  user_id=ada.id, confirmed=True)  # fmt: skip
    finally:
        store.close()
    out = data_dir / "digest.html"
    cli = [sys.executable, "-m", "paperfeed", "--database-url", store_url, "--data-dir", str(data_dir)]
    subprocess.run([*cli, "digest", "preview", "--to", "ada@example.org", "--html-out", str(out)], check=True,
                   capture_output=True, env=env)  # fmt: skip
    return out.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "web"))
    from playwright.sync_api import sync_playwright

    from browser_support import build_demo_store, have_chromium, launch, new_context, serving

    if not have_chromium():
        print("needs chromium at /usr/bin/chromium", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="paperfeed-for-you-") as tmp:
        data_dir = Path(tmp)
        store_url = build_demo_store(data_dir)
        seed(store_url)
        with serving(data_dir, store_url) as base, sync_playwright() as playwright:
            mail = digest_html(store_url, data_dir, base)
            browser = launch(playwright)
            try:
                context, watch = new_context(browser, base)
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("Name or email").fill("ada")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url("**/")
                page.wait_for_load_state("networkidle")
                page.locator(".paper-entry .why summary").first.click()
                page.screenshot(path=str(out / "for-you.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1280, "height": 1500})  # fmt: skip
                context.close()
                problems += watch.problems()
                context, watch = new_context(browser, base, viewport={"width": 760, "height": 1400})
                page = context.new_page()
                page.set_content(mail)
                page.screenshot(path=str(out / "for-you-digest.png"))
                context.close()
                problems += watch.problems()
            finally:
                browser.close()
    for problem in problems:
        print(f"browser: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
