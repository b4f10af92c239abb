"""Transitions: the moments a customer's situation changes, for detectors and alerts.

Each transition has a deterministic id, derived from its kind, the customer and the ids that
cause it (the invoice, order or payment and the event; for an invoice turning overdue, the
invoice and the moment), so a replay or a redelivery produces the same id and a
customer's state can tell which transitions it has already fired. Details are JSON-friendly;
money is a decimal string.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from features.eventtime import DAY, day_to_date, from_micros
from features.facts import Fact
from features.records import Invoice, Settlement
from schemas.ids import derive_id
from schemas.money import money_text

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Transition:
    """Something that happened to a customer at ``event_time``, caused by ``source_event_id``.

    Kinds and their details:

    ``invoice_issued``: invoice_id, amount, currency, due_date, order_id, paperless
    ``invoice_settled``: invoice_id, amount, currency, due_date, settled_date, days_late, late
    ``invoice_overdue``: invoice_id, due_date, open_balance, currency, days_past_due
    ``invoice_cancelled``, ``invoice_written_off``: invoice_id, amount (balance closed), currency
    ``dispute_opened``: invoice_id, disputed (amount now disputed), currency
    ``payment_bounced``, ``payment_reversed``: payment_id, amount, currency
    ``limit_exceeded``: exposure, credit_limit, currency
    """

    kind: str
    transition_id: str
    customer_id: str
    event_time: datetime
    source_event_id: str
    details: dict[str, Scalar]


def _transition(
    kind: str,
    customer_id: str,
    cause: tuple[str, ...],
    time: int,
    source_event_id: str,
    **details: Scalar,
) -> Transition:
    transition_id = derive_id(kind, customer_id, *cause)
    return Transition(kind, transition_id, customer_id, from_micros(time), source_event_id, details)


def _of_fact(kind: str, customer_id: str, fact: Fact, **details: Scalar) -> Transition:
    """A transition caused by ``fact`` about its subject (an invoice, a payment)."""
    return _transition(
        kind, customer_id, (fact.subject, fact.event_id), fact.time, fact.event_id, **details
    )


def invoice_issued(customer_id: str, fact: Fact) -> Transition:
    return _of_fact(
        "invoice_issued",
        customer_id,
        fact,
        invoice_id=fact.subject,
        amount=money_text(fact.amount),
        currency=fact.currency,
        due_date=day_to_date(fact.due_day).isoformat(),
        order_id=fact.link,
        paperless=bool(fact.paperless),
    )


def invoice_settled(
    customer_id: str, settlement: Settlement, fact: Fact, currency: str | None
) -> Transition:
    return _transition(
        "invoice_settled",
        customer_id,
        (settlement.invoice_id, fact.event_id),
        fact.time,
        fact.event_id,
        invoice_id=settlement.invoice_id,
        amount=money_text(settlement.amount),
        currency=currency,
        due_date=day_to_date(settlement.due_day).isoformat(),
        settled_date=day_to_date(settlement.time // DAY).isoformat(),
        days_late=settlement.days_late,
        late=settlement.late,
    )


def invoice_overdue(
    customer_id: str, invoice: Invoice, time: int, currency: str | None
) -> Transition:
    return _transition(
        "invoice_overdue",
        customer_id,
        (invoice.invoice_id, str(time)),
        time,
        invoice.event_id,
        invoice_id=invoice.invoice_id,
        due_date=day_to_date(invoice.due_day).isoformat(),
        open_balance=money_text(invoice.balance),
        currency=currency,
        days_past_due=time // DAY - invoice.due_day,
    )


def invoice_closed(
    kind: str, customer_id: str, fact: Fact, amount: Decimal, currency: str | None
) -> Transition:
    """``invoice_cancelled`` or ``invoice_written_off``: the open balance that was closed."""
    return _of_fact(
        kind,
        customer_id,
        fact,
        invoice_id=fact.subject,
        amount=money_text(amount),
        currency=currency,
    )


def dispute_opened(
    customer_id: str, fact: Fact, disputed: Decimal, currency: str | None
) -> Transition:
    return _of_fact(
        "dispute_opened",
        customer_id,
        fact,
        invoice_id=fact.subject,
        disputed=money_text(disputed),
        currency=currency,
    )


def payment_reversed(
    customer_id: str, fact: Fact, amount: Decimal, currency: str | None
) -> Transition:
    """``payment_bounced`` for a bounce, ``payment_reversed`` for any other reversal."""
    kind = "payment_bounced" if fact.label == "bounced" else "payment_reversed"
    return _of_fact(
        kind,
        customer_id,
        fact,
        payment_id=fact.subject,
        amount=money_text(amount),
        currency=currency,
    )


def limit_exceeded(
    customer_id: str, fact: Fact, exposure: Decimal, limit: Decimal, currency: str | None
) -> Transition:
    return _transition(
        "limit_exceeded",
        customer_id,
        (fact.event_id,),
        fact.time,
        fact.event_id,
        exposure=money_text(exposure),
        credit_limit=money_text(limit),
        currency=currency,
    )
