"""The money of a backtest's history: every order and invoice with its amount and currency, and
the payments and write-offs that settled each invoice, as the report needs them.

Pure: fed the input events in event-time order, it keeps what was ordered, invoiced and paid. A
payment names its invoice or goes to the customer's oldest open invoices first; a reversed
(bounced) payment is taken back from the invoices it went to.

>>> from datetime import UTC, date, datetime
>>> from schemas.events import InvoiceIssued, PaymentReceived
>>> from schemas.money import Money
>>> ledger = Ledger()
>>> ledger.feed(InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="i1",
...     event_time=datetime(2026, 1, 5, tzinfo=UTC), due_date=date(2026, 2, 4),
...     amount=Money(amount="100.00", currency="EUR")))
>>> ledger.feed(PaymentReceived(event_id="e2", customer_id="c1", payment_id="p1",
...     event_time=datetime(2026, 2, 1, tzinfo=UTC), amount=Money(amount="40", currency="EUR")))
>>> [line["payments"] for line in ledger.lines() if line["type"] == "ledger_invoice"]
[[{'at': '2026-02-01T00:00:00+00:00', 'amount': '40'}]]
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from schemas.events import (
    InputEvent,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceWrittenOff,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)


@dataclass(slots=True)
class _Invoice:
    customer_id: str
    invoice_id: str
    order_id: str | None
    currency: str
    amount: Decimal
    issued_at: datetime
    due_date: date
    payments: list[tuple[datetime, Decimal, str]] = field(default_factory=list)
    written_off_at: datetime | None = None
    cancelled_at: datetime | None = None

    def owed(self) -> Decimal:
        if self.written_off_at or self.cancelled_at:
            return Decimal(0)
        return self.amount - sum((amount for _, amount, _ in self.payments), Decimal(0))


class Ledger:
    """Orders and invoices with their money, fed input events in event-time order."""

    def __init__(self) -> None:
        self.invoices: dict[str, _Invoice] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.open: dict[str, list[str]] = defaultdict(list)
        """Customer -> its invoices in order of issue."""

    def feed(self, event: InputEvent) -> None:
        """Take one input event; those that move no money are ignored."""
        match event:
            case OrderPlaced():
                self.orders[event.order_id] = {
                    "type": "ledger_order",
                    "customer_id": event.customer_id,
                    "order_id": event.order_id,
                    "currency": event.amount.currency,
                    "amount": format(event.amount.amount, "f"),
                    "placed_at": event.event_time.isoformat(),
                }
            case InvoiceIssued() if event.invoice_id not in self.invoices:
                self.invoices[event.invoice_id] = _Invoice(
                    event.customer_id, event.invoice_id, event.order_id, event.amount.currency,
                    event.amount.amount, event.event_time, event.due_date,
                )  # fmt: skip
                self.open[event.customer_id].append(event.invoice_id)
            case PaymentReceived():
                self._pay(event)
            case PaymentReversed():
                for invoice in self.invoices_of(event.customer_id):
                    invoice.payments = [p for p in invoice.payments if p[2] != event.payment_id]
            case InvoiceWrittenOff() if event.invoice_id in self.invoices:
                self.invoices[event.invoice_id].written_off_at = event.event_time
            case InvoiceCancelled() if event.invoice_id in self.invoices:
                self.invoices[event.invoice_id].cancelled_at = event.event_time

    def invoices_of(self, customer_id: str) -> Iterator[_Invoice]:
        """The customer's invoices, oldest first."""
        return (self.invoices[i] for i in self.open[customer_id])

    def _pay(self, event: PaymentReceived) -> None:
        left = event.amount.amount
        named = self.invoices.get(event.invoice_id or "")
        targets = [named] if named else list(self.invoices_of(event.customer_id))
        for invoice in targets:
            share = min(left, invoice.owed()) if invoice is not named else left
            if share > 0:
                invoice.payments.append((event.event_time, share, event.payment_id))
                left -= share
            if left <= 0:
                break

    def lines(self) -> Iterator[dict[str, Any]]:
        """The orders, then the invoices, each in the order it came: ``ledger.jsonl``."""
        yield from self.orders.values()
        for invoice in self.invoices.values():
            yield {
                "type": "ledger_invoice",
                "customer_id": invoice.customer_id,
                "invoice_id": invoice.invoice_id,
                "order_id": invoice.order_id,
                "currency": invoice.currency,
                "amount": format(invoice.amount, "f"),
                "issued_at": invoice.issued_at.isoformat(),
                "due_date": invoice.due_date.isoformat(),
                "payments": [
                    {"at": at.isoformat(), "amount": format(amount, "f")}
                    for at, amount, _ in invoice.payments
                ],
                "written_off_at": _iso(invoice.written_off_at),
                "cancelled_at": _iso(invoice.cancelled_at),
            }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
