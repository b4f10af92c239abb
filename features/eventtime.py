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


def date_to_day(day: date) -> int:
    """Days since the epoch of a calendar date."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_to_date(day: int) -> date:
    """The calendar date ``day`` days after the epoch."""
    return date.fromordinal(day + _EPOCH_ORDINAL)
