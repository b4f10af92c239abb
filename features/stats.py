"""Running statistics of a customer's numbers: amounts, gaps, days late.

Both accumulators keep a handful of floats, whatever the number of values they have seen.
"""

from dataclasses import dataclass


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


class RunningStats:
    """Count, mean and sample variance of a stream of numbers (Welford's algorithm).

    >>> stats = RunningStats()
    >>> for value in (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0):
    ...     stats.add(value)
    >>> stats.count, stats.mean, round(stats.variance, 4)
    (8, 5.0, 4.5714)
    """

    __slots__ = ("count", "m2", "mean")

    def __init__(self, count: int = 0, mean: float = 0.0, m2: float = 0.0) -> None:
        self.count = count
        self.mean = mean
        self.m2 = m2

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)

    @property
    def variance(self) -> float:
        return self.m2 / (self.count - 1) if self.count > 1 else 0.0

    def summary(self, min_count: int) -> Summary:
        return Summary(self.count, self.mean, self.variance**0.5, min_count)

    def to_row(self) -> list[float]:
        return [self.count, self.mean, self.m2]

    @classmethod
    def from_row(cls, row: list[float]) -> "RunningStats":
        return cls(int(row[0]), row[1], row[2])


class DecayedMean:
    """A mean in which a value's weight doubles with every half-life of event time it is newer.

    Weights grow forward from an anchor instead of shrinking backward from "now" (forward
    decay), so the mean needs no clock and a value is withdrawn exactly as it was added:
    the weights of values far in the past underflow gracefully when the anchor moves.

    >>> from features.eventtime import DAY
    >>> mean = DecayedMean()
    >>> mean.add(9.0, time=0, half_life=DAY)
    >>> mean.add(0.0, time=DAY, half_life=DAY)  # a half-life newer: it weighs twice as much
    >>> mean.value
    3.0
    >>> mean.remove(0.0, time=DAY, half_life=DAY)
    >>> mean.value
    9.0
    """

    __slots__ = ("anchor", "count", "weight", "weighted_sum")

    _REBASE_AFTER = 64
    """Half-lives past the anchor after which the anchor moves, so that weights stay finite."""

    def __init__(
        self, count: int = 0, anchor: int = 0, weighted_sum: float = 0.0, weight: float = 0.0
    ) -> None:
        self.count = count
        self.anchor = anchor
        self.weighted_sum = weighted_sum
        self.weight = weight

    @property
    def value(self) -> float | None:
        """The decayed mean; None while empty."""
        return self.weighted_sum / self.weight if self.count else None

    def add(self, value: float, time: int, half_life: int) -> None:
        if not self.count:
            self.anchor = time
        elif time - self.anchor > self._REBASE_AFTER * half_life:
            shrink = 2.0 ** ((self.anchor - time) / half_life)
            self.weighted_sum *= shrink
            self.weight *= shrink
            self.anchor = time
        weight = 2.0 ** ((time - self.anchor) / half_life)
        self.count += 1
        self.weighted_sum += weight * value
        self.weight += weight

    def remove(self, value: float, time: int, half_life: int) -> None:
        """Withdraw a value added before with the same time."""
        self.count -= 1
        if not self.count:
            self.weighted_sum = self.weight = 0.0
            return
        weight = 2.0 ** ((time - self.anchor) / half_life)
        self.weighted_sum -= weight * value
        self.weight -= weight

    def to_row(self) -> list[float]:
        return [self.count, self.anchor, self.weighted_sum, self.weight]

    @classmethod
    def from_row(cls, row: list[float]) -> "DecayedMean":
        return cls(int(row[0]), int(row[1]), row[2], row[3])
