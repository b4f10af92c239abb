"""Activity: how much a customer orders and pays, and how regularly.

Order counts and amounts over the last hour, day and 30 days (bucketed windows), and running
statistics of order amounts, payment amounts and the gaps between payments (in days) for the
z-scores of anomaly detection.
"""

from typing import Any

from features.copying import copy_with
from features.eventtime import DAY
from features.stats import RunningStats
from features.windows import order_windows


class Activity:
    """Windows and running statistics of a customer's orders and payments.

    >>> from features.eventtime import DAY, HOUR
    >>> activity = Activity()
    >>> activity.record_payment(0, 100.0)
    >>> activity.record_payment(3 * DAY, 300.0)
    >>> activity.payment_amounts.mean, activity.payment_gaps.mean
    (200.0, 3.0)
    >>> activity.record_order(3 * DAY, 50.0)
    >>> later = 3 * DAY + 2 * HOUR
    >>> activity.orders["1h"].totals(now=later), activity.orders["1d"].totals(now=later)
    ((0, 0.0), (1, 50.0))
    """

    __slots__ = ("last_payment", "order_amounts", "orders", "payment_amounts", "payment_gaps")

    def __init__(self) -> None:
        self.orders = order_windows()
        self.order_amounts = RunningStats()
        self.payment_amounts = RunningStats()
        self.payment_gaps = RunningStats()
        self.last_payment: int | None = None

    def record_order(self, time: int, amount: float) -> None:
        for window in self.orders.values():
            window.add(time, amount)
        self.order_amounts.add(amount)

    def record_payment(self, time: int, amount: float) -> None:
        self.payment_amounts.add(amount)
        if self.last_payment is not None:
            self.payment_gaps.add((time - self.last_payment) / DAY)
        self.last_payment = time

    def copy(self) -> "Activity":
        return copy_with(
            self,
            orders={name: window.copy() for name, window in self.orders.items()},
            order_amounts=copy_with(self.order_amounts),
            payment_amounts=copy_with(self.payment_amounts),
            payment_gaps=copy_with(self.payment_gaps),
        )

    def to_row(self, now: int) -> list[Any]:
        return [
            {name: window.to_row(now) for name, window in self.orders.items()},
            self.order_amounts.to_row(),
            self.payment_amounts.to_row(),
            self.payment_gaps.to_row(),
            self.last_payment,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> "Activity":
        activity = cls()
        windows, orders, payments, gaps, activity.last_payment = row
        for name, window in activity.orders.items():
            window.load(windows[name])
        activity.order_amounts = RunningStats.from_row(orders)
        activity.payment_amounts = RunningStats.from_row(payments)
        activity.payment_gaps = RunningStats.from_row(gaps)
        return activity
