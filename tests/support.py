"""Plain helpers the tests import by name: where the recorded fixtures are, and a fake clock for the polite client.

They live here, not in conftest.py, because tests/ and tests/web/ each have a conftest.py: both are imported as the
module ``conftest``, so ``from conftest import …`` found whichever was imported first when the two folders ran in
one pytest call. Fixtures stay in the conftests; names to import live in support.py (and tests/web/web_support.py).
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


class FakeTime:
    """Clock and sleep for PoliteClient: sleeping advances the clock and is recorded, never waited."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
