"""Payment behaviour: how a customer pays, from the invoices it settled, disputed and bounced.

Every figure is a sum over the customer's invoices, kept exactly (integers) and in event time:
a settlement counts from its own time on, in the tile of its own day, and is taken back
exactly as it was added when the allocation changes it (a bounced payment, a payment that
names the invoice another one had paid). Early payments count as zero days late in the
average (earliness does not offset lateness).
"""

from typing import Any

from features.eventtime import DAY
from features.items import Settlement
from features.stats import DecayedMean
from features.units import to_float
from features.windows import recent_days

RECENT_DAYS = 90
"""The span of the recent behaviour: late payments and the invoicing that DSO divides by."""
TREND_HALF_LIFE = 21 * DAY
"""Half-life of the recent days after due that `PaymentBehaviour.days_late_trend` sets
against the long run: about the last month or two of settlements."""
TREND_MIN_SETTLED = 3
"""Settlements the recent mean needs before there is a trend."""
DSO_CAP = 365.0


class PaymentBehaviour:
    """Counts and averages of a customer's invoices, settlements, disputes and bounces.

    >>> from features.eventtime import DAY
    >>> from features.stats import DECAY_EPOCH
    >>> behaviour = PaymentBehaviour()
    >>> behaviour.record_invoice(DECAY_EPOCH, 1000_0000)
    >>> behaviour.record_settlement(
    ...     Settlement(DECAY_EPOCH + 40 * DAY, "e9", 10, True), half_life=90 * DAY)
    >>> behaviour.avg_days_late, behaviour.on_time_share
    (10.0, 0.0)
    >>> behaviour.late_payments(now=DECAY_EPOCH + 41 * DAY)
    1
    >>> behaviour.dso(open_balance=500_0000, now=DECAY_EPOCH + 41 * DAY)  # 500 of 1000 billed
    45.0
    """

    __slots__ = (
        "bounced",
        "days_after_due",
        "days_after_due_recent",
        "days_after_due_squared",
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
        """Of the invoices forgotten; those kept count at read time."""
        self.bounced = 0
        self.settled = 0
        self.on_time = 0
        self.days_late = DecayedMean()
        self.days_after_due = DecayedMean()
        self.days_after_due_recent = DecayedMean()
        self.days_after_due_squared = DecayedMean()
        self.late_recently = recent_days()
        self.invoiced_recently = recent_days()

    def record_invoice(self, time: int, amount: int) -> None:
        self.invoices += 1
        self.invoiced_recently.add(time, amount)

    def record_settlement(self, settlement: Settlement, half_life: int, sign: int = 1) -> None:
        """Count a settlement (``sign`` -1: take it back)."""
        time, days_late = settlement.time, settlement.days_late
        self.settled += sign
        self.days_late.add(max(days_late, 0), time, half_life, sign)
        self.days_after_due.add(days_late, time, half_life, sign)
        self.days_after_due_recent.add(days_late, time, TREND_HALF_LIFE, sign)
        self.days_after_due_squared.add(days_late * days_late, time, half_life, sign)
        if settlement.late:
            self.late_recently.add(time, 0, sign)
        else:
            self.on_time += sign

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
    def days_late_trend(self) -> float | None:
        """How much later than in the long run the customer pays lately: the days after due
        with a half-life of three weeks less those with the long half-life; None with fewer
        than three settlements. A customer slipping a few days a week shows it weeks before
        an invoice goes far past due; one that pays on its usual calendar stays near 0."""
        recent, overall = self.days_after_due_recent, self.days_after_due
        if recent.count < TREND_MIN_SETTLED or overall.value is None or recent.value is None:
            return None
        return recent.value - overall.value

    @property
    def days_late_spread(self) -> float | None:
        """The standard deviation of the days after due, decayed like their average; None
        before a settlement."""
        mean, squares = self.days_after_due.value, self.days_after_due_squared.value
        if mean is None or squares is None:
            return None
        return max(squares - mean * mean, 0.0) ** 0.5

    @property
    def on_time_share(self) -> float | None:
        """Share of the settled invoices paid on time; None before any."""
        return self.on_time / self.settled if self.settled else None

    def dispute_rate(self, disputed_kept: int) -> float:
        """Share of the issued invoices that were disputed while open: those forgotten, and
        ``disputed_kept`` of those kept."""
        disputed = self.disputed_invoices + disputed_kept
        return disputed / self.invoices if self.invoices else 0.0

    def late_payments(self, now: int) -> int:
        """Invoices settled late in the last 90 days."""
        return self.late_recently.totals(now)[0]

    def dso(self, open_balance: int, now: int) -> float:
        """Days sales outstanding: open balance / invoiced in the last 90 days x 90.

        Capped at 365 days, which is also its value when something is open but nothing was
        invoiced in 90 days.
        """
        invoiced = self.invoiced_recently.totals(now)[1]
        if invoiced <= 0:
            return DSO_CAP if open_balance > 0 else 0.0
        return min(to_float(open_balance) / to_float(invoiced) * RECENT_DAYS, DSO_CAP)

    def to_row(self, now: int) -> list[Any]:
        return [
            self.invoices,
            self.disputed_invoices,
            self.bounced,
            self.settled,
            self.on_time,
            self.days_late.to_row(),
            self.days_after_due.to_row(),
            self.late_recently.to_row(now),
            self.invoiced_recently.to_row(now),
            self.days_after_due_recent.to_row(),
            self.days_after_due_squared.to_row(),
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> "PaymentBehaviour":
        behaviour = cls()
        (behaviour.invoices, behaviour.disputed_invoices, behaviour.bounced, behaviour.settled,
         behaviour.on_time) = row[:5]  # fmt: skip
        behaviour.days_late = DecayedMean.from_row(row[5])
        behaviour.days_after_due = DecayedMean.from_row(row[6])
        behaviour.late_recently.load(row[7])
        behaviour.invoiced_recently.load(row[8])
        if len(row) > 9:
            behaviour.days_after_due_recent = DecayedMean.from_row(row[9])
            behaviour.days_after_due_squared = DecayedMean.from_row(row[10])
        else:  # a record from before the trend: its days after due start afresh with it, so
            # that the trend and the spread compare sums over the same settlements
            behaviour.days_after_due = DecayedMean()
        return behaviour
