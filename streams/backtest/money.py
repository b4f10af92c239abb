"""The money figures of a backtest's report, pure: from the invoices of ``ledger.jsonl`` (amounts
exact, as `Decimal`) and the alerts and decisions, per currency, never summed across currencies.

>>> from datetime import UTC, date, datetime
>>> d = lambda day: datetime(2026, 3, day, tzinfo=UTC)
>>> invoices = [
...     Invoice("c1", "i1", None, "EUR", Decimal("100"), d(1), date(2026, 3, 10),
...             ((d(20), Decimal("100")),)),
...     Invoice("c2", "i2", None, "USD", Decimal("50"), d(2), date(2026, 3, 5)),
... ]
>>> [(i.owed(d(15)), i.overdue(d(15))) for i in invoices]
[(Decimal('100'), Decimal('100')), (Decimal('50'), Decimal('50'))]
>>> [(b["exposure"], b["overdue"]) for b in balances(invoices, [d(15), d(25)])["EUR"]]
[('100', '100'), ('0', '0')]
>>> aging(invoices, d(25))["USD"]["16-30"]
'50'
"""

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

AGING = ((0, "not due"), (1, "1-15"), (16, "16-30"), (31, "31-60"), (61, "61-90"), (91, "over 90"))
"""Aging buckets: (first day past due, name)."""
DSO_WINDOW = timedelta(days=90)
SEVERE = timedelta(days=30)
"""An overdue invoice turned *severe* when paid more than this after its due date, or never."""
LEAD_BUCKETS = ((0, "0-6 days"), (7, "7-29 days"), (30, "30 days or more"))


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice with its money: issued, due, paid (when, how much), written off or cancelled."""

    customer_id: str
    invoice_id: str
    order_id: str | None
    currency: str
    amount: Decimal
    issued: datetime
    due: date
    payments: tuple[tuple[datetime, Decimal], ...] = ()
    closed: datetime | None = None
    """When it was written off or cancelled: nothing is owed from then on."""
    written_off: bool = False

    def owed(self, at: datetime) -> Decimal:
        """What the customer owed on it at ``at``."""
        if self.issued > at or (self.closed is not None and self.closed <= at):
            return Decimal(0)
        paid = sum((amount for moment, amount in self.payments if moment <= at), Decimal(0))
        return max(self.amount - paid, Decimal(0))

    def overdue(self, at: datetime) -> Decimal:
        """What was owed at ``at`` past its due date."""
        return self.owed(at) if at.date() > self.due else Decimal(0)

    def settled(self) -> datetime | None:
        """When it was paid in full, None if never."""
        paid = Decimal(0)
        for moment, amount in sorted(self.payments):
            paid += amount
            if paid >= self.amount:
                return moment
        return None

    def severe(self, end: datetime) -> bool | None:
        """Paid more than `SEVERE` after its due date, written off or still unpaid then; None
        when the history ends before that could be known."""
        limit = datetime.combine(self.due, datetime.min.time(), end.tzinfo) + SEVERE
        settled = self.settled()
        if self.written_off or (settled is not None and settled > limit):
            return True
        if settled is not None or self.closed is not None:
            return False
        return True if end > limit else None


def from_line(line: dict[str, Any]) -> Invoice:
    """An `Invoice` from a ``ledger_invoice`` line of ``ledger.jsonl``."""
    closing = line["written_off_at"] or line["cancelled_at"]
    return Invoice(
        line["customer_id"], line["invoice_id"], line["order_id"], line["currency"],
        Decimal(line["amount"]), datetime.fromisoformat(line["issued_at"]),
        date.fromisoformat(line["due_date"]),
        tuple((datetime.fromisoformat(p["at"]), Decimal(p["amount"])) for p in line["payments"]),
        None if closing is None else datetime.fromisoformat(closing),
        line["written_off_at"] is not None,
    )  # fmt: skip


def _total(amounts: Iterable[Decimal]) -> str:
    return format(sum(amounts, Decimal(0)), "f")


def by_currency(invoices: Iterable[Invoice]) -> dict[str, list[Invoice]]:
    grouped: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        grouped[invoice.currency].append(invoice)
    return dict(sorted(grouped.items()))


def balances(invoices: Sequence[Invoice], moments: Sequence[datetime]) -> dict[str, list[dict]]:
    """Per currency, at each moment: the exposure (all owed) and the overdue part of it."""
    return {
        currency: [
            {
                "at": moment.date().isoformat(),
                "exposure": _total(i.owed(moment) for i in group),
                "overdue": _total(i.overdue(moment) for i in group),
            }
            for moment in moments
        ]
        for currency, group in by_currency(invoices).items()
    }


def aging(invoices: Sequence[Invoice], at: datetime) -> dict[str, dict[str, str]]:
    """Per currency, what was owed at ``at`` by days past due, in the `AGING` buckets."""
    starts = [start for start, _ in AGING]
    figures = {}
    for currency, group in by_currency(invoices).items():
        buckets: dict[str, Decimal] = {name: Decimal(0) for _, name in AGING}
        for invoice in group:
            late = max((at.date() - invoice.due).days, 0)
            buckets[AGING[bisect.bisect_right(starts, late) - 1][1]] += invoice.owed(at)
        figures[currency] = {name: format(amount, "f") for name, amount in buckets.items()}
    return figures


def dso(invoices: Sequence[Invoice], moments: Sequence[datetime]) -> dict[str, list[dict]]:
    """Per currency, days sales outstanding at each moment: what is owed over what was invoiced
    in the `DSO_WINDOW` before, times its days (None when nothing was invoiced).

    >>> from datetime import UTC
    >>> at = datetime(2026, 6, 1, tzinfo=UTC)
    >>> sold = Invoice("c", "i", None, "EUR", Decimal("300"), at - timedelta(days=10), at.date())
    >>> dso([sold], [at])
    {'EUR': [{'at': '2026-06-01', 'dso': 90.0}]}
    """
    figures = {}
    for currency, group in by_currency(invoices).items():
        points = []
        for moment in moments:
            sales = sum(
                (i.amount for i in group if moment - DSO_WINDOW < i.issued <= moment), Decimal(0)
            )
            owed = sum((i.owed(moment) for i in group), Decimal(0))
            days = float(owed / sales * DSO_WINDOW.days) if sales else None
            points.append({"at": moment.date().isoformat(), "dso": days})
        figures[currency] = points
    return figures


def held_orders(
    decisions: Iterable[dict[str, Any]],
    orders: dict[str, dict[str, Any]],
    bad_orders: set[str],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per outcome held (review, prepay) and currency: the orders and their value, and of them
    those whose invoice then went bad (paid late or not at all).

    >>> orders = {"o1": {"currency": "EUR", "amount": "10.50"}, "o2": {"currency": "EUR",
    ...     "amount": "4"}, "o3": {"currency": "USD", "amount": "7"}}
    >>> held = [{"order_id": o, "outcome": "review"} for o in ("o1", "o2", "o3")]
    >>> held_orders(held, orders, {"o2"})["review"]["EUR"]
    {'orders': 2, 'value': '14.50', 'went_bad': 1, 'value_went_bad': '4'}
    """
    grouped = (
        (decision["outcome"], decision["order_id"])
        for decision in decisions
        if decision["outcome"] in ("review", "prepay")
    )
    return order_values(grouped, orders, bad_orders)


def order_values(
    grouped: Iterable[tuple[str, str]],
    orders: dict[str, dict[str, Any]],
    bad_orders: set[str],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per group and currency, of the (group, order id) pairs ``grouped``: the orders and their
    value, and of them those whose invoice then went bad; orders not in ``orders`` left out.

    >>> orders = {"o1": {"currency": "EUR", "amount": "10.50"}}
    >>> changed = [("approve -> review", "o1"), ("approve -> review", "o9")]
    >>> order_values(changed, orders, {"o1"})["approve -> review"]["EUR"]
    {'orders': 1, 'value': '10.50', 'went_bad': 1, 'value_went_bad': '10.50'}
    """
    sums: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    bad: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for group, order_id in grouped:
        order = orders.get(order_id)
        if order is None:
            continue
        amount = Decimal(order["amount"])
        sums[group][order["currency"]].append(amount)
        if order_id in bad_orders:
            bad[group][order["currency"]].append(amount)
    return {
        group: {
            currency: {
                "orders": len(amounts),
                "value": _total(amounts),
                "went_bad": len(bad[group][currency]),
                "value_went_bad": _total(bad[group][currency]),
            }
            for currency, amounts in sorted(per_currency.items())
        }
        for group, per_currency in sorted(sums.items())
    }


def lead_times(
    bad: Iterable[tuple[str, datetime, datetime]], alerts: dict[str, Sequence[datetime]]
) -> dict[str, Any]:
    """How many days before each bad invoice went bad (``known``) the customer's first alert
    came, counting alerts from `SEVERE` before its issue up to, not at, the moment it went bad
    (an alert then is the news, not a warning): (customer, issued, known) per invoice.

    >>> from datetime import UTC
    >>> day = lambda n: datetime(2026, 1, n, tzinfo=UTC)
    >>> leads = lead_times([("c1", day(2), day(20)), ("c2", day(2), day(20))],
    ...                    {"c1": [day(1), day(18)]})
    >>> leads["alerted_before"], leads["median_days"], leads["days"]["7-29 days"]
    (1, 19.0, 1)
    >>> leads["days"]["no alert before"]
    1
    """
    leads, total = [], 0
    for customer, issued, known in bad:
        total += 1
        moments = sorted(alerts.get(customer, ()))
        first = bisect.bisect_left(moments, issued - SEVERE)
        if first < len(moments) and moments[first] < known:
            leads.append((known - moments[first]).days)
    starts = [start for start, _ in LEAD_BUCKETS]
    counts = Counter(LEAD_BUCKETS[bisect.bisect_right(starts, d) - 1][1] for d in leads)
    days = {name: counts[name] for _, name in LEAD_BUCKETS}
    days["no alert before"] = total - len(leads)
    return {
        "bad_invoices": total,
        "alerted_before": len(leads),
        "median_days": float(median(leads)) if leads else None,
        "days": days,
    }
