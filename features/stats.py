"""Running statistics kept as exact integer sums, so that they add up in any order.

:class:`Moments` keeps count, sum and sum of squares of integers (money in units, time in
microseconds); :class:`DecayedMean` keeps a mean whose weights grow with event time from a
fixed epoch (forward decay), as two integer sums. Each takes a value back exactly as it took
it, and neither depends on the order its values came in.
"""

from dataclasses import dataclass
from math import floor


@dataclass(frozen=True, slots=True)
class Summary:
    """A read-only view of running statistics, with the z-score anomaly detection uses.

    >>> Summary(count=10, mean=100.0, std=20.0, min_count=5).zscore(160.0)
    3.0
    >>> Summary(count=4, mean=100.0, std=20.0, min_count=5).zscore(160.0) is None
    True
    """

    count: int
    mean: float
    std: float
    min_count: int

    def zscore(self, value: float) -> float | None:
        """How many standard deviations ``value`` is from the mean.

        None until ``min_count`` values have been seen, and while they are all equal.
        """
        if self.count < self.min_count or self.std == 0.0:
            return None
        return (value - self.mean) / self.std


class Moments:
    """Count, sum and sum of squares of integers; mean and sample deviation at read time.

    >>> moments = Moments()
    >>> for value in (2, 4, 4, 4, 5, 5, 7, 9):
    ...     moments.add(value)
    >>> summary = moments.summary(scale=1, min_count=5)
    >>> summary.count, summary.mean, round(summary.std ** 2, 4)
    (8, 5.0, 4.5714)
    """

    __slots__ = ("count", "squares", "total")

    def __init__(self, count: int = 0, total: int = 0, squares: int = 0) -> None:
        self.count = count
        self.total = total
        self.squares = squares

    def add(self, value: int, sign: int = 1) -> None:
        self.count += sign
        self.total += sign * value
        self.squares += sign * value * value

    def summary(self, scale: int, min_count: int) -> Summary:
        """The statistics of the values divided by ``scale`` (units per currency unit, say)."""
        count, total = self.count, self.total
        if not count:
            return Summary(0, 0.0, 0.0, min_count)
        mean = total / (count * scale)
        if count < 2:
            return Summary(count, mean, 0.0, min_count)
        spread = count * self.squares - total * total  # exact, and never negative
        variance = spread / (count * (count - 1) * scale * scale)
        return Summary(count, mean, variance**0.5, min_count)

    def to_row(self) -> list[int | str]:
        """Count, and the sums in hexadecimal (they outgrow JSON's 64-bit integers)."""
        return [self.count, format(self.total, "x"), format(self.squares, "x")]

    @classmethod
    def from_row(cls, row: list[int | str]) -> "Moments":
        return cls(int(row[0]), int(row[1], 16), int(row[2], 16))


_PRECISION = 24
"""Bits of a weight below its power of two: weights are exact integers of this precision."""
DECAY_EPOCH = 946_684_800_000_000
"""2000-01-01 in microseconds: where weights start doubling (keeps today's weights short)."""


def decay_weight(time: int, half_life: int) -> int:
    """The weight of a value at ``time``: 2 ** (time / half_life), scaled to an integer.

    It doubles every half-life after ``DECAY_EPOCH``, so a value one half-life newer than
    another weighs twice as much; the same time always gives the same integer. Times long
    before the epoch weigh at least 1.

    >>> from features.eventtime import DAY
    >>> decay_weight(DECAY_EPOCH + 90 * DAY, 90 * DAY) == 2 * decay_weight(DECAY_EPOCH, 90 * DAY)
    True
    """
    exponent = (time - DECAY_EPOCH) / half_life
    whole = floor(exponent)
    fraction = int(2.0 ** (exponent - whole) * (1 << _PRECISION))
    return fraction << whole if whole >= 0 else max(fraction >> -whole, 1)


class DecayedMean:
    """A mean in which a value's weight doubles with every half-life of event time it is newer.

    Two integer sums, the weights and the weighted values: the mean is their ratio, the same
    whatever order the values came in, and a value is withdrawn exactly as it was added.

    >>> from features.eventtime import DAY
    >>> mean = DecayedMean()
    >>> mean.add(9, time=DECAY_EPOCH, half_life=DAY)
    >>> mean.add(0, time=DECAY_EPOCH + DAY, half_life=DAY)  # a half-life newer: twice the weight
    >>> mean.value
    3.0
    >>> mean.add(0, time=DECAY_EPOCH + DAY, half_life=DAY, sign=-1)
    >>> mean.value
    9.0
    """

    __slots__ = ("count", "weight", "weighted_sum")

    def __init__(self, count: int = 0, weighted_sum: int = 0, weight: int = 0) -> None:
        self.count = count
        self.weighted_sum = weighted_sum
        self.weight = weight

    @property
    def value(self) -> float | None:
        """The decayed mean; None while empty."""
        return self.weighted_sum / self.weight if self.count else None

    def add(self, value: int, time: int, half_life: int, sign: int = 1) -> None:
        weight = sign * decay_weight(time, half_life)
        self.count += sign
        self.weight += weight
        self.weighted_sum += weight * value

    def to_row(self) -> list[int | str]:
        """Count, and the sums in hexadecimal (they outgrow JSON's 64-bit integers)."""
        return [self.count, format(self.weighted_sum, "x"), format(self.weight, "x")]

    @classmethod
    def from_row(cls, row: list[int | str]) -> "DecayedMean":
        return cls(int(row[0]), int(row[1], 16), int(row[2], 16))
