"""Synthetic history: customers who order, are invoiced and pay, most on time, some not.

Each customer has a segment (retail, wholesale, enterprise) that sets its credit limit, payment
terms, order sizes and how often it orders; orders follow the seasons (more before the end of
the year, fewer in summer). Most customers pay on time; some always pay late; some deteriorate,
paying later week after week from some point on and finally not at all; a few are anomalous:
orders far above their usual size and payments that bounce. Asked to, a bureau reports on
every customer monthly: a deteriorating one's score starts falling `WARNING_WEEKS` before
its payments do, and its rating (on the scale the built-in configuration knows) with it.

A `Calendar` makes the history look like business-to-business payments: invoices due at the
end of a month ("net 30 end of month"), customers that pay in payment runs on a fixed weekday
or day of the month (so whole blocks of invoices are paid, or turn overdue, at once), invoices
paid in two parts, and a stronger or weaker season. `truth` says what was meant: which
customers deteriorate, from when, and which stop paying.

Deterministic for a seed: every customer draws from its own generator, seeded by the seed and
its number, so a customer's history does not depend on how many others there are; the
calendar draws from a second one, so the default calendar gives the same history as before
calendars existed, and the credit reports from a third. Events come
in event-time order (ties by event id), streamed: memory grows with the number of customers,
never with the length of the history.

>>> from datetime import datetime, UTC
>>> end = datetime(2026, 6, 1, tzinfo=UTC)
>>> events = list(generate_events(customers=3, days=60, end=end))
>>> sorted({event.type.split(".")[0] for event in events})
['customer', 'invoice', 'order', 'payment']
>>> events == list(generate_events(customers=3, days=60, end=end))
True
>>> first_three = {event.customer_id for event in events}
>>> more = generate_events(customers=30, days=60, end=end)
>>> [event for event in more if event.customer_id in first_three] == events
True
>>> all(a.event_time <= b.event_time for a, b in zip(events, events[1:]))
True
"""

import calendar as months
import heapq
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from features.industry import BUILT_IN_SCALES
from schemas.events import (
    CreditLimitUpdated,
    CreditReport,
    CustomerProfile,
    InputEvent,
    InvoiceIssued,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
    PaymentTermsUpdated,
)
from schemas.money import Money
from streams.backtest.sources import event_order, merged


@dataclass(frozen=True, slots=True)
class Segment:
    """What customers of one segment are like."""

    name: str
    share: float
    limits: tuple[int, ...]
    terms: tuple[int, ...]
    order_amount: tuple[int, int]
    days_between_orders: tuple[float, float]


SEGMENTS = (
    Segment("retail", 0.6, (5_000, 10_000, 20_000), (14, 30), (50, 1_500), (2, 12)),
    Segment("wholesale", 0.3, (25_000, 50_000, 100_000), (30, 45), (500, 6_000), (4, 18)),
    Segment("enterprise", 0.1, (150_000, 300_000, 500_000), (45, 60, 90), (3_000, 30_000), (7, 30)),
)
BEHAVIOURS = (("punctual", 0.75), ("late", 0.12), ("deteriorating", 0.10), ("anomalous", 0.03))
COUNTRIES = ("DE", "FR", "NL", "AT", "IT", "ES")
BOUNCE_RATE = {"anomalous": 0.15}
BASE_BOUNCE_RATE = 0.01
DOUBLING_DAYS = 140
"""A deteriorating customer's orders grow by their usual size every 20 weeks once it turns."""

PAYMENT_RUNS = ("none", "weekly", "monthly", "mixed")
REPORT_EVERY = timedelta(days=30)
WARNING_WEEKS = 6
"""A deteriorating customer's bureau score starts falling this many weeks before it turns."""
DECLINE_PER_WEEK = 4.0
"""Points of the 0-100 bureau score a deteriorating customer loses a week once it falls."""
BUREAU_SCORE = {"punctual": 75, "late": 55, "deteriorating": 70, "anomalous": 60}
PAYMENT_INDEX = {"punctual": 2, "late": 20, "deteriorating": 3, "anomalous": 8}
"""The days beyond terms a bureau sees of each behaviour with other suppliers."""
INDUSTRIES = ("C10.7", "C25.1", "F41.2", "G46.9", "H49.4", "I56.1", "J62.0", "M70.2")
BUREAU = "bureau"
RATINGS = tuple(zip((80, 60, 40, 0), BUILT_IN_SCALES[BUREAU], strict=True))
"""The bands of the bureau's ratings, on the scale the built-in ``industry`` document knows:
A from a score of 80, B from 60, C from 40, else D."""
RUN_TIME = time(10, 0)
"""The time of day every payment of a payment run is made (the same for all: a block)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Calendar:
    """When invoices fall due and are paid.

    ``end_of_month``: an invoice falls due on the last day of the month its terms end in;
    ``payment_runs``: ``none`` (each invoice paid on its own day), ``weekly`` (each customer
    pays on one weekday), ``monthly`` (on one day of the month) or ``mixed`` (half and half):
    an invoice paid on time goes out in the last run before it is due, a late one in the first
    run after the customer meant to pay; ``partial_share``: the share of customers that pay
    every invoice in two parts, the rest in the next run (or two weeks later); ``season``: how
    much ordering swings over the year (0.4: 1.4 times the mean in late November, 0.6 in late
    May).
    """

    end_of_month: bool = False
    payment_runs: str = "none"
    partial_share: float = 0.0
    season: float = 0.4

    def __post_init__(self) -> None:
        if self.payment_runs not in PAYMENT_RUNS:
            raise ValueError(f"payment runs must be one of {', '.join(PAYMENT_RUNS)}")
        if not 0 <= self.partial_share <= 1 or not 0 <= self.season < 1:
            raise ValueError("the partial share must be in [0, 1] and the season in [0, 1)")


B2B = Calendar(end_of_month=True, payment_runs="mixed", partial_share=0.1)
"""Business to business as it is: net terms to the end of the month, payment runs, part
payments."""


def generate_events(
    customers: int,
    days: int,
    end: datetime,
    seed: int = 7,
    currency: str | Sequence[str] = "EUR",
    calendar: Calendar = Calendar(),
    credit_reports: bool = False,
) -> Iterator[InputEvent]:
    """The events of ``customers`` customers over the ``days`` days before ``end``, in order;
    with ``credit_reports``, a bureau's monthly report on each."""
    return generate_history(customers, days, end, seed, currency, calendar, credit_reports)[0]


def generate_history(
    customers: int,
    days: int,
    end: datetime,
    seed: int = 7,
    currency: str | Sequence[str] = "EUR",
    calendar: Calendar = Calendar(),
    credit_reports: bool = False,
) -> tuple[Iterator[InputEvent], list["Customer"]]:
    """The events, as `generate_events`, and the customers, whose `Customer.truth` is
    complete once the events are read. Several currencies take turns: customer ``n`` trades in
    the ``n % len(currency)``-th."""
    start = end - timedelta(days=days)
    currencies = (currency,) if isinstance(currency, str) else tuple(currency)
    people = [
        Customer(number, seed, currencies[number % len(currencies)], calendar, credit_reports)
        for number in range(customers)
    ]
    return merged(customer.events(start, end) for customer in people), people


def month_end(day: date) -> date:
    """The last day of the month of ``day``.

    >>> month_end(date(2026, 2, 3)), month_end(date(2028, 2, 29))
    (datetime.date(2026, 2, 28), datetime.date(2028, 2, 29))
    """
    return day.replace(day=months.monthrange(day.year, day.month)[1])


def order_growth(days_bad: int) -> Decimal:
    """The factor on a deteriorating customer's order size ``days_bad`` days after it turned,
    exact (money never goes through a float).

    >>> order_growth(0), order_growth(7), order_growth(140)
    (Decimal('1'), Decimal('1.05'), Decimal('2'))
    """
    return 1 + Decimal(days_bad) / DOUBLING_DAYS


def seasonal(moment: datetime, amplitude: float = 0.4) -> float:
    """How busy ordering is at a time of year: about 1.4 in late November, 0.6 in late May.

    >>> round(seasonal(datetime(2026, 11, 26)), 2), round(seasonal(datetime(2026, 5, 28)), 2)
    (1.4, 0.6)
    """
    day = moment.timetuple().tm_yday
    return 1.0 + amplitude * math.cos(2 * math.pi * (day - 330) / 365)


class Customer:
    """One synthetic customer: who it is, and a lazy stream of its events."""

    def __init__(
        self,
        number: int,
        seed: int,
        currency: str,
        calendar: Calendar = Calendar(),
        credit_reports: bool = False,
    ) -> None:
        self.id = f"cust-{number:05d}"
        self.rng = random.Random(f"{seed}:{number}")
        self.currency = currency
        self.segment = _pick(self.rng, [(s, s.share) for s in SEGMENTS])
        self.behaviour = _pick(self.rng, BEHAVIOURS)
        self.limit = Decimal(self.rng.choice(self.segment.limits))
        self.terms = self.rng.choice(self.segment.terms)
        self.calendar = calendar
        self.dates = random.Random(f"{seed}:{number}:calendar")
        """The calendar's draws, apart, so that the default calendar changes nothing."""
        self.bureau = random.Random(f"{seed}:{number}:bureau") if credit_reports else None
        """The credit reports' draws, apart too; None: no reports."""
        runs = calendar.payment_runs
        if runs == "mixed":
            runs = self.dates.choice(("weekly", "monthly"))
        self.run: tuple[str, int] | None = None
        """How the customer pays: ("weekly", weekday 0-4) or ("monthly", day 1-28), or None."""
        if runs == "weekly":
            self.run = ("weekly", self.dates.randint(0, 4))
        elif runs == "monthly":
            self.run = ("monthly", self.dates.randint(1, 28))
        self.pays_in_parts = bool(calendar.partial_share) and (
            self.dates.random() < calendar.partial_share
        )
        self.onset: datetime | None = None
        self.stopped_paying: datetime | None = None
        """When the first invoice was issued that the customer never meant to pay."""
        self.first_unpaid_due: date | None = None
        """That invoice's due date."""

    def truth(self) -> dict[str, object]:
        """What the customer is meant to be: its behaviour, when it starts to deteriorate and
        when it stops paying (None if never, or not within the history) and the due date of
        the first invoice it does not pay, its terms and payment run. Complete once its
        events are read."""
        deteriorates = self.behaviour == "deteriorating"
        return {
            "customer_id": self.id,
            "behaviour": self.behaviour,
            "segment": self.segment.name,
            "terms_days": self.terms,
            "end_of_month": self.calendar.end_of_month,
            "payment_run": None if self.run is None else f"{self.run[0]}:{self.run[1]}",
            "pays_in_parts": self.pays_in_parts,
            "deteriorates_from": self.onset if deteriorates else None,
            "stops_paying_from": self.stopped_paying,
            "first_unpaid_due": self.first_unpaid_due,
        }

    def events(self, start: datetime, end: datetime) -> Iterator[InputEvent]:
        """Its events from ``start`` until ``end`` in event-time order."""
        trading = self._trading(start, end)
        if self.bureau is None:
            return trading
        # Trading first: its first event is drawn after the onset the reports read.
        return merged([trading, self._reports(start, end)])

    def _trading(self, start: datetime, end: datetime) -> Iterator[InputEvent]:
        """Its profile, orders, invoices and payments from ``start`` until ``end``, in order."""
        rng, common = self.rng, {"customer_id": self.id}
        later: list[tuple[datetime, str, InputEvent]] = []  # a heap of events to come
        for event in (
            CustomerProfile(event_id=f"{self.id}-profile", event_time=start,
                            currency=self.currency, country=rng.choice(COUNTRIES),
                            segment=self.segment.name, **common),
            CreditLimitUpdated(event_id=f"{self.id}-limit", event_time=start,
                               credit_limit=self._money(self.limit), **common),
            PaymentTermsUpdated(event_id=f"{self.id}-terms", event_time=start,
                                terms_days=self.terms, **common),
        ):  # fmt: skip
            heapq.heappush(later, (*event_order(event), event))
        onset = self.onset = start + (end - start) * rng.uniform(0.3, 0.8)
        moment, number = start + timedelta(hours=rng.uniform(1, 48)), 0
        while moment < end:
            while later and later[0][0] <= moment:
                yield heapq.heappop(later)[2]
            number += 1
            for event in self._order(number, moment, onset, end):
                heapq.heappush(later, (*event_order(event), event))
            low, high = self.segment.days_between_orders
            busy = seasonal(moment, self.calendar.season)
            moment += timedelta(days=rng.uniform(low, high) / busy)
        while later and later[0][0] < end:
            yield heapq.heappop(later)[2]

    def _order(
        self, number: int, moment: datetime, onset: datetime, end: datetime
    ) -> list[InputEvent]:
        """An order, its invoice two hours later, and its payment (if made before ``end``)."""
        rng, common = self.rng, {"customer_id": self.id}
        days_bad = max(0, (moment - onset).days) if self.behaviour == "deteriorating" else 0
        amount = Decimal(rng.randint(*self.segment.order_amount)) * order_growth(days_bad)
        if self.behaviour == "anomalous" and rng.random() < 0.1:
            amount *= rng.randint(8, 20)
        amount = amount.quantize(Decimal("0.01"))
        order_id, invoice_id = f"{self.id}-o{number}", f"{self.id}-i{number}"
        due = moment + timedelta(days=self.terms)
        if self.calendar.end_of_month:
            due = datetime.combine(month_end(due.date()), moment.timetz())
        events: list[InputEvent] = [
            OrderPlaced(event_id=f"{order_id}-placed", event_time=moment, order_id=order_id,
                        amount=self._money(amount), **common),
            InvoiceIssued(event_id=f"{invoice_id}-issued", event_time=moment + timedelta(hours=2),
                          invoice_id=invoice_id, order_id=order_id, amount=self._money(amount),
                          due_date=due.date(), paperless=rng.random() < 0.6, **common),
        ]  # fmt: skip
        days_late = self._days_late(days_bad / 7)
        if days_late is None:
            if self.stopped_paying is None:
                self.stopped_paying = events[1].event_time
                self.first_unpaid_due = due.date()
            return events  # never paid
        paid_at = self._in_run(
            moment, due + timedelta(days=days_late, hours=rng.uniform(0, 8)), days_late <= 0
        )
        if paid_at >= end:
            return events
        payment_id = f"{self.id}-p{number}"
        parts = [(payment_id, paid_at, amount)]
        if self.pays_in_parts:
            first = (amount * self.dates.randint(30, 70) / 100).quantize(Decimal("0.01"))
            gap = timedelta(days=14 if self.run is None else 1)  # without runs, two weeks on
            rest_at = self._in_run(moment, paid_at + gap, False)
            parts = [(payment_id, paid_at, first)]
            if rest_at < end:
                parts.append((f"{payment_id}r", rest_at, amount - first))
        for part_id, part_at, part in parts:
            events.append(PaymentReceived(event_id=f"{part_id}-received", event_time=part_at,
                                          payment_id=part_id, invoice_id=invoice_id,
                                          amount=self._money(part), **common))  # fmt: skip
        if rng.random() < BOUNCE_RATE.get(self.behaviour, BASE_BOUNCE_RATE):
            bounced = paid_at + timedelta(days=2)
            events.append(PaymentReversed(event_id=f"{payment_id}-bounced", event_time=bounced,
                                          payment_id=payment_id, **common))  # fmt: skip
        return events

    def _reports(self, start: datetime, end: datetime) -> Iterator[CreditReport]:
        """A bureau's report every `REPORT_EVERY` (as of the day before), on a 0-100 scale: a
        deteriorating customer's score falls, its payment index and debt rise, from
        `WARNING_WEEKS` before its onset. The rating is of the score without its monthly noise,
        as a bureau's rating moves less than its score: a steady customer keeps its own, a
        deteriorating one's falls band by band."""
        rng = self.bureau
        assert rng is not None and self.onset is not None
        base = BUREAU_SCORE[self.behaviour] + rng.uniform(-10, 10)
        industry, employees = rng.choice(INDUSTRIES), rng.randint(2, 500)
        equity = (self.limit * rng.randint(5, 20)).quantize(Decimal("0.01"))
        falls_from = self.onset - timedelta(weeks=WARNING_WEEKS)
        moment, number = start + timedelta(days=rng.uniform(0, 30)), 0
        while moment < end:
            number += 1
            weeks = max(0.0, (moment - falls_from) / timedelta(weeks=1))
            decline = DECLINE_PER_WEEK * weeks if self.behaviour == "deteriorating" else 0.0
            trend = base - decline
            score = min(100, max(0, round(trend + rng.uniform(-3, 3))))
            leverage = Decimal(round(1 + rng.uniform(0, 1.5) + decline / 20, 2))
            yield CreditReport(
                event_id=f"{self.id}-report{number}", customer_id=self.id, event_time=moment,
                source=BUREAU, as_of=(moment - timedelta(days=1)).date(), score=score,
                score_min=0, score_max=100, rating=_rating(trend),
                payment_index=max(0, round(PAYMENT_INDEX[self.behaviour] + decline / 2
                                           + rng.uniform(-2, 2))),
                total_debt=self._money((equity * leverage).quantize(Decimal("0.01"))),
                equity=self._money(equity), employees=employees, industry_code=industry,
            )  # fmt: skip
            moment += REPORT_EVERY

    def _in_run(self, issued: datetime, meant: datetime, on_time: bool) -> datetime:
        """When a payment meant for ``meant`` goes out: then, without payment runs; else on
        time in the last run after the issue day up to then, late in the first run from then on
        (and in that first run if there is none before)."""
        if self.run is None:
            return meant
        kind, which = self.run

        def runs_on(day: date) -> bool:
            return day.weekday() == which if kind == "weekly" else day.day == which

        day, earliest = meant.date(), issued.date() + timedelta(days=1)
        if on_time:
            while day >= earliest and not runs_on(day):
                day -= timedelta(days=1)
            if day < earliest:
                day = meant.date()
        while not runs_on(day):
            day += timedelta(days=1)
        return datetime.combine(day, RUN_TIME, meant.tzinfo)

    def _days_late(self, weeks_bad: float) -> int | None:
        """Days after the due date the invoice is paid (negative: early); None: never."""
        rng = self.rng
        if self.behaviour == "late" and rng.random() < 0.6:
            return rng.randint(3, 40)
        if weeks_bad > 0:
            if weeks_bad > 8 and rng.random() < 0.3:
                return None
            return int(weeks_bad * rng.uniform(1, 3)) + rng.randint(0, 5)
        return rng.randint(1, 5) if rng.random() < 0.05 else -rng.randint(0, 5)

    def _money(self, amount: Decimal) -> Money:
        return Money(amount=amount, currency=self.currency)


def _rating(score: float) -> str:
    """The rating of the first of `RATINGS`' bands ``score`` reaches; the last below them all."""
    return next((rating for low, rating in RATINGS if score >= low), RATINGS[-1][1])


def _pick(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    return rng.choices([value for value, _ in choices], [weight for _, weight in choices])[0]
