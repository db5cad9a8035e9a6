"""The registry of sources: every entry is complete, declares the signals its papers carry, and names them."""

from __future__ import annotations

from pathlib import Path

from paperfeed.papers import FEED_KINDS, LISTING_KIND_NAMES, Paper
from paperfeed.sources import registry
from paperfeed.sources.files import read_file
from paperfeed.sources.registry import FORMATS, REMOTE, SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "files"
STORE = Path(registry.__file__).resolve().parents[1] / "store"


def test_the_store_names_no_source_and_no_listing_kind() -> None:
    # The store learns sources and listing kinds as values (papers.LISTING_KINDS builds its feed SQL); migrations
    # are history and keep the names they were written with.
    names = {*SOURCES, *REMOTE, *LISTING_KIND_NAMES}
    for module in STORE.glob("*.py"):
        if module.name == "migrations.py":
            continue
        text = module.read_text()
        assert not [n for n in names if f"'{n}'" in text or f'"{n}"' in text], module.name


def test_the_listing_kinds_every_parser_writes_are_in_the_kernel_table() -> None:
    kinds: set[str] = set()
    for path in sorted(FIXTURES.glob("*.*")):
        if path.suffix == ".md":
            continue
        for batch in read_file(path):
            kinds |= {k for p in batch.items if isinstance(p, Paper) for k in p.listing_days.values()}
    assert kinds and kinds <= LISTING_KIND_NAMES
    assert {"new", "cross", "hf-daily"} <= kinds and {"replace", "derived"} & kinds
    assert "replace" not in FEED_KINDS and "submitted" in FEED_KINDS


def test_remote_names_and_their_sources() -> None:
    assert sorted(REMOTE) == ["arxiv-id", "arxiv-oai", "arxiv-rss", "hf-daily"]
    assert REMOTE["arxiv-id"] is SOURCES["arxiv-api"]
    assert {name for name, s in REMOTE.items() if s.remote_args} == {"arxiv-id", "arxiv-rss"}
    assert tuple(SOURCES) == FORMATS  # every source today can also be read from a file


def test_parsed_signals_are_the_declared_ones() -> None:
    for name in FORMATS:
        assert SOURCES[name].name == name
    source = SOURCES["hf-daily"]
    assert source.parse is not None
    page = source.parse((FIXTURES / "daily_papers_2024-10-25_excerpt_first2.json").read_bytes(), "f")
    papers = [p for p in page.items if isinstance(p, Paper)]
    assert papers and all(p.source == "hf-daily" and set(p.signals) <= set(source.signals) for p in papers)
    assert {"upvotes", "num_comments"} <= set(source.signals)


def test_sniff_tries_entries_in_order() -> None:
    # A paperfeed export record that also has a "paper" key is the export (JSON Lines come first).
    assert registry.sniff(b'{"paper": 1, "listing_days": {}, "source": "x", "title": "t"}\n') == "paperfeed"
    assert registry.sniff(b'{"paper": {"id": "2602.23229"}}\n') == "hf-daily"
