"""Feed periods — a day ``2026-11-20``, an ISO week ``2026-W47``, a month ``2026-11`` — parsed and stepped.

The daily feed pages, the HF-compatible API (``date``/``week``/``month``) and the digests (``--period``) all name
periods the same way, so the parsing and the first/last day arithmetic live here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from paperfeed.errors import BadInput

Kind = Literal["day", "week", "month"]
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    kind: Kind
    first: date
    last: date

    @property
    def key(self) -> str:
        """The canonical name: ``2026-11-20``, ``2026-W47`` or ``2026-11``."""
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.strftime("%A, %-d %B %Y")
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"Week {week}, {year} ({self.first.strftime('%-d %b')} – {self.last.strftime('%-d %b')})"
        return self.first.strftime("%B %Y")

    @property
    def day_range(self) -> tuple[str, str]:
        return self.first.isoformat(), self.last.isoformat()

    def shift(self, steps: int) -> Period:
        if self.kind == "day":
            return day_period(self.first + timedelta(days=steps))
        if self.kind == "week":
            return week_period(self.first + timedelta(weeks=steps))
        month = self.first.year * 12 + self.first.month - 1 + steps
        return month_period(date(month // 12, month % 12 + 1, 1))

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def day_period(day: date) -> Period:
    return Period("day", day, day)


def week_period(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period("week", monday, monday + timedelta(days=6))


def month_period(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period("month", first, following - timedelta(days=1))


def parse_day(text: str, where: str = "date") -> date:
    if not _DAY_RE.match(text.strip()):
        raise BadInput(f"expected a date like 2026-11-20, got {text!r}", where=where)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"no such date {text!r}", where=where) from None


_EXAMPLES = {"day": "2026-11-20", "week": "2026-W47", "month": "2026-11"}


def parse_period(text: str, where: str = "period", kind: Kind | None = None) -> Period:
    """``2026-11-20`` → that day, ``2026-W47`` → that ISO week, ``2026-11`` → that month; with ``kind``, only that
    kind of period is accepted."""
    period = _parse_any(text.strip(), where)
    if kind is not None and period.kind != kind:
        raise BadInput(f"expected a {kind} like {_EXAMPLES[kind]}, got {text!r}", where=where)
    return period


def _parse_any(text: str, where: str) -> Period:
    if m := _WEEK_RE.match(text):
        try:
            return week_period(date.fromisocalendar(int(m[1]), int(m[2]), 1))
        except ValueError:
            raise BadInput(f"no such week {text!r}", where=where) from None
    if m := _MONTH_RE.match(text):
        if not 1 <= int(m[2]) <= 12:
            raise BadInput(f"no such month {text!r}", where=where)
        return month_period(date(int(m[1]), int(m[2]), 1))
    if _DAY_RE.match(text):
        return day_period(parse_day(text, where))
    raise BadInput(f"expected a day (2026-11-20), a week (2026-W47) or a month (2026-11), got {text!r}", where=where)
