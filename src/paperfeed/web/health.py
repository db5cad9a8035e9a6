"""Whether this node can serve (``/healthz``, for load balancers and systemd; the store numbers of ``/metrics``).

A node is healthy when its store answers, the store's schema is the one this code expects, and (when
``PAPERFEED_HEALTH_MAX_INDEX_LAG`` is set above 0) its keyword index is at most that many changes behind the store.
Index lag is always reported but by default never fails the check: a bulk ingest puts every node behind at once,
and taking them all out of the load balancer would turn stale search into no site at all. The answer is JSON,
status 200 or 503, never cached, and sets no cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paperfeed.store import Store
from paperfeed.store.migrations import LATEST


@dataclass
class HealthReport:
    store_ok: bool
    store_error: str | None = None
    schema_version: int | None = None
    store_seq: int | None = None
    keyword_seq: int | None = None
    keyword_lag: int | None = None
    index_error: str | None = None
    max_lag: int = 0

    @property
    def schema_current(self) -> bool:
        return self.schema_version == LATEST

    @property
    def lag_ok(self) -> bool:
        return self.max_lag <= 0 or self.keyword_lag is None or self.keyword_lag <= self.max_lag

    @property
    def healthy(self) -> bool:
        return self.store_ok and self.schema_current and self.lag_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "failing",
            "store": {"ok": self.store_ok, "error": self.store_error, "seq": self.store_seq},
            "schema": {"version": self.schema_version, "expected": LATEST, "current": self.schema_current},
            "index": {
                "keyword": {"seq": self.keyword_seq, "lag": self.keyword_lag, "error": self.index_error},
                "max_lag": self.max_lag or None,
                "ok": self.lag_ok,
            },
        }


def check(store: Store, max_lag: int = 0) -> HealthReport:
    """Ask the store and the keyword index; never raises (a failure is the answer)."""
    from paperfeed.search.indexes import indexes_for

    try:
        version = store.schema_version()
        head = store.max_seq()
    except Exception as exc:
        return HealthReport(False, store_error=f"{type(exc).__name__}: {exc}"[:300], max_lag=max_lag)
    report = HealthReport(True, schema_version=version, store_seq=head, max_lag=max_lag)
    try:
        applied = indexes_for(store).keyword_seq()
        report.keyword_seq = applied
        report.keyword_lag = store.count_changes_since(applied) if applied < head else 0
    except Exception as exc:
        report.index_error = f"{type(exc).__name__}: {exc}"[:300]
    return report
