"""The money of a backtest's history: every order and invoice with its amount and currency, and
the payments and write-offs that settled each invoice, as the report needs them.

Pure: fed the input events in event-time order, it keeps what was invoiced and paid until it is
final, and hands each order and invoice to its writer as a line of ``ledger.jsonl``. A
payment names its invoice or goes to the customer's oldest open invoices first; a reversed
(bounced) payment is taken back from the invoices it went to.

>>> from datetime import UTC, date, datetime
>>> from schemas.events import InvoiceIssued, PaymentReceived
>>> from schemas.money import Money
>>> lines = []
>>> ledger = Ledger(lines.append)
>>> ledger.feed(InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="i1",
...     event_time=datetime(2026, 1, 5, tzinfo=UTC), due_date=date(2026, 2, 4),
...     amount=Money(amount="100.00", currency="EUR")))
>>> ledger.feed(PaymentReceived(event_id="e2", customer_id="c1", payment_id="p1",
...     event_time=datetime(2026, 2, 1, tzinfo=UTC), amount=Money(amount="40", currency="EUR")))
>>> ledger.close()
>>> [line["payments"] for line in lines if line["type"] == "ledger_invoice"]
[[{'at': '2026-02-01T00:00:00+00:00', 'amount': '40'}]]
"""

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
    changed_at: datetime | None = None

    def owed(self) -> Decimal:
        if self.written_off_at or self.cancelled_at:
            return Decimal(0)
        return self.amount - sum((amount for _, amount, _ in self.payments), Decimal(0))

    def line(self) -> dict[str, Any]:
        return {
            "type": "ledger_invoice",
            "customer_id": self.customer_id,
            "invoice_id": self.invoice_id,
            "order_id": self.order_id,
            "currency": self.currency,
            "amount": format(self.amount, "f"),
            "issued_at": self.issued_at.isoformat(),
            "due_date": self.due_date.isoformat(),
            "payments": [
                {"at": at.isoformat(), "amount": format(amount, "f")}
                for at, amount, _ in self.payments
            ],
            "written_off_at": _iso(self.written_off_at),
            "cancelled_at": _iso(self.cancelled_at),
        }


class Ledger:
    """Orders and invoices with their money, fed input events in event-time order, each written
    (``write``) as a line of ``ledger.jsonl`` once nothing can change it.

    An order is written when placed (a later line of the same order replaces it). An invoice
    is written once it owes nothing and ``final_after`` has passed since the last event about
    it: the engine refuses a reversal that late, so what it was paid stays what it is. What is
    left is written by `close`, oldest first. An event about an invoice written already is
    taken as about an unknown one: a payment naming it goes to the oldest open invoices.
    """

    def __init__(
        self, write: Callable[[dict[str, Any]], None], final_after: timedelta = timedelta(days=45)
    ) -> None:
        self.write = write
        self.final_after = final_after
        self.invoices: dict[str, _Invoice] = {}
        """The invoices not written yet, in order of issue."""
        self.of_customer: dict[str, list[str]] = defaultdict(list)
        self.paid: dict[str, list[str]] = defaultdict(list)
        """Payment id -> the invoices not written yet that it paid."""
        self._final: list[tuple[datetime, str]] = []
        """A heap of (when it can be written, invoice id) of the invoices that owe nothing."""

    def feed(self, event: InputEvent) -> None:
        """Take one input event; those that move no money are ignored."""
        match event:
            case OrderPlaced():
                self.write(_order_line(event))
            case InvoiceIssued() if event.invoice_id not in self.invoices:
                invoice = self.invoices[event.invoice_id] = _Invoice(
                    event.customer_id, event.invoice_id, event.order_id, event.amount.currency,
                    event.amount.amount, event.event_time, event.due_date,
                )  # fmt: skip
                self.of_customer[event.customer_id].append(event.invoice_id)
                self._changed(invoice, event.event_time)
            case PaymentReceived():
                self._pay(event)
            case PaymentReversed():
                for invoice_id in self.paid.pop(event.payment_id, ()):
                    invoice = self.invoices[invoice_id]
                    invoice.payments = [p for p in invoice.payments if p[2] != event.payment_id]
                    self._changed(invoice, event.event_time)
            case InvoiceWrittenOff() if event.invoice_id in self.invoices:
                invoice = self.invoices[event.invoice_id]
                invoice.written_off_at = event.event_time
                self._changed(invoice, event.event_time)
            case InvoiceCancelled() if event.invoice_id in self.invoices:
                invoice = self.invoices[event.invoice_id]
                invoice.cancelled_at = event.event_time
                self._changed(invoice, event.event_time)
        self._write_final(event.event_time)

    def close(self) -> None:
        """Write the invoices not written yet, in order of issue."""
        for invoice in self.invoices.values():
            self.write(invoice.line())
        self.invoices.clear()

    def _pay(self, event: PaymentReceived) -> None:
        left = event.amount.amount
        named = self.invoices.get(event.invoice_id or "")
        invoices, open_ = self.invoices, self.of_customer.get(event.customer_id, ())
        targets = [named] if named else [invoices[i] for i in open_]
        for invoice in targets:
            share = min(left, invoice.owed()) if invoice is not named else left
            if share > 0:
                invoice.payments.append((event.event_time, share, event.payment_id))
                self.paid[event.payment_id].append(invoice.invoice_id)
                self._changed(invoice, event.event_time)
                left -= share
            if left <= 0:
                break

    def _changed(self, invoice: _Invoice, at: datetime) -> None:
        invoice.changed_at = at
        if invoice.owed() == 0:
            heapq.heappush(self._final, (at + self.final_after, invoice.invoice_id))

    def _write_final(self, now: datetime) -> None:
        final, invoices = self._final, self.invoices
        while final and final[0][0] <= now:
            at, invoice_id = heapq.heappop(final)
            invoice = invoices.get(invoice_id)
            if invoice is None or invoice.changed_at + self.final_after != at:
                continue  # written, or changed since: a later entry stands for it
            if invoice.owed() == 0:  # it may owe again after a change at the same moment
                self._write(invoice)

    def _write(self, invoice: _Invoice) -> None:
        self.write(invoice.line())
        del self.invoices[invoice.invoice_id]
        self.of_customer[invoice.customer_id].remove(invoice.invoice_id)
        if not self.of_customer[invoice.customer_id]:
            del self.of_customer[invoice.customer_id]
        for _, _, payment_id in invoice.payments:
            paid = self.paid.get(payment_id)
            if paid is not None and invoice.invoice_id in paid:
                paid.remove(invoice.invoice_id)
                if not paid:
                    del self.paid[payment_id]


def _order_line(event: OrderPlaced) -> dict[str, Any]:
    return {
        "type": "ledger_order",
        "customer_id": event.customer_id,
        "order_id": event.order_id,
        "currency": event.amount.currency,
        "amount": format(event.amount.amount, "f"),
        "placed_at": event.event_time.isoformat(),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
