"""Cron evaluation in a time zone (resolvers/workflows/schedules.py): the decisions about
daylight saving time, checked on real transition days of the IANA database."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from relasi.resolvers.workflows.schedules import cron_problem, fire_times, last_fire_time

NEW_YORK = ZoneInfo("America/New_York")  # 2026: clocks jump 03-08 02:00, fall back 11-01 02:00
BERLIN = ZoneInfo("Europe/Berlin")  # 2026: jump 03-29 02:00, fall back 10-25 03:00
JAKARTA = ZoneInfo("Asia/Jakarta")  # UTC+7, no DST


def local(times: list[datetime], zone: ZoneInfo) -> list[str]:
    return [t.astimezone(zone).isoformat() for t in times]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_time_the_spring_forward_skips_runs_once_just_after_the_jump():
    times = fire_times("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12), utc(2026, 3, 10, 12))
    assert local(times, NEW_YORK) == [
        "2026-03-08T03:30:00-04:00",  # 02:30 does not exist that day: once, an hour on
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]
    times = fire_times("30 2 * * *", BERLIN, utc(2026, 3, 28), utc(2026, 3, 30, 12))
    assert local(times, BERLIN) == ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00",
                                    "2026-03-30T02:30:00+02:00"]  # fmt: skip


def test_a_time_the_fall_back_repeats_runs_once_at_its_first_occurrence():
    times = fire_times("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))
    assert local(times, NEW_YORK) == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


def test_an_hourly_schedule_runs_once_per_instant_across_the_jump():
    times = fire_times("30 * * * *", NEW_YORK, utc(2026, 3, 8, 6), utc(2026, 3, 8, 9))
    # 01:30 EST, then 02:30 (skipped: 03:30 EDT) and 03:30 EDT are one instant: one run
    assert local(times, NEW_YORK) == [
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-08T04:30:00-04:00",
    ]
    assert len(set(times)) == len(times)


def test_the_workspace_zone_places_the_schedule():
    # Mondays 08:00 in Jakarta is Mondays 01:00 UTC
    times = fire_times("0 8 * * MON", JAKARTA, utc(2026, 11, 29), utc(2026, 12, 15))
    assert times == [utc(2026, 11, 30, 1), utc(2026, 12, 7, 1), utc(2026, 12, 14, 1)]


def test_the_window_is_open_below_and_closed_above():
    at = utc(2026, 12, 7, 1)
    assert fire_times("0 8 * * MON", JAKARTA, at, at + timedelta(minutes=1)) == []
    assert fire_times("0 8 * * MON", JAKARTA, at - timedelta(seconds=1), at) == [at]


def test_a_long_window_runs_the_latest_time_only():
    # workers stopped for three days: the daily schedule runs once when they are back
    assert last_fire_time("0 9 * * *", UTC, utc(2026, 12, 1), utc(2026, 12, 4, 12)) == utc(
        2026, 12, 4, 9
    )
    assert last_fire_time("0 9 * * *", UTC, utc(2026, 12, 4, 10), utc(2026, 12, 4, 12)) is None


@pytest.mark.parametrize(
    "expression",
    ["0 8 * * 1", "0 8 * * MON", "*/15 9-17 * * 1-5", "@daily", "@weekly", "0 0 1 1 *"],
)
def test_good_expressions(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    "expression",
    ["", "* * *", "0 8 * * 1 2026", "0 0 8 * * 1", "61 * * * *", "0 25 * * *", "@reboot",
     "0 0 30 2 *", "x" * 300, "0 8 * * FUNDAY"],
)  # fmt: skip
def test_bad_expressions_say_why(expression):
    assert cron_problem(expression)


def test_a_day_that_never_comes_never_runs():
    assert fire_times("0 0 30 2 *", UTC, utc(2026, 1, 1), utc(2026, 12, 31)) == []
