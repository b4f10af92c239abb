"""Early warning: how long before a customer's first unpaid due date riskstream said it was
heading there, and how often it said so of customers that kept paying.

A `Signal` is one output that says something of a customer's risk (`signal_of` reads one from
a line of a backtest's output files): the customer entering tier high (``tier_high``) or
medium from low (``tier_medium``, listed, not a warning: medium asks for a look), an
alert (a rule alert by its rule id, any other by its kind), a credit action proposed
(``action:prepayment``, ``action:shorten_terms``) or an order decided ``order:prepay`` or
``order:reject``. `WARNINGS` are the kinds that claim the customer may not pay; ``overdue``
and ``late_payment`` are not among them: they report that an invoice *is* late, which is the
event itself (and a day's slip of a customer that pays), not a warning of it.

A customer's `Fate` is what its history meant (a line of the truth file of
``riskstream generate``): when it started to deteriorate and from when it does not pay (the
end of the due date of the first invoice it never pays). Against the fates, `measure` takes
the signals of some kinds and says, for the customers that stop paying within the history
(*non-payers*), how many days before that moment the first signal came (from the start of
the deterioration on: what came before is not about it), and, for the customers that never
deteriorate (*kept paying*), how many got a signal at all: false alarms. Customers that
deteriorate without stopping paying within the history are neither.

>>> from datetime import UTC, datetime
>>> def day(d): return datetime(2026, 3, d, tzinfo=UTC)
>>> fates = [Fate("a", day(1), day(30)), Fate("b", None, None), Fate("c", None, None)]
>>> signals = [Signal("a", "tier_high", day(10)), Signal("b", "tier_high", day(2))]
>>> figures = measure(signals, fates, {"tier_high"}, end=day(31))
>>> figures.lead_days, figures.caught, figures.false_alarms, figures.kept_paying
([20.0], 1, 1, 2)
"""

import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

OVERALL = "overall"
"""The name of the figures of all `WARNINGS` together."""

FAMILIES: dict[str, frozenset[str]] = {
    "tier": frozenset({"tier_high", "action:prepayment", "action:shorten_terms", "order:prepay",
                       "order:reject"}),
    "lateness": frozenset({"payment_over_30_days_late", "payment_over_60_days_late",
                           "payment_received_over_30_days_late", "payment_slipping"}),
    "dso": frozenset({"dso_worsening", "dso_high"}),
}  # fmt: skip
"""The signal kinds that claim a customer may not pay, in families: its tier turning high and
what follows from it (prepayment or shorter terms proposed, orders to be prepaid or
rejected); the rules on invoices far past due or paid far past due; the rules on days sales
outstanding."""

WARNINGS: frozenset[str] = frozenset().union(*FAMILIES.values())
"""Every kind of signal that counts in the `OVERALL` figures."""

_ORDER_WARNINGS = ("prepay", "reject")
_LOW = ("low", None)
_ACTION_WARNINGS = ("prepayment", "shorten_terms")


@dataclass(frozen=True, slots=True)
class Signal:
    """One output of one kind about one customer, at its event time."""

    customer_id: str
    kind: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Fate:
    """What a customer's history meant: when it started to deteriorate and the moment its
    first unpaid invoice turned overdue (None: not so)."""

    customer_id: str
    deteriorates_from: datetime | None
    unpaid_from: datetime | None

    @classmethod
    def from_truth(cls, line: Mapping[str, Any]) -> "Fate":
        """From a line of the truth file, parsed (times as ISO text).

        >>> Fate.from_truth({"customer_id": "c1", "deteriorates_from": None,
        ...                  "first_unpaid_due": "2026-03-31"}).unpaid_from
        datetime.datetime(2026, 4, 1, 0, 0, tzinfo=datetime.timezone.utc)
        """
        onset, due = line["deteriorates_from"], line.get("first_unpaid_due")
        return cls(
            str(line["customer_id"]),
            None if onset is None else datetime.fromisoformat(onset),
            None if due is None else _end_of(date.fromisoformat(due)),
        )


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def signal_of(output: Mapping[str, Any]) -> Signal | None:
    """The signal an output line of a backtest is, if any.

    >>> signal_of({"type": "risk_change", "customer_id": "c1", "tier": "high",
    ...            "previous_tier": "medium", "event_time": "2026-03-02T10:00:00Z"}).kind
    'tier_high'
    >>> signal_of({"type": "order_decision", "customer_id": "c1", "outcome": "approve",
    ...            "event_time": "2026-03-02T10:00:00Z"}) is None
    True
    """
    kind: str | None = None
    match output["type"]:
        case "risk_change" if output["tier"] == "high" != output["previous_tier"]:
            kind = "tier_high"
        case "risk_change" if output["tier"] == "medium" and output["previous_tier"] in _LOW:
            kind = "tier_medium"
        case "alert":
            rule = output["kind"] == "rule"
            kind = str(output["details"]["rule_id"] if rule else output["kind"])
        case "credit_action" if output["kind"] in _ACTION_WARNINGS:
            kind = f"action:{output['kind']}"
        case "order_decision" if output["outcome"] in _ORDER_WARNINGS:
            kind = f"order:{output['outcome']}"
    if kind is None:
        return None
    return Signal(output["customer_id"], kind, datetime.fromisoformat(output["event_time"]))


@dataclass(frozen=True, slots=True)
class Figures:
    """How early and how falsely some kinds of signal warned.

    ``lead_days``: per non-payer, the days from its first signal to its first unpaid due
    date's end, 0 if none came before; ``caught``: how many had one before; ``false_alarms``:
    how many of the ``kept_paying`` customers had one at all.
    """

    lead_days: list[float]
    caught: int
    kept_paying: int
    false_alarms: int

    @property
    def median_lead_days(self) -> float | None:
        """The median lead time over all non-payers (a missed one counts 0)."""
        return statistics.median(self.lead_days) if self.lead_days else None

    @property
    def caught_share(self) -> float | None:
        return self.caught / len(self.lead_days) if self.lead_days else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.false_alarms / self.kept_paying if self.kept_paying else None

    def summary(self) -> dict[str, float | int | None]:
        """The figures as one JSON-ready mapping, rounded."""
        return {
            "non_payers": len(self.lead_days),
            "caught": self.caught,
            "caught_share": _rounded(self.caught_share),
            "median_lead_days": _rounded(self.median_lead_days, 1),
            "kept_paying": self.kept_paying,
            "false_alarms": self.false_alarms,
            "false_alarm_rate": _rounded(self.false_alarm_rate),
        }


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def measure(
    signals: Iterable[Signal], fates: Iterable[Fate], kinds: Collection[str], end: datetime
) -> Figures:
    """The figures of the signals of ``kinds`` against the fates, over a history ending at
    ``end`` (a non-payer whose first unpaid invoice is due later is not judged)."""
    first: dict[str, list[datetime]] = {}
    for signal in signals:
        if signal.kind in kinds:
            first.setdefault(signal.customer_id, []).append(signal.at)
    lead_days, caught, kept, false_alarms = [], 0, 0, 0
    for fate in fates:
        times = first.get(fate.customer_id, [])
        if fate.deteriorates_from is None and fate.unpaid_from is None:
            kept += 1
            false_alarms += bool(times)
        elif fate.unpaid_from is not None and fate.unpaid_from <= end:
            since = fate.deteriorates_from or datetime.min.replace(tzinfo=UTC)
            warned = [at for at in times if since <= at < fate.unpaid_from]
            lead = (fate.unpaid_from - min(warned)) / timedelta(days=1) if warned else 0.0
            lead_days.append(lead)
            caught += bool(warned)
    return Figures(lead_days, caught, kept, false_alarms)


def by_kind(signals: Iterable[Signal], fates: Iterable[Fate], end: datetime) -> dict[str, Figures]:
    """The figures of every kind of signal seen, by kind, of each of the `FAMILIES` (as
    ``family:tier`` and so on) and of all `WARNINGS` as `OVERALL`."""
    signals, fates = list(signals), list(fates)
    kinds = sorted({signal.kind for signal in signals})
    figures = {kind: measure(signals, fates, {kind}, end) for kind in kinds}
    for family, members in FAMILIES.items():
        figures[f"family:{family}"] = measure(signals, fates, members, end)
    figures[OVERALL] = measure(signals, fates, WARNINGS, end)
    return figures
