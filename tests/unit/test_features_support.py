"""Event builders shared by the feature tests (pytest collects this module; it has no tests)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import orjson

from features import CustomerState, FeatureConfig, Transition
from schemas import (
    CreditLimitUpdated,
    CustomerProfile,
    DisputeResolved,
    InputEvent,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
    InvoiceWrittenOff,
    Money,
    OrderCancelled,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = FeatureConfig()


def day(days: float, hours: float = 0) -> datetime:
    """``days`` (and ``hours``) after the start of 2026, UTC."""
    return START + timedelta(days=days, hours=hours)


def due(days: int) -> date:
    """The calendar date ``days`` after 1 January 2026."""
    return (START + timedelta(days=days)).date()


class Events:
    """Builds the events of one customer, each with a fresh event id."""

    def __init__(self, customer_id: str = "c1", currency: str = "EUR", prefix: str = "e") -> None:
        self.customer_id = customer_id
        self.currency = currency
        self.prefix = prefix
        self._ids = count(1)

    def _common(self, at: datetime) -> dict[str, object]:
        return {
            "event_id": f"{self.prefix}{next(self._ids)}",
            "customer_id": self.customer_id,
            "event_time": at,
        }

    def money(self, amount: str | Decimal) -> Money:
        return Money(amount=str(amount), currency=self.currency)

    def limit(self, amount: str, at: datetime) -> InputEvent:
        return CreditLimitUpdated(credit_limit=self.money(amount), **self._common(at))

    def profile(self, at: datetime, **fields: str) -> InputEvent:
        return CustomerProfile(**fields, **self._common(at))

    def order(self, order_id: str, amount: str, at: datetime) -> InputEvent:
        return OrderPlaced(order_id=order_id, amount=self.money(amount), **self._common(at))

    def cancel_order(self, order_id: str, at: datetime) -> InputEvent:
        return OrderCancelled(order_id=order_id, **self._common(at))

    def invoice(
        self,
        invoice_id: str,
        amount: str,
        due_date: date,
        at: datetime,
        order_id: str | None = None,
    ) -> InputEvent:
        return InvoiceIssued(
            invoice_id=invoice_id, amount=self.money(amount), due_date=due_date,
            order_id=order_id, **self._common(at),
        )  # fmt: skip

    def cancel_invoice(self, invoice_id: str, at: datetime) -> InputEvent:
        return InvoiceCancelled(invoice_id=invoice_id, **self._common(at))

    def write_off(self, invoice_id: str, at: datetime) -> InputEvent:
        return InvoiceWrittenOff(invoice_id=invoice_id, **self._common(at))

    def dispute(self, invoice_id: str, at: datetime, amount: str | None = None) -> InputEvent:
        money = None if amount is None else self.money(amount)
        return InvoiceDisputed(invoice_id=invoice_id, amount=money, **self._common(at))

    def resolve(
        self, invoice_id: str, outcome: str, at: datetime, credited: str | None = None
    ) -> InputEvent:
        money = None if credited is None else self.money(credited)
        return DisputeResolved(
            invoice_id=invoice_id, outcome=outcome, credited=money, **self._common(at)
        )

    def payment(
        self, payment_id: str, amount: str, at: datetime, invoice_id: str | None = None
    ) -> InputEvent:
        return PaymentReceived(
            payment_id=payment_id, amount=self.money(amount), invoice_id=invoice_id,
            **self._common(at),
        )  # fmt: skip

    def reversal(self, payment_id: str, at: datetime, reason: str = "bounced") -> InputEvent:
        return PaymentReversed(payment_id=payment_id, reason=reason, **self._common(at))


def apply_all(
    events: list[InputEvent], state: CustomerState | None = None, config: FeatureConfig = CONFIG
) -> tuple[CustomerState, list[Transition]]:
    """A state (new unless given) after ``events``, and every transition they fired."""
    state = state or CustomerState.new(events[0].customer_id)
    fired = [transition for event in events for transition in state.apply(event, config)]
    return state, fired


def without_fired(state: CustomerState) -> dict[str, object]:
    """The serialised state without the ids of the transitions fired (see features.state)."""
    document = orjson.loads(state.to_bytes())
    del document["fired"]
    return document


def kinds(transitions: list[Transition]) -> list[str]:
    return [transition.kind for transition in transitions]
