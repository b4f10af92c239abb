"""Transitions: the moments a customer's situation changes, for detectors and alerts.

Each transition has a deterministic id, derived from its kind, the customer and the ids that
cause it (the invoice, order or payment and the event; for an invoice turning overdue, the
invoice and the moment), so a replay or a redelivery produces the same id and a
customer's state can tell which transitions it has already fired. Details are JSON-friendly;
money is a decimal string.
"""

from dataclasses import dataclass
from datetime import datetime

from features.eventtime import DAY, day_to_date, from_micros
from features.facts import Fact
from features.items import Invoice, Settlement
from features.units import to_decimal
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
        amount=_money(fact.amount or 0),
        currency=fact.currency,
        due_date=day_to_date(fact.due_day or 0).isoformat(),
        order_id=fact.link,
        paperless=bool(fact.paperless),
    )


def _money(units: int) -> str:
    return money_text(to_decimal(units))


def invoice_settled(
    customer_id: str,
    invoice_id: str,
    invoice: Invoice,
    settlement: Settlement,
    currency: str | None,
) -> Transition:
    """Paid in full by ``settlement.event_id`` (or issued when credit was there to pay it)."""
    return _transition(
        "invoice_settled",
        customer_id,
        (invoice_id, settlement.event_id),
        settlement.time,
        settlement.event_id,
        invoice_id=invoice_id,
        amount=_money(invoice.amount),
        currency=currency,
        due_date=day_to_date(invoice.due_day).isoformat(),
        settled_date=day_to_date(settlement.time // DAY).isoformat(),
        days_late=settlement.days_late,
        late=settlement.late,
    )


def invoice_overdue(
    customer_id: str, invoice_id: str, invoice: Invoice, time: int, currency: str | None
) -> Transition:
    """Turned overdue at ``time`` with what was left to pay of it then: neither paid before
    (by a payment that stands) nor cancelled or written off before."""
    shut = sum(
        invoice.shut_by.get(event_id, 0) for at, event_id, _ in invoice.closings if at < time
    )
    return _transition(
        "invoice_overdue",
        customer_id,
        (invoice_id, str(time)),
        time,
        invoice.event_id,
        invoice_id=invoice_id,
        due_date=day_to_date(invoice.due_day).isoformat(),
        open_balance=_money(invoice.amount - sum(invoice.paid_early.values()) - shut),
        currency=currency,
        days_past_due=time // DAY - invoice.due_day,
    )


def invoice_closed(
    kind: str,
    customer_id: str,
    invoice_id: str,
    cause: tuple[int, str],
    amount: int,
    currency: str | None,
) -> Transition:
    """``invoice_cancelled`` or ``invoice_written_off`` at ``cause`` (time, event id): what
    it shut of the invoice."""
    time, event_id = cause
    return _transition(
        kind, customer_id, (invoice_id, event_id), time, event_id,
        invoice_id=invoice_id, amount=_money(amount), currency=currency,
    )  # fmt: skip


def dispute_opened(
    customer_id: str,
    invoice_id: str,
    cause: tuple[int, str],
    disputed: int,
    currency: str | None,
) -> Transition:
    """A dispute at ``cause`` (time, event id) of an invoice then owed: what it disputes."""
    time, event_id = cause
    return _transition(
        "dispute_opened", customer_id, (invoice_id, event_id), time, event_id,
        invoice_id=invoice_id, disputed=_money(disputed), currency=currency,
    )  # fmt: skip


def payment_reversed(customer_id: str, fact: Fact, amount: int, currency: str | None) -> Transition:
    """``payment_bounced`` for a bounce, ``payment_reversed`` for any other reversal."""
    kind = "payment_bounced" if fact.label == "bounced" else "payment_reversed"
    return _of_fact(
        kind,
        customer_id,
        fact,
        payment_id=fact.subject,
        amount=_money(amount),
        currency=currency,
    )


def limit_exceeded(
    customer_id: str, fact: Fact, exposure: int, limit: int, currency: str | None
) -> Transition:
    return _transition(
        "limit_exceeded",
        customer_id,
        (fact.event_id,),
        fact.time,
        fact.event_id,
        exposure=_money(exposure),
        credit_limit=_money(limit),
        currency=currency,
    )
