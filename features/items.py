"""The items of a customer's ledger: orders, invoices and payments, as mergeable records.

An item keeps what every event about it said (when it was placed, issued or received, for how
much, when it was cancelled, written off, disputed, resolved or reversed), so the events
about one item give the same record whatever order they arrive in. What follows from the
records, what is left to pay and when an invoice was settled, is derived by
:mod:`features.ledger`; the derived fields are not stored.
"""

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

NEVER = 2**62
"""A time no event reaches: when an item that still owes or has credit left can go."""
_NO_ROWS: tuple[list[Any], ...] = ()
_UNKNOWN: Any = object()
"""A derived value not derived yet."""
NOTHING: Any = MappingProxyType({})
"""Shared by the invoices a derived map says nothing of, most of them: made per invoice only
when needed, which keeps the allocations (and the garbage collector's work) down."""


class Settlement(NamedTuple):
    """An invoice paid in full: when, by which event, how many days after its due date."""

    time: int
    event_id: str
    days_late: int
    late: bool


class Order:
    """An order: its amount, when it was placed or cancelled, and the invoices that bill it."""

    __slots__ = ("_closed", "amount", "billed", "cancelled", "open_amount", "placed")

    def __init__(self) -> None:
        self.placed: int | None = None
        self.amount = 0
        self.cancelled: int | None = None
        self.billed: dict[str, tuple[int, int]] = {}
        """Invoice id -> (issue time, amount) of the invoices that name this order."""
        self.open_amount = 0
        """Derived: what of it is not invoiced, cancelled or expired."""
        self._closed: Any = _UNKNOWN
        """Derived: :meth:`closed_at`, once asked (every tidy asks it of every order)."""

    def place(self, time: int, amount: int) -> None:
        self.placed, self.amount, self._closed = time, amount, _UNKNOWN

    def cancel(self, time: int) -> None:
        self.cancelled, self._closed = time, _UNKNOWN

    def bill(self, invoice_id: str, time: int, amount: int) -> None:
        self.billed[invoice_id] = (time, amount)
        self._closed = _UNKNOWN

    def unbilled(self, expired_before: int) -> int:
        """What of the order is still open exposure: placed, neither cancelled nor older than
        ``expired_before``, less what invoices issued since it was placed bill of it."""
        placed = self.placed
        if placed is None or self.cancelled is not None or placed < expired_before:
            return 0
        left = self.amount
        for at, amount in self.billed.values():
            if at >= placed:
                left -= amount
        return left if left > 0 else 0

    def closed_at(self) -> int | None:
        """When it was cancelled or fully invoiced, if it was; when its last invoice was
        issued for an order never placed."""
        if self._closed is _UNKNOWN:
            self._closed = self._find_close()
        return self._closed

    def _find_close(self) -> int | None:
        if self.placed is None:
            return max(at for at, _ in self.billed.values())
        times = [] if self.cancelled is None else [self.cancelled]
        billed = 0
        for at, amount in sorted(self.billed.values()):
            if at >= self.placed:
                billed += amount
                if billed >= self.amount:
                    times.append(at)
                    break
        return min(times) if times else None

    def to_row(self, order_id: str) -> list[Any]:
        billed = [[key, time, amount] for key, (time, amount) in sorted(self.billed.items())]
        return [order_id, self.placed, self.amount, self.cancelled, billed]

    @classmethod
    def from_row(cls, row: list[Any]) -> tuple[str, "Order"]:
        order = cls()
        order_id, order.placed, order.amount, order.cancelled, billed = row
        order.billed = {key: (time, amount) for key, time, amount in billed}
        return order_id, order


class Invoice:
    """An invoice and every event about it; what is left to pay is derived (``remaining``)."""

    __slots__ = (
        "acted",
        "amount",
        "closed",
        "closings",
        "credit_left",
        "credit_used",
        "disputed",
        "disputes",
        "due_day",
        "event_id",
        "fired",
        "issued",
        "open_disputes",
        "paid_by",
        "paid_early",
        "paperless",
        "remaining",
        "resolutions",
        "settlement",
        "shut_by",
    )

    def __init__(
        self, event_id: str, issued: int, amount: int, due_day: int, paperless: bool
    ) -> None:
        self.event_id = event_id
        self.issued = issued
        self.amount = amount
        self.due_day = due_day
        self.paperless = paperless
        self.closings: Sequence[list[Any]] = _NO_ROWS
        """[time, event id, kind] of its cancellations and write-offs, in event-time order (a
        reversal can reopen what one shut, for another to shut again)."""
        self.disputes: Sequence[list[Any]] = _NO_ROWS
        """[time, event id, amount claimed or None for all of it], in event-time order."""
        self.resolutions: Sequence[list[Any]] = _NO_ROWS
        """[time, event id, upheld, credited or None (what the disputes claimed)]."""
        self.fired: list[Any] = [None, _NO_ROWS, _NO_ROWS, _NO_ROWS]
        """What transitions about it fired: when it turned overdue, the events whose
        settlement of it fired (more than one when the allocation changed what settled it),
        the closings that did, the disputes that did (see :meth:`remember`)."""
        self.remaining = amount
        self.settlement: Settlement | None = None
        """Derived: what paid it in full, if anything did."""
        self.forget_allocation()

    def forget_allocation(self) -> None:
        """Leave what the ledger's allocation derives as before any allocation (but the
        settlement, which it compares with what it finds)."""
        self.disputed = 0
        self.open_disputes: Mapping[str, int] = NOTHING
        """The disputes of it while it owed, by event id, with what each left disputed."""
        self.acted: Mapping[str, bool] = NOTHING
        """Its closings, disputes and resolutions that came while it owed (as keys)."""
        self.shut_by: Mapping[str, int] = NOTHING
        """What each cancellation or write-off shut of it, by event id."""
        self.credit_used = 0
        """When its credit notes last paid something."""
        self.credit_left = 0
        """What its credit notes credited that pays nothing yet."""
        self.paid_early: dict[Any, int] = {}
        """What each credit paid of it before its deadline (a reversal takes it back)."""
        self.paid_by: dict[Any, int] = {}
        self.closed: int | None = None
        """When what it owed last came to nothing."""

    def remember(self, slot: int, event_id: str) -> bool:
        """Note that the transition of event ``event_id`` in ``fired[slot]`` (1: settlement,
        2: closing, 3: dispute) fired; False if it had."""
        fired = self.fired
        if event_id in fired[slot]:
            return False
        fired[slot] = [*fired[slot], event_id]
        return True

    def add_row(self, name: str, row: list[Any]) -> None:
        """Merge a closing, dispute or resolution into its rows, kept in (time, event id)
        order."""
        setattr(self, name, sorted([*getattr(self, name), row], key=_time_and_id))

    def note(self, name: str, event_id: str, value: Any) -> None:
        """Set ``value`` for ``event_id`` in the derived map ``name`` (``open_disputes``,
        ``acted``, ``shut_by``), made for this invoice on its first entry."""
        mapping = getattr(self, name)
        if mapping is NOTHING:
            mapping = {}
            setattr(self, name, mapping)
        mapping[event_id] = value

    def deadline(self, grace: int) -> int:
        """When it turns overdue if still unpaid: the end of its due date, plus the grace."""
        return (self.due_day + 1) * 86_400_000_000 + grace

    def is_open(self) -> bool:
        return self.remaining > 0

    def closed_at(self) -> int | None:
        """When it last stopped owing (paid, cancelled or written off), as the allocation
        found; None while something is owed. A closing that came while a payment covered it
        shut nothing: if that payment bounces, the invoice owes until something else closes it.
        """
        return None if self.remaining else self.closed

    def was_disputed(self) -> bool:
        """Whether it was disputed while it owed."""
        return bool(self.open_disputes)

    def last_active(self) -> int:
        """When the last thing about it happened: an event, its settlement, its credit notes
        paying something."""
        last = self.issued if self.issued > self.credit_used else self.credit_used
        if self.settlement is not None and self.settlement.time > last:
            last = self.settlement.time
        for rows in (self.closings, self.disputes, self.resolutions):
            for row in rows:
                if row[0] > last:
                    last = row[0]
        return last

    def droppable_at(self) -> int:
        """The first horizon it can be forgotten at, as it is (its group aside): once
        nothing happened to it since; never while it owes or has credit left."""
        if self.remaining or self.credit_left:
            return NEVER
        return self.last_active() + 1

    def to_row(self, invoice_id: str) -> list[Any]:
        return [
            invoice_id,
            self.event_id,
            self.issued,
            self.amount,
            self.due_day,
            self.paperless,
            self.closings,
            self.disputes,
            self.resolutions,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> tuple[str, "Invoice"]:
        invoice_id, event_id, issued, amount, due_day, paperless, closings, disputes, resolved = row
        invoice = cls(event_id, issued, amount, due_day, paperless)
        invoice.closings, invoice.disputes, invoice.resolutions = closings, disputes, resolved
        return invoice_id, invoice


def _time_and_id(row: Any) -> tuple[int, str]:
    return row[0], row[1]


class Payment:
    """A payment received: when, how much, the invoice it names, whether it was reversed."""

    __slots__ = ("amount", "event_id", "invoice_id", "reversed", "time", "unapplied", "used")

    def __init__(self, event_id: str, time: int, amount: int, invoice_id: str | None) -> None:
        self.event_id = event_id
        self.time = time
        self.amount = amount
        self.invoice_id = invoice_id
        self.reversed: tuple[int, str, str] | None = None
        """(time, event id, reason) of its reversal."""
        self.unapplied = 0
        """Derived: what of it pays no invoice."""
        self.used = 0
        """Derived: when it last paid something."""

    def last_active(self) -> int:
        """When the last thing about it happened: received, reversed, paying something."""
        reversed_at = self.reversed[0] if self.reversed is not None else 0
        return max(self.time, reversed_at, self.used)

    def droppable_at(self, retention: int, reversible: bool) -> int:
        """The first horizon it can be forgotten at, as it is (its group aside): once
        nothing happened to it since and, if ``reversible``, ``retention`` after it; never
        while it has credit left."""
        if self.unapplied:
            return NEVER
        at = self.last_active() + 1
        if reversible and self.reversed is None:
            return max(at, self.time + retention)
        return at

    def to_row(self, payment_id: str) -> list[Any]:
        reversed_ = self.reversed and list(self.reversed)
        return [payment_id, self.event_id, self.time, self.amount, self.invoice_id, reversed_]

    @classmethod
    def from_row(cls, row: list[Any]) -> tuple[str, "Payment"]:
        payment_id, event_id, time, amount, invoice_id, reversed_ = row
        payment = cls(event_id, time, amount, invoice_id)
        payment.reversed = reversed_ and (reversed_[0], reversed_[1], reversed_[2])
        return payment_id, payment
