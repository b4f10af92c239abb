"""Activity: how much a customer orders and pays, and how regularly.

Order counts and amounts over the last hour, day and 30 days (event-time tiles), and exact
moments of order amounts, payment amounts and the gaps between payments, for the z-scores of
anomaly detection. The gaps are kept as sums over consecutive payment times: a payment that
arrives late splits the gap it falls in, so the sums are those of the payments in time order.
"""

from bisect import bisect_left, insort
from typing import Any

from features.eventtime import DAY, SECOND
from features.stats import Moments, Summary
from features.windows import order_windows


class Activity:
    """Windows and moments of a customer's orders and payments.

    >>> from features.eventtime import DAY, HOUR
    >>> from features.units import UNIT
    >>> activity = Activity()
    >>> activity.record_payment(3 * DAY, 300_0000)
    >>> activity.record_payment(0, 100_0000)  # arrives late: the gap is still 3 days
    >>> activity.payment_amounts.summary(UNIT, 1).mean, activity.gap_summary(1).mean
    (200.0, 3.0)
    >>> activity.record_order(3 * DAY, 50_0000)
    >>> later = 3 * DAY + 2 * HOUR
    >>> activity.orders["1h"].totals(now=later), activity.orders["1d"].totals(now=later)
    ((0, 0), (1, 500000))
    """

    __slots__ = ("order_amounts", "orders", "payment_amounts", "payment_gaps", "payment_times")

    def __init__(self) -> None:
        self.orders = order_windows()
        self.order_amounts = Moments()
        self.payment_amounts = Moments()
        self.payment_gaps = Moments()
        """Of the gaps between consecutive payments, in seconds."""
        self.payment_times: list[int] = []
        """The payment times the horizon may still put a payment between, oldest first."""

    @property
    def last_payment(self) -> int | None:
        return self.payment_times[-1] if self.payment_times else None

    def record_order(self, time: int, amount: int) -> None:
        for window in self.orders.values():
            window.add(time, amount)
        self.order_amounts.add(amount)

    def record_payment(self, time: int, amount: int) -> None:
        self.payment_amounts.add(amount)
        times, gaps = self.payment_times, self.payment_gaps
        place = bisect_left(times, time)
        before = times[place - 1] if place else None
        after = times[place] if place < len(times) else None
        if before is not None and after is not None:
            gaps.add((after - before) // SECOND, -1)
        if before is not None:
            gaps.add((time - before) // SECOND)
        if after is not None:
            gaps.add((after - time) // SECOND)
        insort(times, time)

    def forget_before(self, horizon: int) -> None:
        """Keep the payment times no event can arrive before, and the newest one before them."""
        times = self.payment_times
        place = bisect_left(times, horizon)
        if place > 1:
            del times[: place - 1]

    def gap_summary(self, min_count: int) -> Summary:
        """Statistics of the gaps between payments, in days."""
        return self.payment_gaps.summary(DAY // SECOND, min_count)

    def to_row(self, now: int) -> list[Any]:
        return [
            {name: window.to_row(now) for name, window in self.orders.items()},
            self.order_amounts.to_row(),
            self.payment_amounts.to_row(),
            self.payment_gaps.to_row(),
            self.payment_times,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> "Activity":
        activity = cls()
        windows, orders, payments, gaps, activity.payment_times = row
        for name, window in activity.orders.items():
            window.load(windows[name])
        activity.order_amounts = Moments.from_row(orders)
        activity.payment_amounts = Moments.from_row(payments)
        activity.payment_gaps = Moments.from_row(gaps)
        return activity
