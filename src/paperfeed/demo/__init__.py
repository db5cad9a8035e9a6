"""The bundled demo corpus: the "Daily Papers" seed pages and a real slice of recent arXiv listing days.

``paperfeed demo`` loads it through the normal ingest path, so the demo exercises exactly what production does.
The listing slice is built by ``scripts/build_demo_corpus.py`` from the real arXiv listings.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from paperfeed.sources import Batch


def demo_files() -> list[tuple[Path, str]]:
    """The corpus files with their formats, seeds first."""
    root = Path(str(resources.files("paperfeed.demo")))
    seeds = sorted((root / "seeds").glob("*.txt"))
    return [(path, "seeds") for path in seeds] + [(root / "listings.jsonl.gz", "listings")]


def load_demo(batch_size: int = 2000) -> Iterator[Batch]:
    from paperfeed.sources.files import read_file

    for path, fmt in demo_files():
        yield from read_file(path, fmt, batch_size=batch_size)
