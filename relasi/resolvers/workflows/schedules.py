"""Schedule triggers: cron expressions read in the workspace's time zone.

croniter (a dependency of the job queue already, so one cron library in the process) walks the
expression over *wall-clock* times; each wall-clock time is then placed in the zone:

- a time a spring-forward skips (02:30 on a day the clocks jump from 02:00 to 03:00) runs once,
  at the same distance past the jump (03:30): a daily job is never lost on that day;
- a time a fall-back repeats (01:30 twice) runs once, at its first occurrence;
- two wall-clock times landing on one instant (02:30 and 03:30 on a spring-forward day, for
  an hourly job) run once.

So "every day at 02:30" runs exactly once every day, whatever the zone does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterError

MAX_EXPRESSION = 200
# more than any change of a zone's UTC offset (DST moves 1 hour, Lord Howe's 30 minutes; no
# zone has moved more than 2 hours at once): wall-clock times this far outside a window are
# looked at too, since a change may carry them into it
_MARGIN = timedelta(hours=3)
_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a usable schedule (None if it is): five fields (minute hour
    day-of-month month day-of-week) or an alias such as @daily, and a time it ever reaches."""
    if len(expression) > MAX_EXPRESSION:
        return f"Must be at most {MAX_EXPRESSION} characters (got {len(expression)})."
    text = expression.strip()
    if text.startswith("@") and text.lower() not in _ALIASES:  # @reboot: no time to run at
        return f"{text[:20]!r} names no time; the aliases are {', '.join(_ALIASES)}."
    if text.lower() not in _ALIASES and len(text.split()) != 5:
        return (
            "A cron expression has five fields: minute hour day-of-month month day-of-week "
            "(e.g. '0 8 * * 1', Mondays at 08:00), or is @hourly, @daily, @weekly, @monthly "
            "or @yearly."
        )
    try:
        if not croniter.is_valid(text, strict=True):
            return f"{expression!r} is not a valid cron expression."
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterError, ValueError, KeyError, OverflowError):
        return f"{expression!r} is not a valid cron expression, or names a day that never comes."
    return None


def fire_times(expression: str, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """The instants (UTC) in (after, until] at which the schedule runs in `zone`, in order."""
    start = after.astimezone(zone).replace(tzinfo=None) - _MARGIN
    stop = until.astimezone(zone).replace(tzinfo=None) + _MARGIN
    found: set[datetime] = set()
    try:
        walk = croniter(expression.strip(), start)
        while (wall := walk.get_next(datetime)) <= stop:
            # fold=0: a skipped time takes the offset before the jump (so it lands after it),
            # a repeated one its first occurrence
            at = wall.replace(tzinfo=zone).astimezone(UTC)
            if after < at <= until:
                found.add(at)
    except CroniterError:  # a day that never comes (February 30th): it never runs
        pass
    return sorted(found)


def last_fire_time(
    expression: str, zone: ZoneInfo, after: datetime, until: datetime
) -> datetime | None:
    """The latest instant in (after, until] the schedule runs at: a window longer than the
    schedule's period (the workers were stopped) runs a schedule once, not once per missed
    time."""
    times = fire_times(expression, zone, after, until)
    return times[-1] if times else None
