"""The records of the ledger: orders, invoices, payments, and the settlement of an invoice."""

from decimal import Decimal
from typing import Any, NamedTuple

from features.facts import ZERO


class Order:
    """An open order: its amount and what of it is not invoiced yet."""

    __slots__ = ("amount", "open_amount", "placed")

    def __init__(self, placed: int, amount: Decimal, open_amount: Decimal) -> None:
        self.placed = placed
        self.amount = amount
        self.open_amount = open_amount


class Settlement(NamedTuple):
    """An invoice paid in full: when, and how many days after its due date."""

    invoice_id: str
    amount: Decimal
    due_day: int
    time: int
    days_late: int
    late: bool


class Invoice:
    """An invoice and what is left to pay of it."""

    __slots__ = (
        "amount",
        "balance",
        "disputed",
        "disputes",
        "due_day",
        "event_id",
        "invoice_id",
        "issued",
        "overdue",
        "payers",
        "settlement",
    )

    def __init__(
        self, invoice_id: str, event_id: str, issued: int, amount: Decimal, due_day: int
    ) -> None:
        self.invoice_id = invoice_id
        self.event_id = event_id
        self.issued = issued
        self.amount = amount
        self.due_day = due_day
        self.balance = amount
        self.disputed = ZERO
        self.disputes = 0
        self.overdue = False
        self.settlement: Settlement | None = None
        self.payers = 0
        """How many of the payments kept for reversal paid part of it."""

    def to_row(self) -> list[Any]:
        settled = self.settlement
        return [
            self.invoice_id,
            self.event_id,
            self.issued,
            str(self.amount),
            self.due_day,
            str(self.balance),
            str(self.disputed),
            self.disputes,
            self.overdue,
            *([] if settled is None else [settled.time, settled.days_late, settled.late]),
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> "Invoice":
        invoice = cls(row[0], row[1], row[2], Decimal(row[3]), row[4])
        invoice.balance, invoice.disputed = Decimal(row[5]), Decimal(row[6])
        invoice.disputes, invoice.overdue = row[7], row[8]
        if len(row) > 9:
            invoice.settlement = Settlement(
                invoice.invoice_id, invoice.amount, invoice.due_day, *row[9:12]
            )
        return invoice


class Payment:
    """A payment that can still be reversed: what it paid, invoice by invoice."""

    __slots__ = ("allocations", "amount", "time", "unapplied")

    def __init__(self, time: int, amount: Decimal, unapplied: Decimal) -> None:
        self.time = time
        self.amount = amount
        self.unapplied = unapplied
        self.allocations: dict[str, Decimal] = {}
