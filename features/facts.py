"""Facts: the compact, serialisable form in which the feature engine keeps input events.

A fact holds what the ledger and the statistics need of an event and nothing else: no
personal data (a profile's name and e-mail are dropped here), no pydantic work after the
conversion. Facts are what the re-ordering buffer stores and replays.

>>> from datetime import UTC, datetime
>>> from schemas import Money, PaymentReceived
>>> event = PaymentReceived(event_id="e7", customer_id="c1", payment_id="p1",
...     event_time=datetime(1970, 1, 2, tzinfo=UTC), amount=Money(amount="10.50", currency="EUR"))
>>> fact = Fact.of(event)
>>> fact.to_row()
[86400000000, 'e7', 'payment.received', 'p1', '10.50', 'EUR']
>>> Fact.from_row(fact.to_row()) == fact
True
>>> len(fact.digest()), fact._replace(amount=Decimal("10.500")).digest() == fact.digest()
(16, True)
>>> fact._replace(amount=Decimal("10.51")).digest() == fact.digest()
False
"""

from collections.abc import Callable
from decimal import Decimal
from hashlib import blake2b
from typing import Any, NamedTuple

import orjson

from features.eventtime import date_to_day, to_micros
from schemas import events

ZERO = Decimal(0)


class Fact(NamedTuple):
    """One input event, reduced.

    ``subject`` is the order, invoice or payment the event is about; ``link`` is the order an
    invoice bills or the invoice a payment names; ``label`` is a dispute's outcome or a
    reversal's reason; ``due_day`` an invoice's due date in days since the epoch; ``paperless``
    whether an invoice was sent electronically (None when not).
    """

    time: int
    event_id: str
    type: str
    subject: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    link: str | None = None
    due_day: int | None = None
    label: str | None = None
    country: str | None = None
    segment: str | None = None
    terms_days: int | None = None
    paperless: bool | None = None

    @classmethod
    def of(cls, event: events.InputEvent) -> "Fact":
        return _CONVERTERS[event.type](event, to_micros(event.event_time))

    def to_row(self) -> list[Any]:
        """A JSON-ready list, without trailing empty fields."""
        row: list[Any] = list(self)
        if self.amount is not None:
            row[4] = str(self.amount)
        while row[-1] is None:
            row.pop()
        return row

    def digest(self) -> str:
        """8 bytes of BLAKE2b of the fact, in hex: the same for the same content, however its
        amount was written ("10.5" or "10.50"), as facts compare."""
        row = self.to_row()
        if self.amount is not None:
            row[4] = format(self.amount.normalize(), "f")
        return blake2b(orjson.dumps(row), digest_size=8).hexdigest()

    @classmethod
    def from_row(cls, row: list[Any]) -> "Fact":
        fact = cls(*row)
        return fact if fact.amount is None else fact._replace(amount=Decimal(fact.amount))


def _money(money: Any) -> tuple[Decimal | None, str | None]:
    return (None, None) if money is None else (money.amount, money.currency)


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
}
