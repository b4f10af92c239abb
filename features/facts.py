"""Facts: input events reduced to what the feature engine needs of them.

A fact holds what the ledger and the statistics need of an event and nothing else: no
personal data (a profile's name and e-mail are dropped here), no pydantic work after the
conversion, money in integer units (:mod:`features.units`). The state keeps no facts, only
a digest of each recent one, to tell a redelivery from an event reusing an id.

>>> from datetime import UTC, datetime
>>> from schemas import Money, PaymentReceived
>>> event = PaymentReceived(event_id="e7", customer_id="c1", payment_id="p1",
...     event_time=datetime(1970, 1, 2, tzinfo=UTC), amount=Money(amount="10.50", currency="EUR"))
>>> fact = Fact.of(event)
>>> fact
Fact(time=86400000000, event_id='e7', type='payment.received', subject='p1', amount=105000, \
currency='EUR', link=None, due_day=None, label=None, country=None, segment=None, \
terms_days=None, paperless=None, report=None)
>>> len(fact.digest()), fact._replace(amount=105001).digest() == fact.digest()
(16, False)
"""

from collections.abc import Callable
from hashlib import blake2b
from typing import Any, NamedTuple

import orjson

from features.bureau import Report
from features.eventtime import date_to_day, to_micros
from features.units import to_units
from schemas import events


class Fact(NamedTuple):
    """One input event, reduced.

    ``subject`` is the order, invoice or payment the event is about; ``amount`` is in units;
    ``link`` is the order an invoice bills or the invoice a payment names; ``label`` is a
    dispute's outcome or a reversal's reason; ``due_day`` an invoice's due date in days since
    the epoch; ``paperless`` whether an invoice was sent electronically (None when not);
    ``report`` a credit report's `Report` (its ``subject`` is the source).
    """

    time: int
    event_id: str
    type: str
    subject: str | None = None
    amount: int | None = None
    currency: str | None = None
    link: str | None = None
    due_day: int | None = None
    label: str | None = None
    country: str | None = None
    segment: str | None = None
    terms_days: int | None = None
    paperless: bool | None = None
    report: Report | None = None

    @classmethod
    def of(cls, event: events.InputEvent) -> "Fact":
        return _CONVERTERS[event.type](event, to_micros(event.event_time))

    def digest(self) -> str:
        """8 bytes of BLAKE2b of the fact, in hex: the same for the same content. A fact
        without a report digests as it did before facts had reports, so that states saved
        then still tell a redelivery."""
        report = () if self.report is None else (tuple(self.report),)
        content = (*self[:-1], *report)
        return blake2b(orjson.dumps(content), digest_size=8).hexdigest()


def _money(money: Any) -> tuple[int | None, str | None]:
    return (None, None) if money is None else (to_units(money.amount), money.currency)


def _units(money: Any) -> int | None:
    return None if money is None else to_units(money.amount)


def _report(event: events.CreditReport, time: int) -> Fact:
    report = Report(
        date_to_day(event.as_of), event.normalised_score, event.rating, event.payment_index,
        *map(_units, event.accounts), event.employees, event.industry_code,
    )  # fmt: skip
    return Fact(
        time, event.event_id, event.type, event.source, currency=event.currency, report=report
    )


_CONVERTERS: dict[str, Callable[[Any, int], Fact]] = {
    "order.placed": lambda e, t: Fact(t, e.event_id, e.type, e.order_id, *_money(e.amount)),
    "order.cancelled": lambda e, t: Fact(t, e.event_id, e.type, e.order_id),
    "order.fulfilled": lambda e, t: Fact(t, e.event_id, e.type, e.order_id),
    "invoice.issued": lambda e, t: Fact(
        t,
        e.event_id,
        e.type,
        e.invoice_id,
        *_money(e.amount),
        e.order_id,
        date_to_day(e.due_date),
        paperless=e.paperless or None,
    ),
    "invoice.cancelled": lambda e, t: Fact(t, e.event_id, e.type, e.invoice_id),
    "invoice.written_off": lambda e, t: Fact(t, e.event_id, e.type, e.invoice_id),
    "invoice.disputed": lambda e, t: Fact(t, e.event_id, e.type, e.invoice_id, *_money(e.amount)),
    "invoice.dispute_resolved": lambda e, t: Fact(
        t, e.event_id, e.type, e.invoice_id, *_money(e.credited), label=e.outcome
    ),
    "payment.received": lambda e, t: Fact(
        t, e.event_id, e.type, e.payment_id, *_money(e.amount), e.invoice_id
    ),
    "payment.reversed": lambda e, t: Fact(t, e.event_id, e.type, e.payment_id, label=e.reason),
    "customer.profile": lambda e, t: Fact(
        t, e.event_id, e.type, currency=e.currency, country=e.country, segment=e.segment
    ),
    "customer.credit_limit": lambda e, t: Fact(
        t, e.event_id, e.type, None, *_money(e.credit_limit)
    ),
    "customer.payment_terms": lambda e, t: Fact(t, e.event_id, e.type, terms_days=e.terms_days),
    "customer.credit_report": _report,
}
