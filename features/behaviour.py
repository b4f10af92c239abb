"""Payment behaviour: how a customer pays, from the invoices it settled, disputed and bounced.

A settlement counts from its event time on and can be withdrawn: a bounced payment reopens the
invoices it paid, whose settlements then stop counting until they settle again. Early
payments count as zero days late in the average (earliness does not offset lateness).
"""

from typing import Any

from features.copying import copy_with
from features.records import Settlement
from features.stats import DecayedMean
from features.windows import recent_days

RECENT_DAYS = 90
"""The span of the recent behaviour: late payments and the invoicing that DSO divides by."""
DSO_CAP = 365.0


class PaymentBehaviour:
    """Counts and averages of a customer's invoices, settlements, disputes and bounces.

    >>> from decimal import Decimal
    >>> from features.eventtime import DAY
    >>> behaviour = PaymentBehaviour()
    >>> behaviour.record_invoice(0, 1000.0)
    >>> behaviour.record_settlement(
    ...     Settlement("i1", Decimal(1000), 30, 40 * DAY, 10, True), half_life=90 * DAY)
    >>> behaviour.avg_days_late, behaviour.on_time_share, behaviour.late_payments(now=41 * DAY)
    (10.0, 0.0, 1)
    >>> behaviour.dso(open_balance=500.0, now=41 * DAY)  # 500 open of 1000 billed in 90 days
    45.0
    """

    __slots__ = (
        "bounced",
        "days_after_due",
        "days_late",
        "disputed_invoices",
        "invoiced_recently",
        "invoices",
        "late_recently",
        "on_time",
        "settled",
    )

    def __init__(self) -> None:
        self.invoices = 0
        self.disputed_invoices = 0
        self.bounced = 0
        self.settled = 0
        self.on_time = 0
        self.days_late = DecayedMean()
        self.days_after_due = DecayedMean()
        self.late_recently = recent_days()
        self.invoiced_recently = recent_days()

    def record_invoice(self, time: int, amount: float) -> None:
        self.invoices += 1
        self.invoiced_recently.add(time, amount)

    def record_settlement(self, settlement: Settlement, half_life: int) -> None:
        self.settled += 1
        self.days_late.add(max(settlement.days_late, 0), settlement.time, half_life)
        self.days_after_due.add(settlement.days_late, settlement.time, half_life)
        if settlement.late:
            self.late_recently.add(settlement.time)
        else:
            self.on_time += 1

    def withdraw_settlement(self, settlement: Settlement, half_life: int) -> None:
        self.settled -= 1
        self.days_late.remove(max(settlement.days_late, 0), settlement.time, half_life)
        self.days_after_due.remove(settlement.days_late, settlement.time, half_life)
        if settlement.late:
            self.late_recently.remove(settlement.time)
        else:
            self.on_time -= 1

    @property
    def avg_days_late(self) -> float | None:
        """Days late of the settled invoices, recent ones weighing more; None before any."""
        return self.days_late.value

    @property
    def avg_days_after_due(self) -> float | None:
        """Days between due date and settlement, negative when early, decayed like
        `avg_days_late`; None before any settlement."""
        return self.days_after_due.value

    @property
    def on_time_share(self) -> float | None:
        """Share of the settled invoices paid on time; None before any."""
        return self.on_time / self.settled if self.settled else None

    @property
    def dispute_rate(self) -> float:
        """Share of the issued invoices that were disputed."""
        return self.disputed_invoices / self.invoices if self.invoices else 0.0

    def late_payments(self, now: int) -> int:
        """Invoices settled late in the last 90 days."""
        return self.late_recently.totals(now)[0]

    def dso(self, open_balance: float, now: int) -> float:
        """Days sales outstanding: open balance / invoiced in the last 90 days x 90.

        Capped at 365 days, which is also its value when something is open but nothing was
        invoiced in 90 days.
        """
        invoiced = self.invoiced_recently.totals(now)[1]
        if invoiced <= 0.0:
            return DSO_CAP if open_balance > 0.0 else 0.0
        return min(open_balance / invoiced * RECENT_DAYS, DSO_CAP)

    def copy(self) -> "PaymentBehaviour":
        return copy_with(
            self,
            days_late=copy_with(self.days_late),
            days_after_due=copy_with(self.days_after_due),
            late_recently=self.late_recently.copy(),
            invoiced_recently=self.invoiced_recently.copy(),
        )

    def to_row(self, now: int) -> list[Any]:
        return [
            self.invoices,
            self.disputed_invoices,
            self.bounced,
            self.settled,
            self.on_time,
            self.days_late.to_row(),
            self.late_recently.to_row(now),
            self.invoiced_recently.to_row(now),
            self.days_after_due.to_row(),
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> "PaymentBehaviour":
        behaviour = cls()
        (
            behaviour.invoices,
            behaviour.disputed_invoices,
            behaviour.bounced,
            behaviour.settled,
            behaviour.on_time,
        ) = row[:5]
        behaviour.days_late = DecayedMean.from_row(row[5])
        behaviour.late_recently.load(row[6])
        behaviour.invoiced_recently.load(row[7])
        if len(row) > 8:  # absent from states saved before it was kept
            behaviour.days_after_due = DecayedMean.from_row(row[8])
        return behaviour
