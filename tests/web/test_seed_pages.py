"""A paper known only from a Daily Papers page (title and abstract: no id, authors or dates) on its page, in lists
and as JSON: what is unknown is said plainly, the day the page listed it is given, and no one-field BibTeX is offered.
"""

from __future__ import annotations

import re

from paperfeed.papers import Paper, content_id
from web_support import Site, paper

SEED = Paper(
    id=content_id("Diffusion models fold proteins"),
    title="Diffusion models fold proteins",
    abstract="Here we generate protein backbones with a denoising diffusion model.",
    listing_days={"2025-03-14": "seed"},
    source="seeds",
)
UNDATED = Paper(id=content_id("A note with nothing else"), title="A note with nothing else", abstract="Short.")


def test_a_seed_papers_page_says_what_is_unknown(site: Site) -> None:
    site.add(SEED, UNDATED, paper("2610.00001", "Graph networks", "2026-10-05"))
    site.sync()
    text = site.browser().get(f"/papers/{SEED.id}").text
    assert "Authors unknown" in text
    assert "Date unknown</span>: listed on a Daily Papers page on" in text and "2025" in text
    assert "Not known about this paper: authors, date, identifier (arXiv id or DOI)." in text
    assert "Daily Papers page, which gives only titles and abstracts" in text
    assert 'id="bibtex"' not in text and "Copy BibTeX" not in text
    assert "Too little is known to cite this paper" in text
    assert not re.search(r'<p class="paper-authors">\s*</p>', text)

    bare = site.browser().get(f"/papers/{UNDATED.id}").text
    assert "Date unknown</span>" in bare and "listed on" not in bare and "Daily Papers page, which" not in bare

    data = site.browser().get(f"/papers/{SEED.id}", headers={"Accept": "application/json"}).json()
    assert data["bibtex"] is None and data["unknown"] == ["authors", "date", "identifier (arXiv id or DOI)"]

    arxiv = site.browser().get("/papers/2610.00001")
    head = arxiv.text.split('<h2 id="similar-h">', 1)[0]  # its similar papers may well be seeds
    assert 'id="bibtex"' in head and "unknown" not in head.lower()
    assert site.browser().get("/papers/2610.00001", headers={"Accept": "application/json"}).json()["unknown"] == []

    listing = site.browser().get("/search", params={"q": "protein diffusion"}).text
    assert "Authors unknown" in listing and "date unknown (listed" in listing
