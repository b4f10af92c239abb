"""Event time as whole microseconds since the Unix epoch, in UTC.

Integers order, bucket and serialise exactly and cheaply, so the feature engine works on them
and turns them into datetimes only at its edges (events in, transitions and features out).
Calendar days are counted from the epoch as well, so a due date and a moment compare with
integer arithmetic: the day of a moment is ``micros // DAY``.

>>> from datetime import UTC, datetime
>>> moment = to_micros(datetime(2026, 1, 5, 12, tzinfo=UTC))
>>> from_micros(moment)
datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.timezone.utc)
>>> day_to_date(moment // DAY)
datetime.date(2026, 1, 5)
"""

from datetime import UTC, date, datetime, timedelta

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
BEGINNING = -(2**62)
"""Earlier than any event: the clock of a customer nothing has happened to yet."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware moment."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone: event time must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC moment ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def to_duration(span: timedelta) -> int:
    """A span of time in microseconds."""
    return span // _MICROSECOND


def duration_text(span: timedelta) -> str:
    """A span in ISO 8601, as settings and control documents write it (whole seconds).

    >>> duration_text(timedelta(days=1)), duration_text(timedelta(hours=36, minutes=5))
    ('P1D', 'P1DT12H5M')
    >>> duration_text(timedelta(seconds=90)), duration_text(timedelta(0))
    ('PT1M30S', 'PT0S')
    """
    days, rest = divmod(int(span.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return "PT0S" if text == "P" else text


def date_to_day(day: date) -> int:
    """Days since the epoch of a calendar date."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_to_date(day: int) -> date:
    """The calendar date ``day`` days after the epoch."""
    return date.fromordinal(day + _EPOCH_ORDINAL)
