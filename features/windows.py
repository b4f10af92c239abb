"""Sliding windows of event time made of fixed-size buckets, never of event lists.

A window of ``span`` buckets of ``width`` microseconds holds, at time t, the bucket that
contains t and the ``span - 1`` buckets before it: between ``(span - 1) * width`` and
``span * width`` of history, sliding one bucket at a time. The buckets live in a ring of two
flat arrays (counts and sums), so a window takes the same few bytes however many events it
has seen, and gives the garbage collector nothing to scan.
"""

from array import array
from functools import cache

from features.copying import copy_with
from features.eventtime import DAY, HOUR, MINUTE


class BucketWindow:
    """Counts and float totals per bucket of event time, in a ring of ``span`` buckets.

    Values are added in event-time order (a value older than the window is ignored).

    >>> from features.eventtime import HOUR, MINUTE
    >>> window = BucketWindow(width=5 * MINUTE, span=12)  # the last hour, in 5-minute steps
    >>> window.add(0, 10.0)
    >>> window.add(30 * MINUTE, 5.0)
    >>> window.totals(now=50 * MINUTE)
    (2, 15.0)
    >>> window.totals(now=HOUR + 10 * MINUTE)  # the first bucket has slid out
    (1, 5.0)
    """

    __slots__ = ("counts", "newest", "span", "sums", "width")

    def __init__(self, width: int, span: int) -> None:
        self.width = width
        self.span = span
        self.newest: int | None = None
        """Index (time // width) of the newest bucket in the ring."""
        self._clear()

    def _clear(self) -> None:
        counts, sums = _empty(self.span)
        self.counts, self.sums = counts[:], sums[:]  # copies: quicker than making new arrays

    def add(self, time: int, amount: float = 0.0) -> None:
        index = time // self.width
        newest = self.newest
        if newest is None or index > newest:
            self._slide_to(index)
        elif index <= newest - self.span:
            return
        slot = index % self.span
        self.counts[slot] += 1
        self.sums[slot] += amount

    def remove(self, time: int, amount: float = 0.0) -> None:
        """Withdraw a value added before; nothing to do if its bucket has slid out already."""
        index = time // self.width
        slot = index % self.span
        newest = self.newest
        if newest is None or not newest - self.span < index <= newest or not self.counts[slot]:
            return
        self.counts[slot] -= 1
        self.sums[slot] = self.sums[slot] - amount if self.counts[slot] else 0.0

    def _slide_to(self, index: int) -> None:
        span = self.span
        if self.newest is not None and index - self.newest >= span:
            self._clear()
        elif self.newest is not None:
            for stale in range(self.newest + 1, index + 1):
                self.counts[stale % span] = 0
                self.sums[stale % span] = 0.0
        self.newest = index

    def _in_window(self, now: int) -> tuple[int, int]:
        """The first and last bucket with values in the window at ``now``."""
        current = now // self.width
        newest = self.newest
        return max(current, newest) - self.span + 1, min(current, newest)

    def _buckets(self, now: int) -> list[tuple[int, int, float]]:
        """(index, count, total) of the buckets with values in the window at ``now``."""
        if self.newest is None:
            return []
        first, last = self._in_window(now)
        span, counts, sums = self.span, self.counts, self.sums
        return [
            (index, counts[index % span], sums[index % span])
            for index in range(first, last + 1)
            if counts[index % span]
        ]

    def totals(self, now: int) -> tuple[int, float]:
        """Count and total of the window at ``now`` (no earlier than the newest value)."""
        if self.newest is None:
            return 0, 0.0
        first, last = self._in_window(now)
        if first > last:
            return 0, 0.0  # all of it has slid out
        # The buckets oldest first, as they were added up, a slice of the ring at a time; an
        # empty bucket's total is 0.0.
        span, counts, sums = self.span, self.counts, self.sums
        start, stop = first % span, last % span + 1
        if start < stop:
            return sum(counts[start:stop]), sum(sums[start:stop], 0.0)
        return sum(counts[start:]) + sum(counts[:stop]), sum(sums[:stop], sum(sums[start:], 0.0))

    def copy(self) -> "BucketWindow":
        return copy_with(self, counts=self.counts[:], sums=self.sums[:])

    def to_row(self, now: int) -> list[tuple[int, int, float]]:
        """The buckets with values still in the window at ``now``, oldest first."""
        return self._buckets(now)

    def load(self, row: list[list[float]]) -> "BucketWindow":
        for index, count, total in row:
            slot = int(index) % self.span
            self.counts[slot], self.sums[slot] = int(count), total
        if row:
            self.newest = int(row[-1][0])
        return self


@cache
def _empty(span: int) -> tuple[array, array]:
    """Zero counts and totals of a ring of ``span`` buckets, to copy (never to change)."""
    return array("q", bytes(8 * span)), array("d", bytes(8 * span))


def order_windows() -> dict[str, BucketWindow]:
    """The activity windows of orders, by name: the last hour, day and 30 days."""
    return {
        "1h": BucketWindow(5 * MINUTE, 12),
        "1d": BucketWindow(HOUR, 24),
        "30d": BucketWindow(DAY, 30),
    }


def recent_days() -> BucketWindow:
    """The last 90 days, in days: recent late payments and invoicing."""
    return BucketWindow(DAY, 90)
