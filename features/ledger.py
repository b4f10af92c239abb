"""The exposure ledger of one customer, in exact money.

Definitions
-----------
open orders
    Orders placed and not yet cancelled, fully invoiced, or older than ``open_order_ttl``. An
    invoice that names an order consumes that order's open amount (up to the invoice amount).
open balance
    What is left to pay of the issued invoices. Payments, upheld disputes (credit notes),
    cancellations and write-offs reduce it; a reversed (bounced) payment reopens what it paid,
    even on an invoice closed since.
unapplied credit
    Money received or credited that pays no invoice yet. Credit is applied to open invoices
    as soon as both exist, so unapplied credit and open balance are never both positive.
exposure
    open orders + open balance - unapplied credit.

A payment pays the invoice it names first, then the open invoices oldest first (by issue);
what is left stays unapplied and pays the next invoice issued. The ledger balances to the
cent: ``invoiced - paid - credited - written_off - cancelled == open_balance - unapplied``,
where ``paid`` is what was received minus what was reversed.

Bounded memory: open items are kept (they are owed); a closed invoice is kept only while a
payment that could still be reversed paid part of it; payments are kept for reversal while
they are among the newest ``max_retained_payments`` and younger than ``payment_retention``
(then what they left unapplied stays as plain credit); the ids of recently closed orders,
invoices and reversed payments are remembered, a bounded number of each.

>>> from decimal import Decimal
>>> from features.config import FeatureConfig
>>> ledger, config = Ledger(), FeatureConfig()
>>> ledger.place_order("o1", Decimal("100"), time=0)
>>> _ = ledger.issue_invoice("i1", "e2", 0, Decimal("100"), due_day=30, order_id="o1",
...                          config=config)
>>> _ = ledger.receive_payment("p1", Decimal("130"), None, time=1, config=config)
>>> ledger.exposure, ledger.open_balance, ledger.unapplied
(Decimal('-30'), Decimal('0'), Decimal('30'))
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from features.config import FeatureConfig
from features.copying import copy_with
from features.eventtime import DAY, day_to_date
from features.facts import ZERO, Fact
from features.recent import RecentIds
from features.records import Invoice, Order, Payment, Settlement
from schemas.validation import InvalidEvent


def _inconsistent(reason: str) -> InvalidEvent:
    return InvalidEvent("inconsistent", reason)


def _age(invoice: Invoice) -> tuple[int, str]:
    return invoice.issued, invoice.invoice_id


class Ledger:
    """Orders, invoices, payments and credit of one customer; see the module for definitions."""

    __slots__ = (
        "cancelled",
        "carried",
        "closed",
        "closed_invoices",
        "closed_orders",
        "credited",
        "crediting",
        "invoiced",
        "invoices",
        "next_due",
        "open_balance",
        "order_total",
        "orders",
        "paid",
        "payments",
        "reversed_payments",
        "unapplied",
        "written_off",
    )

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.invoices: dict[str, Invoice] = {}
        self.closed: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.carried = ZERO
        self.invoiced = self.paid = self.credited = self.written_off = self.cancelled = ZERO
        self.order_total = self.open_balance = self.unapplied = ZERO
        self.closed_orders = RecentIds()
        self.closed_invoices = RecentIds()
        self.reversed_payments = RecentIds()
        self._index()

    def _index(self) -> None:
        """Derive what speeds the ledger up from its records."""
        # Payments with credit left to apply, oldest first.
        self.crediting = {key: p for key, p in self.payments.items() if p.unapplied}
        for payment in self.payments.values():
            for invoice_id in payment.allocations:
                (self.invoices.get(invoice_id) or self.closed[invoice_id]).payers += 1
        self._refresh_next_due()

    @property
    def exposure(self) -> Decimal:
        return self.order_total + self.open_balance - self.unapplied

    # Checks: whether an event changes the ledger (False: it repeats what is known).

    def check(self, fact: Fact) -> bool:
        """Whether ``fact`` changes the ledger.

        False for an event that repeats what the ledger knows (an order placed again for the
        same amount, a second cancellation); raises ``InvalidEvent("inconsistent")`` for one
        that contradicts it.
        """
        check = _CHECKS.get(fact.type)
        return True if check is None else check(self, fact)

    def _check_new_order(self, fact: Fact) -> bool:
        order = self.orders.get(fact.subject)
        if order is None:
            return fact.subject not in self.closed_orders
        if order.amount != fact.amount:
            raise _inconsistent(
                f"order {fact.subject} was placed for {order.amount}, now for {fact.amount}"
            )
        return False

    def _check_known_order(self, fact: Fact) -> bool:
        if fact.subject in self.orders:
            return True
        if fact.subject in self.closed_orders:
            return False
        raise _inconsistent(
            f"{fact.type} of unknown order {fact.subject}: never placed, or closed before the "
            "orders remembered (max_closed_ids)"
        )

    def _check_fulfilment(self, fact: Fact) -> bool:
        self._check_known_order(fact)
        return False  # an order stays open exposure until invoiced or cancelled

    def _check_new_invoice(self, fact: Fact) -> bool:
        known = self.invoices.get(fact.subject) or self.closed.get(fact.subject)
        if known is None:
            return fact.subject not in self.closed_invoices
        if (known.amount, known.due_day) != (fact.amount, fact.due_day):
            raise _inconsistent(
                f"invoice {fact.subject} was issued for {known.amount} due "
                f"{day_to_date(known.due_day)}, now for {fact.amount} due "
                f"{day_to_date(fact.due_day)}"
            )
        return False

    def _check_known_invoice(self, fact: Fact) -> bool:
        if fact.subject in self.invoices:
            return True
        if fact.subject in self.closed or fact.subject in self.closed_invoices:
            return False
        raise _inconsistent(
            f"{fact.type} of unknown invoice {fact.subject}: never issued, or closed before the "
            "invoices remembered (max_closed_ids)"
        )

    def _check_resolution(self, fact: Fact) -> bool:
        is_open = self._check_known_invoice(fact)
        return is_open or (fact.label == "upheld" and bool(fact.amount))

    def _check_new_payment(self, fact: Fact) -> bool:
        payment = self.payments.get(fact.subject)
        if payment is None:
            return fact.subject not in self.reversed_payments
        if payment.amount != fact.amount:
            raise _inconsistent(
                f"payment {fact.subject} was received as {payment.amount}, now as {fact.amount}"
            )
        return False

    def _check_reversal(self, fact: Fact) -> bool:
        if fact.subject in self.payments:
            return True
        if fact.subject in self.reversed_payments:
            return False
        raise _inconsistent(
            f"cannot reverse payment {fact.subject}: never received, or older than the "
            "payments kept for reversal (payment_retention, max_retained_payments)"
        )

    # Orders.

    def place_order(self, order_id: str, amount: Decimal, time: int) -> None:
        self.orders[order_id] = Order(time, amount, amount)
        self.order_total += amount

    def cancel_order(self, order_id: str, config: FeatureConfig) -> None:
        self._close_order(order_id, config)

    def _close_order(self, order_id: str, config: FeatureConfig) -> None:
        self.order_total -= self.orders.pop(order_id).open_amount
        self.closed_orders.add(order_id, config.max_closed_ids)

    # Invoices.

    def issue_invoice(
        self,
        invoice_id: str,
        event_id: str,
        time: int,
        amount: Decimal,
        due_day: int,
        order_id: str | None,
        config: FeatureConfig,
    ) -> list[Settlement]:
        """Open an invoice; returns it settled at once if credit (or a zero amount) pays it."""
        order = self.orders.get(order_id) if order_id else None
        if order is not None:
            consumed = min(order.open_amount, amount)
            order.open_amount -= consumed
            self.order_total -= consumed
            if not order.open_amount:
                self._close_order(order_id, config)
        invoice = Invoice(invoice_id, event_id, time, amount, due_day)
        self.invoices[invoice_id] = invoice
        self.invoiced += amount
        self.open_balance += amount
        self._track_due(invoice)
        if not amount:
            return [self._reduce(invoice, ZERO, time, config)]
        return self._apply_credit(time, config, first=invoice)

    def cancel_invoice(self, invoice_id: str, config: FeatureConfig) -> Decimal:
        """Cancel what is left to pay of an invoice; returns that amount."""
        amount = self._remove_balance(invoice_id, config)
        self.cancelled += amount
        return amount

    def write_off(self, invoice_id: str, config: FeatureConfig) -> Decimal:
        """Write off what is left to pay of an invoice; returns that amount."""
        amount = self._remove_balance(invoice_id, config)
        self.written_off += amount
        return amount

    def _remove_balance(self, invoice_id: str, config: FeatureConfig) -> Decimal:
        invoice = self.invoices[invoice_id]
        amount = invoice.balance
        invoice.balance = invoice.disputed = ZERO
        self.open_balance -= amount
        self._close(invoice, config)
        return amount

    def dispute(self, invoice_id: str, amount: Decimal | None) -> tuple[bool, Decimal]:
        """Dispute part (or, without an amount, all) of an open invoice.

        Returns whether it is the invoice's first dispute and the amount now disputed.
        """
        invoice = self.invoices[invoice_id]
        claimed = invoice.balance if amount is None else amount
        invoice.disputed = min(invoice.balance, invoice.disputed + claimed)
        invoice.disputes += 1
        return invoice.disputes == 1, invoice.disputed

    def resolve_dispute(
        self,
        invoice_id: str,
        upheld: bool,
        credited: Decimal | None,
        time: int,
        config: FeatureConfig,
    ) -> list[Settlement]:
        """Close a dispute; if upheld, credit ``credited`` (default: the amount disputed)."""
        invoice = self.invoices.get(invoice_id)
        credit = ZERO
        if upheld:
            credit = credited if credited is not None else invoice.disputed if invoice else ZERO
        if invoice is not None:
            invoice.disputed = ZERO
        if not credit:
            return []
        self.credited += credit
        settled = []
        if invoice is not None:
            applied = min(credit, invoice.balance)
            credit -= applied
            if settlement := self._reduce(invoice, applied, time, config):
                settled.append(settlement)
        self.carried += credit
        self.unapplied += credit
        return settled + self._apply_credit(time, config)

    # Payments.

    def receive_payment(
        self,
        payment_id: str,
        amount: Decimal,
        invoice_id: str | None,
        time: int,
        config: FeatureConfig,
    ) -> list[Settlement]:
        """Take a payment: the invoice it names first, then the oldest; returns settlements."""
        payment = self.payments[payment_id] = Payment(time, amount, amount)
        if amount:
            self.crediting[payment_id] = payment
        self.unapplied += amount
        self.paid += amount
        if len(self.payments) > config.max_retained_payments:
            self._retire_oldest_payment(config)
        named = self.invoices.get(invoice_id) if invoice_id else None
        if invoice_id and named is None and not self._known_invoice(invoice_id):
            # Its invoice is not here yet (Kafka orders events only within a partition of one
            # topic): the money waits as credit rather than paying someone else's invoice.
            return []
        return self._apply_credit(time, config, first=named)

    def _known_invoice(self, invoice_id: str) -> bool:
        return invoice_id in self.closed or invoice_id in self.closed_invoices

    def reverse_payment(
        self, payment_id: str, time: int, config: FeatureConfig
    ) -> tuple[Payment, list[Settlement], list[Settlement]]:
        """Undo a payment: what it paid reopens and what it left unapplied is gone.

        Returns the payment, the settlements it undid and any settlements that other credit
        makes at once of the reopened invoices.
        """
        payment = self.payments.pop(payment_id)
        self.crediting.pop(payment_id, None)
        self.paid -= payment.amount
        self.unapplied -= payment.unapplied
        self.reversed_payments.add(payment_id, config.max_closed_ids)
        undone = []
        for invoice_id, amount in payment.allocations.items():
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                invoice = self.closed.pop(invoice_id)
                if invoice.settlement is not None:
                    undone.append(invoice.settlement)
                    invoice.settlement = None
                self.invoices[invoice_id] = invoice
                self._track_due(invoice)
            invoice.balance += amount
            invoice.payers -= 1
            self.open_balance += amount
        return payment, undone, self._apply_credit(time, config)

    def _retire_oldest_payment(self, config: FeatureConfig) -> None:
        payment_id = next(iter(self.payments))
        payment = self.payments.pop(payment_id)
        self.crediting.pop(payment_id, None)
        self.carried += payment.unapplied  # still credit, but no longer reversible
        for invoice_id in payment.allocations:
            invoice = self.invoices.get(invoice_id) or self.closed[invoice_id]
            invoice.payers -= 1
            if not invoice.payers and invoice_id in self.closed:
                del self.closed[invoice_id]
                self.closed_invoices.add(invoice_id, config.max_closed_ids)

    # Credit and settlement.

    def _apply_credit(
        self, time: int, config: FeatureConfig, first: Invoice | None = None
    ) -> list[Settlement]:
        """Pay open invoices from unapplied credit: ``first``, then the oldest."""
        if not self.unapplied or not self.invoices:
            return []
        if first is not None and self.unapplied <= first.balance:
            invoices = [first]
        else:
            invoices = sorted(self.invoices.values(), key=_age)
            if first is not None:
                invoices.remove(first)
                invoices.insert(0, first)
        settled = []
        for invoice in invoices:
            amount = min(invoice.balance, self.unapplied)
            self._draw_credit(invoice, amount)
            if settlement := self._reduce(invoice, amount, time, config):
                settled.append(settlement)
            if not self.unapplied:
                break
        return settled

    def _draw_credit(self, invoice: Invoice, amount: Decimal) -> None:
        """Take ``amount`` of unapplied credit for an invoice: plain credit first, then
        payments oldest first, which remember what they paid."""
        self.unapplied -= amount
        taken = min(self.carried, amount)
        self.carried -= taken
        amount -= taken
        crediting = self.crediting
        while amount:
            payment_id = next(iter(crediting))
            payment = crediting[payment_id]
            taken = min(payment.unapplied, amount)
            payment.unapplied -= taken
            amount -= taken
            if not payment.unapplied:
                del crediting[payment_id]
            paid = payment.allocations.get(invoice.invoice_id)
            if paid is None:
                invoice.payers += 1
                paid = ZERO
            payment.allocations[invoice.invoice_id] = paid + taken

    def _reduce(
        self, invoice: Invoice, amount: Decimal, time: int, config: FeatureConfig
    ) -> Settlement | None:
        """Lower an invoice's balance; returns its settlement if that paid it in full."""
        invoice.balance -= amount
        self.open_balance -= amount
        invoice.disputed = min(invoice.disputed, invoice.balance)
        if invoice.balance:
            return None
        days_late = time // DAY - invoice.due_day
        invoice.settlement = Settlement(
            invoice.invoice_id,
            invoice.amount,
            invoice.due_day,
            time,
            days_late,
            days_late > config.late_tolerance_days,
        )
        self._close(invoice, config)
        return invoice.settlement

    def _close(self, invoice: Invoice, config: FeatureConfig) -> None:
        del self.invoices[invoice.invoice_id]
        if invoice.payers:  # a reversal may reopen it
            self.closed[invoice.invoice_id] = invoice
        else:
            self.closed_invoices.add(invoice.invoice_id, config.max_closed_ids)
        if invoice.due_day == self.next_due:
            self._refresh_next_due()

    # Time passing.

    def _track_due(self, invoice: Invoice) -> None:
        if not invoice.overdue and (self.next_due is None or invoice.due_day < self.next_due):
            self.next_due = invoice.due_day

    def _refresh_next_due(self) -> None:
        self.next_due = min(
            (invoice.due_day for invoice in self.invoices.values() if not invoice.overdue),
            default=None,
        )

    def mark_overdue(self, before_day: int) -> list[Invoice]:
        """Flag the open invoices due before ``before_day`` that were not overdue yet."""
        newly = [
            invoice
            for invoice in self.invoices.values()
            if not invoice.overdue and invoice.due_day < before_day
        ]
        for invoice in newly:
            invoice.overdue = True
        self._refresh_next_due()
        return newly

    def prune(self, today: int, config: FeatureConfig) -> None:
        """Forget, as of day ``today``, payments past retention and stale open orders.

        By whole days, so that it needs doing only when the day changes.
        """
        midnight = today * DAY
        payments, orders = self.payments, self.orders
        payments_before = midnight - config.retention_micros
        while payments and next(iter(payments.values())).time < payments_before:
            self._retire_oldest_payment(config)
        orders_before = midnight - config.order_ttl_micros
        while orders and next(iter(orders.values())).placed < orders_before:
            self._close_order(next(iter(orders)), config)

    # Copies and serialisation.

    def copy(self) -> "Ledger":
        """An independent copy. Payments with no credit left are shared: nothing changes them
        any more (retiring or reversing one drops it)."""
        payments = {
            key: copy_with(payment, allocations=payment.allocations.copy())
            if payment.unapplied
            else payment
            for key, payment in self.payments.items()
        }
        return copy_with(
            self,
            orders={key: copy_with(order) for key, order in self.orders.items()},
            invoices={key: copy_with(invoice) for key, invoice in self.invoices.items()},
            closed={key: copy_with(invoice) for key, invoice in self.closed.items()},
            payments=payments,
            crediting={key: payments[key] for key in self.crediting},
            closed_orders=self.closed_orders.copy(),
            closed_invoices=self.closed_invoices.copy(),
            reversed_payments=self.reversed_payments.copy(),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "orders": [
                [order_id, order.placed, str(order.amount), str(order.open_amount)]
                for order_id, order in self.orders.items()
            ],
            "invoices": [invoice.to_row() for invoice in self.invoices.values()],
            "closed": [invoice.to_row() for invoice in self.closed.values()],
            "payments": [
                [
                    payment_id,
                    payment.time,
                    str(payment.amount),
                    str(payment.unapplied),
                    [
                        [invoice_id, str(amount)]
                        for invoice_id, amount in payment.allocations.items()
                    ],
                ]
                for payment_id, payment in self.payments.items()
            ],
            "carried": str(self.carried),
            # The running totals are kept rather than summed again from the records: a sum made
            # in another order can differ in its trailing zeros (100.5 + 0.50 is 101.00, not 101.0).
            "totals": [
                str(total)
                for total in (
                    self.invoiced,
                    self.paid,
                    self.credited,
                    self.written_off,
                    self.cancelled,
                    self.order_total,
                    self.open_balance,
                    self.unapplied,
                )
            ],
            "closed_ids": [
                list(self.closed_orders),
                list(self.closed_invoices),
                list(self.reversed_payments),
            ],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Ledger":
        ledger = cls.__new__(cls)
        ledger.orders = {
            order_id: Order(placed, Decimal(amount), Decimal(open_amount))
            for order_id, placed, amount, open_amount in doc["orders"]
        }
        ledger.invoices = {row[0]: Invoice.from_row(row) for row in doc["invoices"]}
        ledger.closed = {row[0]: Invoice.from_row(row) for row in doc["closed"]}
        ledger.payments = {}
        for payment_id, time, amount, unapplied, allocations in doc["payments"]:
            payment = Payment(time, Decimal(amount), Decimal(unapplied))
            payment.allocations = {invoice_id: Decimal(paid) for invoice_id, paid in allocations}
            ledger.payments[payment_id] = payment
        ledger.carried = Decimal(doc["carried"])
        (
            ledger.invoiced, ledger.paid, ledger.credited, ledger.written_off, ledger.cancelled,
            ledger.order_total, ledger.open_balance, ledger.unapplied,
        ) = map(Decimal, doc["totals"])  # fmt: skip
        orders, invoices, payments = doc["closed_ids"]
        ledger.closed_orders = RecentIds(orders)
        ledger.closed_invoices = RecentIds(invoices)
        ledger.reversed_payments = RecentIds(payments)
        ledger._index()
        return ledger


_CHECKS: dict[str, Callable[[Ledger, Fact], bool]] = {
    "order.placed": Ledger._check_new_order,
    "order.cancelled": Ledger._check_known_order,
    "order.fulfilled": Ledger._check_fulfilment,
    "invoice.issued": Ledger._check_new_invoice,
    "invoice.cancelled": Ledger._check_known_invoice,
    "invoice.written_off": Ledger._check_known_invoice,
    "invoice.disputed": Ledger._check_known_invoice,
    "invoice.dispute_resolved": Ledger._check_resolution,
    "payment.received": Ledger._check_new_payment,
    "payment.reversed": Ledger._check_reversal,
}
