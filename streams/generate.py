"""A small synthetic stream: customers who order, are invoiced and pay, some of them late.

Deterministic for a seed. Each customer's events come in event-time order.

>>> from datetime import datetime, UTC
>>> events = list(generate_events(customers=3, days=60, end=datetime(2026, 6, 1, tzinfo=UTC)))
>>> sorted({event.type.split(".")[0] for event in events})
['customer', 'invoice', 'order', 'payment']
>>> events == list(generate_events(customers=3, days=60, end=datetime(2026, 6, 1, tzinfo=UTC)))
True
"""

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from schemas.events import (
    CreditLimitUpdated,
    CustomerProfile,
    InputEvent,
    InvoiceIssued,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)
from schemas.money import Money


def generate_events(
    customers: int, days: int, end: datetime, seed: int = 7, currency: str = "EUR"
) -> Iterator[InputEvent]:
    """The events of ``customers`` customers over the ``days`` days before ``end``, in order."""
    rng = random.Random(seed)
    streams = [
        _customer_events(f"cust-{number:05d}", end - timedelta(days=days), end, rng, currency)
        for number in range(customers)
    ]
    merged = sorted(
        (event for stream in streams for event in stream if event.event_time <= end),
        key=lambda event: (event.event_time, event.event_id),
    )
    yield from merged


def _customer_events(
    customer_id: str, start: datetime, end: datetime, rng: random.Random, currency: str
) -> list[InputEvent]:
    late_payer = rng.random() < 0.3
    limit = Decimal(rng.choice([5_000, 10_000, 20_000, 50_000]))
    terms = rng.choice([14, 30, 30, 45])
    money = lambda amount: Money(amount=amount, currency=currency)  # noqa: E731
    common = {"customer_id": customer_id}
    events: list[InputEvent] = [
        CustomerProfile(
            event_id=f"{customer_id}-profile",
            event_time=start,
            currency=currency,
            country="DE",
            segment=rng.choice(["retail", "wholesale"]),
            **common,
        ),
        CreditLimitUpdated(
            event_id=f"{customer_id}-limit", event_time=start, credit_limit=money(limit), **common
        ),
    ]
    moment = start + timedelta(hours=rng.uniform(1, 48))
    number = 0
    while moment < end:
        number += 1
        amount = Decimal(rng.randint(200, 4_000)).quantize(Decimal("0.01"))
        order_id, invoice_id = f"{customer_id}-o{number}", f"{customer_id}-i{number}"
        due = moment + timedelta(days=terms)
        events += [
            OrderPlaced(
                event_id=f"{order_id}-placed",
                event_time=moment,
                order_id=order_id,
                amount=money(amount),
                **common,
            ),
            InvoiceIssued(
                event_id=f"{invoice_id}-issued",
                event_time=moment + timedelta(hours=2),
                invoice_id=invoice_id,
                order_id=order_id,
                amount=money(amount),
                due_date=due.date(),
                **common,
            ),
        ]
        days_late = rng.randint(3, 40) if late_payer and rng.random() < 0.6 else -rng.randint(0, 5)
        paid_at = due + timedelta(days=days_late, hours=rng.uniform(0, 8))
        if paid_at < end:
            payment_id = f"{customer_id}-p{number}"
            events.append(
                PaymentReceived(
                    event_id=f"{payment_id}-received",
                    event_time=paid_at,
                    payment_id=payment_id,
                    invoice_id=invoice_id,
                    amount=money(amount),
                    **common,
                )
            )
            if rng.random() < 0.02:
                events.append(
                    PaymentReversed(
                        event_id=f"{payment_id}-bounced",
                        payment_id=payment_id,
                        event_time=paid_at + timedelta(days=2),
                        **common,
                    )
                )
        moment += timedelta(days=rng.uniform(3, 20))
    return events
