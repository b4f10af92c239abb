"""Event-time windows made of fixed tiles, never of event lists.

A window of ``span`` tiles of ``width`` microseconds holds, at time t, the tile that contains
t and the ``span - 1`` tiles before it: between ``(span - 1) * width`` and ``span * width``
of history, sliding one tile at a time. A value lands in the tile of its own event time, so
the tiles hold the same counts and integer totals whatever order the values came in: a value
older than the oldest tile is one that, in event-time order, would have slid out already.
The tiles live in a ring of two lists, a few bytes however many values they hold.
"""

from typing import Any

from features.eventtime import DAY, HOUR, MINUTE


class BucketWindow:
    """Counts and integer totals per tile of event time, in a ring of ``span`` tiles.

    >>> from features.eventtime import HOUR, MINUTE
    >>> window = BucketWindow(width=5 * MINUTE, span=12)  # the last hour, in 5-minute tiles
    >>> window.add(30 * MINUTE, 5)
    >>> window.add(0, 10)  # earlier, arriving later: it lands in its own tile
    >>> window.totals(now=50 * MINUTE)
    (2, 15)
    >>> window.totals(now=HOUR + 10 * MINUTE)  # the first tile has slid out
    (1, 5)
    """

    __slots__ = ("counts", "newest", "read", "span", "sums", "width")

    def __init__(self, width: int, span: int) -> None:
        self.width = width
        self.span = span
        self.newest: int | None = None
        """Index (time // width) of the newest tile in the ring."""
        self.counts, self.sums = [0] * span, [0] * span
        self.read: tuple[int, tuple[int, int]] | None = None
        """The tile last read and its totals: a step reads the same ones again and again."""

    def add(self, time: int, amount: int = 0, count: int = 1) -> None:
        """Add a value (or, with a negative count and amount, withdraw one added before)."""
        index = time // self.width
        newest = self.newest
        if newest is None or index > newest:
            self._slide_to(index)
        elif index <= newest - self.span:
            return
        slot = index % self.span
        self.counts[slot] += count
        self.sums[slot] += amount
        self.read = None

    def _slide_to(self, index: int) -> None:
        span, newest = self.span, self.newest
        if newest is None or index - newest >= span:
            self.counts, self.sums = [0] * span, [0] * span
        else:
            for stale in range(newest + 1, index + 1):
                self.counts[stale % span] = 0
                self.sums[stale % span] = 0
        self.newest = index

    def totals(self, now: int) -> tuple[int, int]:
        """Count and total of the window at ``now``."""
        newest = self.newest
        if newest is None:
            return 0, 0
        current = now // self.width
        read = self.read
        if read is not None and read[0] == current:
            return read[1]
        self.read = (current, self._totals(current, newest))
        return self.read[1]

    def _totals(self, current: int, newest: int) -> tuple[int, int]:
        first, last = max(current, newest) - self.span + 1, min(current, newest)
        if first > last:
            return 0, 0
        span, counts, sums = self.span, self.counts, self.sums
        start, stop = first % span, last % span + 1
        if start < stop:
            return sum(counts[start:stop]), sum(sums[start:stop])
        return sum(counts[start:]) + sum(counts[:stop]), sum(sums[start:]) + sum(sums[:stop])

    def to_row(self, now: int) -> list[Any]:
        """The window as read from ``now`` on: [newest index, [index, count, total]...] of
        the tiles with values, oldest first (empty when none is left to read)."""
        newest = self.newest
        if newest is None:
            return []
        newest = max(newest, now // self.width)
        span, counts, sums = self.span, self.counts, self.sums
        tiles = [
            [index, counts[index % span], sums[index % span]]
            for index in range(newest - span + 1, min(newest, self.newest) + 1)
            if counts[index % span] or sums[index % span]
        ]
        return [newest, *tiles] if tiles else []

    def load(self, row: list[Any]) -> "BucketWindow":
        self.read = None
        if row:
            self.newest = row[0]
            for index, count, total in row[1:]:
                self.counts[index % self.span], self.sums[index % self.span] = count, total
        return self


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
