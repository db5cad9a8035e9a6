"""arXiv's announcement schedule: listing days derived from submission times around the 14:00 Eastern deadline,
across weekends and daylight saving time changes, and which listing feed is out at a given moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from paperfeed.sources.announcements import (
    announcement_time,
    latest_feed_day,
    listing_day,
    listing_day_of,
)

# November 2026: Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Sat 21, Sun 22, Mon 23. Eastern is UTC-5 (EST) there.
CASES = [
    # submitted (UTC)              listing day    why
    ("2026-11-16T18:59:59+00:00", "2026-11-17", "Mon 13:59:59 EST: makes Monday's deadline, announced Mon 20:00"),
    ("2026-11-16T19:00:00+00:00", "2026-11-18", "Mon 14:00:00 EST: misses it, announced Tue 20:00"),
    ("2026-11-17T18:59:00+00:00", "2026-11-18", "Tue 13:59 EST"),
    ("2026-11-17T19:01:00+00:00", "2026-11-19", "Tue 14:01 EST"),
    ("2026-11-18T12:00:00+00:00", "2026-11-19", "Wed morning"),
    ("2026-11-19T18:00:00+00:00", "2026-11-20", "Thu 13:00 EST: announced Thu 20:00, listed Friday"),
    ("2026-11-19T20:00:00+00:00", "2026-11-23", "Thu 15:00 EST: announced Sun 20:00, listed Monday"),
    ("2026-11-20T18:30:00+00:00", "2026-11-23", "Fri 13:30 EST: still Sunday's announcement"),
    ("2026-11-20T19:30:00+00:00", "2026-11-24", "Fri 14:30 EST: the weekend batch, announced Mon 20:00"),
    ("2026-11-21T15:00:00+00:00", "2026-11-24", "Saturday"),
    ("2026-11-22T23:00:00+00:00", "2026-11-24", "Sunday evening"),
    ("2026-11-23T18:00:00+00:00", "2026-11-24", "Mon 13:00 EST"),
    # The UTC date is not the Eastern date: Tue 00:30 UTC is still Monday 19:30 EST.
    ("2026-11-17T00:30:00+00:00", "2026-11-18", "Mon 19:30 EST"),
    ("2026-11-21T02:00:00+00:00", "2026-11-24", "Fri 21:00 EST (Saturday in UTC)"),
    # Summer time: the deadline is 18:00 UTC (EDT, UTC-4).
    ("2026-07-06T17:59:00+00:00", "2026-07-07", "Mon 13:59 EDT"),
    ("2026-07-06T18:00:00+00:00", "2026-07-08", "Mon 14:00 EDT"),
    ("2026-07-06T18:30:00+00:00", "2026-07-08", "Mon 14:30 EDT (13:30 EST would have made it)"),
    # DST starts Sun 8 Mar 2026: Monday 9 Mar's deadline is already 18:00 UTC.
    ("2026-03-06T18:30:00+00:00", "2026-03-09", "Fri 13:30 EST before the change"),
    ("2026-03-09T17:30:00+00:00", "2026-03-10", "Mon 13:30 EDT after the change"),
    ("2026-03-09T18:30:00+00:00", "2026-03-11", "Mon 14:30 EDT after the change"),
    # DST ends Sun 1 Nov 2026: Friday 30 Oct is EDT, Monday 2 Nov is EST.
    ("2026-10-30T17:30:00+00:00", "2026-11-02", "Fri 13:30 EDT"),
    ("2026-10-30T18:30:00+00:00", "2026-11-03", "Fri 14:30 EDT"),
    ("2026-11-01T06:30:00+00:00", "2026-11-03", "Sun 01:30, the hour that happens twice"),
    ("2026-11-02T18:30:00+00:00", "2026-11-03", "Mon 13:30 EST"),
    ("2026-11-02T19:30:00+00:00", "2026-11-04", "Mon 14:30 EST"),
    # Year end: a Thursday 31 Dec submission after the deadline is listed on Monday 4 Jan (holidays unknown).
    ("2026-12-31T20:00:00+00:00", "2027-01-04", "Thu 15:00 EST"),
]


@pytest.mark.parametrize(("submitted", "expected", "why"), CASES)
def test_listing_day_follows_the_deadline(submitted: str, expected: str, why: str) -> None:
    moment = datetime.fromisoformat(submitted)
    assert listing_day(moment).isoformat() == expected, why
    # The same moment in any zone gives the same day.
    assert listing_day(moment.astimezone(timezone(timedelta(hours=9)))).isoformat() == expected
    assert listing_day_of(submitted.replace("+00:00", "Z")) == expected


def test_every_listing_day_is_a_weekday_and_follows_its_announcement_evening() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 400, 7):
        moment = start + timedelta(hours=hour)
        day = listing_day(moment)
        assert day.weekday() < 5
        announced = announcement_time(moment)
        assert announced.date() + timedelta(days=1) == day
        assert announced.weekday() in (6, 0, 1, 2, 3) and announced.hour == 20
        assert moment < announced and announced - moment < timedelta(days=4)


def test_naive_times_are_utc() -> None:
    assert listing_day(datetime(2026, 11, 16, 18, 59)) == date(2026, 11, 17)


@pytest.mark.parametrize("text", [None, "", "2026-11-16", "yesterday", "2026-13-40T10:00:00Z"])
def test_no_day_without_a_time_of_day(text: str | None) -> None:
    assert listing_day_of(text) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-17T05:00:00+00:00", "2026-11-16"),  # Tue 00:00 EST: Tuesday's feed is not out yet
        ("2026-11-17T05:45:00+00:00", "2026-11-17"),  # Tue 00:45 EST
        ("2026-11-21T12:00:00+00:00", "2026-11-20"),  # Saturday: Friday's is the latest
        ("2026-11-23T05:20:00+00:00", "2026-11-20"),  # Mon 00:20 EST
        ("2026-11-23T05:31:00+00:00", "2026-11-23"),
        ("2026-07-07T04:31:00+00:00", "2026-07-07"),  # Tue 00:31 EDT
    ],
)
def test_latest_feed_day(now: str, expected: str) -> None:
    assert latest_feed_day(datetime.fromisoformat(now)).isoformat() == expected
