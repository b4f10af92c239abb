"""Aging of a customer's open invoices at a moment.

Days past due count calendar days (UTC) after the due date: an invoice due on the 10th is
1 day past due on the 11th. Balances fall in the usual buckets: current (not past due),
1-30, 31-60, 61-90 and over 90 days. *Overdue* also allows the grace: an invoice is overdue
once ``overdue_grace`` has passed after the end of its due date, so with a grace it can be
past due (bucket 1-30) without being overdue yet.
"""

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from features.eventtime import DAY
from features.items import Invoice
from features.units import to_decimal

_BUCKET_ENDS = (0, 30, 60, 90)


@dataclass(frozen=True, slots=True)
class Aging:
    """Open balances by days past due, at one moment.

    >>> from features.eventtime import DAY
    >>> invoices = [Invoice("e1", 0, 100_0000, due_day=10, paperless=False),
    ...             Invoice("e2", 0, 50_0000, due_day=45, paperless=False)]
    >>> aging = Aging.of(invoices, now=50 * DAY, grace=0)
    >>> aging.days_31_60, aging.days_1_30, aging.days_past_due, aging.overdue_balance
    (Decimal('100.00'), Decimal('50.00'), 40, Decimal('150.00'))
    """

    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    days_past_due: int
    """Of the oldest open item; 0 while nothing is past due."""
    overdue_balance: Decimal
    overdue_count: int

    @classmethod
    def of(cls, invoices: Iterable[Invoice], now: int, grace: int) -> "Aging":
        """The aging of the open ones of ``invoices`` at ``now``."""
        today = now // DAY
        overdue_before = (now - grace) // DAY
        buckets = [0] * (len(_BUCKET_ENDS) + 1)
        oldest = 0
        overdue_balance, overdue_count = 0, 0
        for invoice in invoices:
            balance = invoice.remaining
            if not balance:
                continue
            days = today - invoice.due_day
            if days > oldest:
                oldest = days
            buckets[bisect_left(_BUCKET_ENDS, days)] += balance  # first end >= days
            if invoice.due_day < overdue_before:
                overdue_balance += balance
                overdue_count += 1
        return cls(*map(to_decimal, buckets), oldest, to_decimal(overdue_balance), overdue_count)
