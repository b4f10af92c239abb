"""The exposure ledger of one customer: its items, and the allocation of money derived from them.

Definitions
-----------
open orders
    Orders placed and not yet cancelled, fully invoiced, or older than ``open_order_ttl``. An
    invoice issued after the order it names bills that much of it.
open balance
    What is left to pay of the issued invoices, neither cancelled nor written off.
unapplied credit
    Money received or credited that pays no invoice.
exposure
    open orders + open balance - unapplied credit.

Allocation
----------
Which money pays which invoice is not recorded as events arrive: it is derived, each time a
money event changes the items, by one pass over the money events of the items kept, in
event-time order, so it is the same whatever order they arrived in:

* a payment (or an upheld dispute's credit note) pays the invoice it names first, if that one
  still owes, then the invoices that owe, oldest first (by issue); what is left is pooled,
  and the pool pays each invoice as it is issued, oldest credit first. A payment naming an
  invoice not issued by its time waits for it instead, as unapplied credit (its invoice may
  come later, on another topic), and pays it first when it is issued, as if paid then;
* a dispute marks part of what is owed as disputed; an upheld resolution credits what it
  says, by default what was disputed;
* a cancellation or write-off shuts what is still owed;
* a reversal takes back what the payment paid, which is owed again (even on an invoice
  cancelled since), and what it left unapplied; pooled credit then pays what it reopened.

An invoice is settled by the event that paid its last unit. Since the pass runs in event
time, a later event never changes what happened before it: an event can only change the
allocation from its own time on. So an event dated after every other goes on with the pass
from where it was, and so does one dated among them whose effect nothing after it depends
on (a payment spent whole on invoices nothing changed since its date; an invoice no later
money reached as far as): only other events put in their place run the pass again.

Bounded memory
--------------
Items that met (a credit and every invoice it ever paid, even if reversed since) form a group,
and a group is forgotten whole: once none of its invoices owes or has credit left, none of
its payments has credit left or can still be reversed (by an event within
``payment_retention`` of it, at the horizon or later), and nothing about it happened since
the horizon. A
group never met anything else, so the pass over the items kept gives what the pass over
everything gave. Ids of dropped items are remembered, the newest ``max_closed_ids`` of each.
An order closed or expired before the horizon counts as forgotten from then on, whether or
not a tidy has dropped it yet: what is said of it changes nothing, so that a state tidied
weekly and one tidied whenever its bytes are written take each event alike.
Looking for such groups is skipped until the first horizon one of them can go at, as derived
at the last look and brought forward by what changed since (a change lets an item go no
earlier than its own time).

>>> from features.config import FeatureConfig
>>> from features.eventtime import BEGINNING, DAY
>>> ledger = Ledger()
>>> ledger.place_order("o1", 0, 100_0000)
>>> ledger.issue_invoice("i1", "e2", 1, 100_0000, due_day=30, order_id="o1", paperless=False)
>>> ledger.receive_payment("p1", "e3", 2, 130_0000, None)
>>> changes = ledger.allocate(FeatureConfig())
>>> ledger.exposure, ledger.open_balance, ledger.unapplied
(-300000, 0, 300000)
>>> [(invoice_id, new.event_id) for invoice_id, _, new in changes]
[('i1', 'e3')]
"""

from bisect import insort
from collections.abc import Iterable
from typing import Any

from features.config import FeatureConfig
from features.eventtime import BEGINNING, DAY
from features.items import NEVER, Invoice, Order, Payment, Settlement

CREDIT = "credit:"
"""Prefix of the key of a credit kept among the payments (see :meth:`Ledger.credit`)."""
Change = tuple[str, Settlement | None, Settlement | None]
Step = tuple[int, str, int, str, int]
"""A money event in the pass: (time, event id, kind, invoice or payment id, index of the
dispute or resolution)."""
"""An invoice whose settlement changed: its id, the settlement before and after."""


class Ledger:
    """Orders, invoices and payments of one customer; see the module."""

    __slots__ = (
        "changed",
        "changed_items",
        "closed_invoices",
        "closed_orders",
        "closed_payments",
        "drop_at",
        "invoices",
        "links",
        "open_balance",
        "order_total",
        "orders",
        "payments",
        "run",
        "unapplied",
    )

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.closed_orders: dict[str, int] = {}
        self.closed_invoices: dict[str, int] = {}
        self.closed_payments: dict[str, int] = {}
        """Ids of dropped items (payments: reversed or settled), with their time."""
        self.order_total = self.open_balance = self.unapplied = 0
        self.links: dict[str, tuple[str, ...]] = {}
        """Derived: the items each item met (a credit and every invoice it ever paid, reversed
        or not), both ways; a credit note's credit is its invoice."""
        self.drop_at = BEGINNING
        """Derived: no horizon before it lets :meth:`drop_settled` forget an invoice or a
        payment (``BEGINNING``: not known, look), but for the ``changed_items`` since."""
        self.changed_items: set[str] = set()
        self.run: _Allocation | None = None
        self.changed: list[str] = []
        """Derived: the invoices the last allocation may have changed, sorted."""

    @property
    def exposure(self) -> int:
        return self.order_total + self.open_balance - self.unapplied

    # Items: each method merges one event into its item.

    def place_order(self, order_id: str, time: int, amount: int) -> None:
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = Order()
        order.place(time, amount)

    def cancel_order(self, order_id: str, time: int) -> bool:
        """Whether the cancellation is news (the order was not cancelled earlier)."""
        order = self.orders[order_id]
        if order.cancelled is not None and order.cancelled <= time:
            return False
        order.cancel(time)
        return True

    def issue_invoice(
        self,
        invoice_id: str,
        event_id: str,
        time: int,
        amount: int,
        due_day: int,
        order_id: str | None,
        paperless: bool,
    ) -> None:
        """Keep a new invoice; ``order_id`` is the order it bills, None if it names none or
        one forgotten (:meth:`order_forgotten`)."""
        self.invoices[invoice_id] = Invoice(event_id, time, amount, due_day, paperless)
        if order_id:
            order = self.orders.get(order_id)
            if order is None:  # its order may come later, on its own topic
                order = self.orders[order_id] = Order()
            order.bill(invoice_id, time, amount)

    def close_invoice(self, invoice_id: str, event_id: str, time: int, kind: str) -> None:
        """A cancellation or write-off: it shuts what is owed of the invoice at its time."""
        self.invoices[invoice_id].add_row("closings", [time, event_id, kind])

    def dispute(self, invoice_id: str, event_id: str, time: int, amount: int | None) -> None:
        self.invoices[invoice_id].add_row("disputes", [time, event_id, amount])

    def resolve_dispute(
        self, invoice_id: str, event_id: str, time: int, upheld: bool, credited: int | None
    ) -> None:
        self.invoices[invoice_id].add_row("resolutions", [time, event_id, upheld, credited])

    def receive_payment(
        self, payment_id: str, event_id: str, time: int, amount: int, invoice_id: str | None
    ) -> None:
        self.payments[payment_id] = Payment(event_id, time, amount, invoice_id)

    def reverse_payment(self, payment_id: str, event_id: str, time: int, reason: str) -> bool:
        payment = self.payments[payment_id]
        if payment.reversed is not None and payment.reversed[:2] <= (time, event_id):
            return False
        payment.reversed = (time, event_id, reason)
        return True

    def credit(self, event_id: str, time: int, amount: int) -> None:
        """Credit that pays no invoice in particular (a credit note on an invoice closed by
        then): kept as a payment that cannot be reversed."""
        self.payments[CREDIT + event_id] = Payment(event_id, time, amount, None)

    def may_reopen(self, invoice_id: str, time: int, config: FeatureConfig) -> bool:
        """Whether an invoice that is closed may still owe again after ``time``: a payment
        that paid it is young enough then to be reversed."""
        payments, retention = self.payments, config.retention_micros
        return any(
            type(key) is str
            and not key.startswith(CREDIT)
            and time - payments[key].time < retention
            for key in self.invoices[invoice_id].paid_by
        )

    def reversible(self, payment_id: str, time: int, config: FeatureConfig) -> bool:
        """Whether an event at ``time`` can reverse a payment: it is less than
        ``payment_retention`` after it."""
        payment = self.payments.get(payment_id)
        return (
            payment is not None
            and not payment_id.startswith(CREDIT)
            and time - payment.time < config.retention_micros
        )

    # The allocation.

    def allocate(self, config: FeatureConfig, step: Step | None = None) -> list[Change]:
        """Derive what is left to pay of every invoice and the unapplied credit (see the
        module); returns the invoices whose settlement changed.

        ``step`` is the money event just merged: when it comes after every step of the last
        pass, the pass goes on from where it was (the same as passing over everything again,
        as the pass runs in event time); so it does when it comes among earlier steps but
        provably changes nothing of them (see :meth:`_Allocation.goes_on`); otherwise the
        pass runs again over everything kept."""
        run = self.run
        if step is not None and run is not None and run.goes_on(step):
            looked_at: Iterable[str] = run.dirty
            self.changed_items |= run.dirty
            self.changed_items |= run.freed
        else:
            # A step merged among earlier ones changes things only from its time on.
            earliest = BEGINNING if step is None or run is None else step[0]
            self.drop_at = min(self.drop_at, earliest + 1)
            run = self.run = _Allocation(self, config.grace_micros)
            for each in self._steps():
                run.take(each)
            looked_at = self.invoices
        self.unapplied = sum(run.waiting.values()) + run.pooled
        self.links = run.met
        self.changed = sorted(looked_at)
        changes: list[Change] = []
        tolerance = config.late_tolerance_days
        invoices = self.invoices
        for invoice_id in self.changed:
            invoice = invoices[invoice_id]
            paid = run.settled.get(invoice_id)
            settlement = None
            if paid is not None:
                days_late = paid[0] // DAY - invoice.due_day
                settlement = Settlement(paid[0], paid[1], days_late, days_late > tolerance)
            if settlement != invoice.settlement:
                changes.append((invoice_id, invoice.settlement, settlement))
                invoice.settlement = settlement
        self.open_balance = run.owed
        if len(changes) > 1:  # in the order the money reached them
            changes.sort(key=lambda change: run.order.get(change[0], _NOT_REACHED))
        return changes

    def _steps(self) -> list[Step]:
        """Every event about the money of the kept items, in event-time order: (time, event
        id, kind, the invoice or payment, the dispute's or resolution's index)."""
        steps = []
        for invoice_id, invoice in self.invoices.items():
            steps.append((invoice.issued, invoice.event_id, _ISSUE, invoice_id, 0))
            for index, (time, event_id, _) in enumerate(invoice.closings):
                steps.append((time, event_id, _CLOSE, invoice_id, index))
            for index, (time, event_id, _) in enumerate(invoice.disputes):
                steps.append((time, event_id, _DISPUTE, invoice_id, index))
            for index, (time, event_id, *_) in enumerate(invoice.resolutions):
                steps.append((time, event_id, _RESOLVE, invoice_id, index))
        for payment_id, payment in self.payments.items():
            steps.append((payment.time, payment.event_id, _PAY, payment_id, 0))
            if payment.reversed is not None:
                reversed_at, event_id, _ = payment.reversed
                steps.append((reversed_at, event_id, _REVERSE, payment_id, 0))
        steps.sort()
        return steps

    def count_order(self, order_id: str | None, clock: int, config: FeatureConfig) -> None:
        """Derive again what of one order is open, after an event about it."""
        order = self.orders.get(order_id) if order_id else None
        if order is not None:
            expired_before = _expired_before(clock, config)
            before, order.open_amount = order.open_amount, order.unbilled(expired_before)
            self.order_total += order.open_amount - before

    def expire_orders(self, clock: int, config: FeatureConfig) -> None:
        """Let the open orders older than ``open_order_ttl`` at ``clock`` expire."""
        expired_before = _expired_before(clock, config)
        for order in self.orders.values():
            if order.open_amount and order.placed < expired_before:
                self.order_total -= order.open_amount
                order.open_amount = 0

    def count_orders(self, clock: int, config: FeatureConfig) -> None:
        """Derive what of each order is open, and their total, at ``clock``."""
        expired_before = _expired_before(clock, config)
        total = 0
        for order in self.orders.values():
            order.open_amount = order.unbilled(expired_before)
            total += order.open_amount
        self.order_total = total

    # Bounds.

    def drop_settled(self, horizon: int, clock: int, config: FeatureConfig) -> int:
        """Forget the items nothing can change any more (see the module); returns how many
        of the invoices dropped were disputed while they owed."""
        self._drop_orders(horizon, clock, config)
        if self.run is not None:
            self.run.forget_before(horizon)
        if self._forget_after_close(horizon, config):
            self.allocate(config)  # the same money, from credits of their own now
        if horizon < self.drop_at:
            for key in self.changed_items:  # what else changed can only go later
                self._note_change(key, config)
        self.changed_items = set()
        if horizon < self.drop_at:
            return 0
        invoices, payments = self.invoices, self.payments
        own = self._items_droppable_at(config)
        dropped: list[str] = []
        gone: list[str] = []
        looked_at: set[str] = set()
        self.drop_at = NEVER
        for start, at in own.items():
            if at == NEVER or start in looked_at:
                continue  # its group stays as long as it does
            group = self._group_of(start)
            looked_at |= group
            at = max(own.get(key, BEGINNING) for key in group)
            if at <= horizon:
                dropped += (key for key in group if key in invoices)
                gone += (key for key in group if key in payments)
            elif at < self.drop_at:
                self.drop_at = at
        disputed = 0
        for invoice_id in dropped:
            disputed += invoices[invoice_id].was_disputed()
            self._forget(self.closed_invoices, invoice_id, invoices.pop(invoice_id).issued, config)
        for payment_id in gone:
            self._forget(self.closed_payments, payment_id, payments.pop(payment_id).time, config)
        if self.run is not None and (dropped or gone):
            self.run.forget(dropped, gone)
        return disputed

    def _group_of(self, key: str) -> set[str]:
        """The items that met ``key``, directly or through others, and ``key``."""
        links = self.links
        group, reached = {key}, [key]
        while reached:
            for other in links.get(reached.pop(), ()):
                if other not in group:
                    group.add(other)
                    reached.append(other)
        return group

    def _items_droppable_at(self, config: FeatureConfig) -> dict[str, int]:
        """When each invoice and payment can be forgotten, their groups aside."""
        own = {key: invoice.droppable_at() for key, invoice in self.invoices.items()}
        retention = config.retention_micros
        for key, payment in self.payments.items():
            at = payment.droppable_at(retention, not key.startswith(CREDIT))
            own[key] = max(own.get(key, BEGINNING), at)
        return own

    def _item_droppable_at(self, key: str, config: FeatureConfig) -> int:
        """When the invoice or payment ``key`` can be forgotten, its group aside."""
        invoice, payment = self.invoices.get(key), self.payments.get(key)
        at = BEGINNING if invoice is None else invoice.droppable_at()
        if payment is not None:
            reversible = not key.startswith(CREDIT)
            at = max(at, payment.droppable_at(config.retention_micros, reversible))
        return at

    def _note_change(self, key: str, config: FeatureConfig) -> None:
        """Bring ``drop_at`` forward if the item ``key``, changed since it was derived, lets
        its group go sooner."""
        if key not in self.invoices and key not in self.payments:
            return  # forgotten since
        if self._item_droppable_at(key, config) < self.drop_at:  # else its group cannot
            group = self._group_of(key)  # it goes when the last of it can (NEVER is the largest)
            at = max(self._item_droppable_at(other, config) for other in group)
            self.drop_at = min(self.drop_at, at)

    def _forget_after_close(self, horizon: int, config: FeatureConfig) -> bool:
        """What was said of an invoice after it closed for good (before the horizon, so that
        no event dated earlier can still move the close; and it may not owe again then)
        changes nothing of it, and is kept as if it had come after: a credit note's amount
        as credit of its own, the rest not. Returns whether there was any."""
        forgot = False
        for invoice_id, invoice in self.invoices.items():
            if not (invoice.closings or invoice.disputes or invoice.resolutions):
                continue
            closed = invoice.closed_at()
            if closed is None or closed >= horizon:
                continue

            def stays(row: list[Any], invoice_id: str = invoice_id, closed: int = closed) -> bool:
                return (
                    row[0] <= closed
                    or row[1] in self.invoices[invoice_id].acted
                    or self.may_reopen(invoice_id, row[0], config)
                )

            late = [row for row in invoice.resolutions if not stays(row)]
            if not late and all(map(stays, [*invoice.disputes, *invoice.closings])):
                continue
            for time, event_id, upheld, credited in late:
                if upheld and credited:
                    self.credit(event_id, time, credited)
            invoice.resolutions = [row for row in invoice.resolutions if stays(row)]
            invoice.disputes = [row for row in invoice.disputes if stays(row)]
            invoice.closings = [row for row in invoice.closings if stays(row)]
            forgot = True
        return forgot

    def order_forgotten(
        self, order_id: str, horizon: int, clock: int, config: FeatureConfig
    ) -> bool:
        """Whether the order ``order_id`` is forgotten, or would be by a tidy at ``horizon``
        and ``clock``: what is said of it then changes nothing, however long ago the state
        last tidied (a state read back from its bytes tidied when they were written)."""
        if order_id in self.closed_orders:
            return True
        order = self.orders.get(order_id)
        return order is not None and _forgets(order, horizon, _expired_before(clock, config))

    def _drop_orders(self, horizon: int, clock: int, config: FeatureConfig) -> None:
        expired_before = _expired_before(clock, config)
        for order_id, order in list(self.orders.items()):
            if _forgets(order, horizon, expired_before):
                closed = order.closed_at()
                self._forget(self.closed_orders, order_id, order.placed or closed or 0, config)
                del self.orders[order_id]

    @staticmethod
    def _forget(ids: dict[str, int], item_id: str, time: int, config: FeatureConfig) -> None:
        ids[item_id] = time
        if len(ids) > config.max_closed_ids:
            newest = sorted(ids.items(), key=lambda pair: (pair[1], pair[0]))
            ids.clear()
            ids.update(newest[len(newest) - config.max_closed_ids :])

    def next_deadline(self, grace: int) -> int | None:
        """When the next open invoice not yet overdue turns overdue, if any."""
        return min(
            (
                invoice.deadline(grace)
                for invoice in self.invoices.values()
                if invoice.fired[0] is None and invoice.is_open()
            ),
            default=None,
        )

    # Serialisation.

    def to_doc(self) -> dict[str, Any]:
        return {
            "orders": [order.to_row(key) for key, order in sorted(self.orders.items())],
            "invoices": [invoice.to_row(key) for key, invoice in sorted(self.invoices.items())],
            "payments": [payment.to_row(key) for key, payment in sorted(self.payments.items())],
            "closed": [
                sorted(ids.items())
                for ids in (self.closed_orders, self.closed_invoices, self.closed_payments)
            ],
        }

    def fired_doc(self) -> dict[str, list[Any]]:
        """The transitions each kept invoice fired: when it turned overdue, what settled it."""
        fired: dict[str, list[Any]] = {}
        for key, invoice in self.invoices.items():
            overdue, settled, closed, disputed = invoice.fired
            if overdue is not None or settled or closed or disputed:
                fired[key] = [overdue, sorted(settled), sorted(closed), sorted(disputed)]
        return dict(sorted(fired.items()))

    @classmethod
    def from_doc(cls, doc: dict[str, Any], fired: dict[str, list[Any]]) -> "Ledger":
        ledger = cls()
        ledger.orders = dict(map(Order.from_row, doc["orders"]))
        ledger.invoices = dict(map(Invoice.from_row, doc["invoices"]))
        ledger.payments = dict(map(Payment.from_row, doc["payments"]))
        orders, invoices, payments = doc["closed"]
        ledger.closed_orders, ledger.closed_invoices = dict(orders), dict(invoices)
        ledger.closed_payments = dict(payments)
        for key, memory in fired.items():
            ledger.invoices[key].fired = memory
        return ledger


_ISSUE, _CLOSE, _DISPUTE, _RESOLVE, _PAY, _REVERSE = range(6)
_EVERYWHERE = (NEVER, "")
"""The reach of a step that changed the pool: an invoice issued at any time may be paid by it."""
_NOT_REACHED: tuple[Step, int] = ((BEGINNING, "", 0, "", 0), -1)
"""The place in ``_Allocation.order`` of an invoice no money reached."""
STEP_KINDS = {
    "invoice.issued": _ISSUE,
    "invoice.cancelled": _CLOSE,
    "invoice.written_off": _CLOSE,
    "invoice.disputed": _DISPUTE,
    "invoice.dispute_resolved": _RESOLVE,
    "payment.received": _PAY,
    "payment.reversed": _REVERSE,
}
"""The kind of step each money event is in the pass."""


class _Allocation:
    """One pass over the money events of the kept items, in event-time order, as the
    ledger's definitions say; it leaves on each invoice what is left to pay of it."""

    def __init__(self, ledger: Ledger, grace: int) -> None:
        self.ledger, self.grace = ledger, grace
        self.owing: list[tuple[int, str, str]] = []
        """(issue time, issue event id, invoice id) of the invoices with something to pay,
        oldest first."""
        self.pool: dict[Any, int] = {}
        """Credit that paid no invoice yet, by where it came from, oldest first."""
        self.pooled = self.owed = 0
        """Credit in the pool; what the invoices owe."""
        self.waiting: dict[str, int] = {}
        """Payments waiting for the invoice they name, not issued by their time."""
        self.issued: set[str] = set()
        """The invoices whose issue the pass has come to."""
        self.last: Step = (BEGINNING, "", 0, "", 0)
        """The step the pass has come to."""
        self.dirty: set[str] = set()
        """The invoices the steps since it was emptied changed."""
        self.freed: set[str] = set()
        """The credits (a credit note's: its invoice) whose credit left those steps changed
        (using a credit only makes its last use later)."""
        self.met: dict[str, tuple[str, ...]] = {}
        """Item -> the items it met: a credit (a credit note's is its invoice) and the invoices
        it paid. Tuples, not sets: an item meets one or two others, and a set of one takes
        four times the memory of a tuple."""
        self.paid: dict[Any, dict[str, int]] = {}
        """What each credit paid, invoice by invoice: a reversal takes it back."""
        self.settled: dict[str, tuple[int, str]] = {}
        self.order: dict[str, tuple[Step, int]] = {}
        """When the money first reached each invoice: the step, and the turn within the pass
        (never reused: an invoice forgotten leaves its turn empty)."""
        self.turns = 0
        self.at: Step = self.last
        """The step being taken."""
        self.touched: dict[str, Step] = {}
        """The last step that changed each invoice."""
        self.reaches: list[tuple[Step, tuple[int, str]]] = []
        """(step, the (issue time, issue event id) of the newest invoice it paid) of each step
        whose money went past the invoice it names, in the order taken; ``_EVERYWHERE`` for a
        step that changed the pool."""
        for invoice in ledger.invoices.values():
            invoice.remaining = 0
            invoice.forget_allocation()
        for payment in ledger.payments.values():
            payment.unapplied = payment.used = 0

    def goes_on(self, step: Step) -> bool:
        """Take the money event just merged if the pass can go on without running again: it
        comes after every step taken, or, among them, it is one whose effect is known without
        what came after it:

        * a payment spent whole on the invoice it names and the oldest owing then, none of
          which anything changed since the payment's time (what was left to pay of each then
          is what is left now, and no later money reached them, so none would have stopped
          short of them);
        * a payment naming an invoice never seen: it waits, and touches nothing;
        * an invoice issued when the pool was empty and no later money reached as far as it,
          which absorbs whole the payments waiting for it.

        Taking it then leaves what passing over everything again would (the steps after it
        find everything they looked at as it was)."""
        self.dirty, self.freed = set(), set()
        if step > self.last:
            self.take(step)
            return True
        time, event_id, kind, key, _ = step
        invoices = self.ledger.invoices
        if kind == _PAY:
            payment = self.ledger.payments[key]
            named = payment.invoice_id
            if payment.reversed is not None:
                return False
            closed = self.ledger.closed_invoices
            never_seen = named and named not in invoices and named not in closed
            if not never_seen and not self._spent_on_unchanged(step, payment.amount, named):
                return False
            self.at = step
            self._credit(key, payment.amount, named, time, event_id)  # one never seen waits
            return True
        if kind == _ISSUE and not self.pool:
            invoice = invoices[key]
            if invoice.closings or invoice.disputes or invoice.resolutions:
                return False
            awaiting = self._awaiting(step)
            if awaiting is None or not self._reached_none_after(step):
                return False
            self.at = step
            self._issue(key, invoice, time, event_id)  # pays it what waited from before it
            for payment_step, payment in awaiting:
                if payment_step > step:  # the rest pays it at its own time
                    payment_id = payment_step[3]
                    del self.waiting[payment_id]
                    payment.unapplied = 0
                    self.at = payment_step
                    self._pay(payment_id, key, invoice, payment.amount, *payment_step[:2])
            return True
        return False

    def _awaiting(self, step: Step) -> list[tuple[Step, Payment]] | None:
        """The payments naming the invoice ``step`` issues, which waited for it, with their
        steps in order, if it absorbs them whole; None if it may not."""
        invoice_id = step[3]
        awaiting = []
        for payment_id, payment in self.ledger.payments.items():
            if payment.invoice_id == invoice_id:
                payment_step = (payment.time, payment.event_id, _PAY, payment_id, 0)
                if payment_id not in self.waiting:
                    return None  # reversed: it may have paid the invoice, and taken it back
                awaiting.append((payment_step, payment))
        if sum(payment.amount for _, payment in awaiting) > self.ledger.invoices[invoice_id].amount:
            return None
        return sorted(awaiting, key=lambda pair: pair[0])

    def _spent_on_unchanged(self, step: Step, amount: int, named: str | None) -> bool:
        """Whether money at ``step`` is spent whole on invoices nothing changed since: the one
        it names, then the others in turn (oldest first), as far as it goes; none is pooled."""
        invoices, touched, last = self.ledger.invoices, self.touched, self.last
        if named in invoices:
            if touched.get(named, last) > step:
                return False
            amount -= min(amount, invoices[named].remaining)
        by_issue = sorted(
            (invoice.issued, invoice.event_id, key) for key, invoice in invoices.items()
        )
        for _, _, invoice_id in by_issue:
            if not amount:
                return True
            if touched.get(invoice_id, last) > step:  # so is every invoice issued after it
                return False
            if invoice_id != named:
                amount -= min(amount, invoices[invoice_id].remaining)
        return not amount

    def _reached_none_after(self, step: Step) -> bool:
        """Whether no money after ``step`` reached as far as the invoice it issues."""
        issued = step[:2]
        for at, reach in reversed(self.reaches):
            if at < step:
                return True
            if reach > issued:
                return False
        return True

    def forget_before(self, horizon: int) -> None:
        """Forget the reaches before the horizon: no step can come among them any more."""
        reaches = self.reaches
        if reaches and reaches[0][0][0] < horizon:
            self.reaches = [entry for entry in reaches if entry[0][0] >= horizon]

    def forget(self, invoice_ids: list[str], payment_ids: list[str]) -> None:
        """Leave out of the pass items dropped with their group: since they never met the items
        kept, it is then the pass over the items kept."""
        gone = set(invoice_ids)
        for payment_id in payment_ids:
            self.met.pop(payment_id, None)
            self.paid.pop(payment_id, None)
        for credit in [key for key in self.paid if type(key) is not str and key[0] in gone]:
            del self.paid[credit]
        for invoice_id in invoice_ids:
            self.met.pop(invoice_id, None)
            self.settled.pop(invoice_id, None)
            self.order.pop(invoice_id, None)
            self.touched.pop(invoice_id, None)
            self.issued.discard(invoice_id)

    def take(self, step: Step) -> None:
        self.last = self.at = step
        time, event_id, kind, key, index = step
        invoices = self.ledger.invoices
        if kind != _PAY and kind != _REVERSE:
            self._touch(key)
            if kind != _ISSUE and invoices[key].remaining:
                invoices[key].note("acted", event_id, True)
        if kind == _PAY:
            payment = self.ledger.payments[key]
            self._credit(key, payment.amount, payment.invoice_id, time, event_id)
        elif kind == _ISSUE:
            invoice = invoices[key]
            closings = invoice.closings
            if closings and (closings[0][0], closings[0][1]) < (time, event_id):
                invoice.note("shut_by", closings[0][1], invoice.amount)  # closed before issued
                invoice.closed = closings[0][0]
                self.issued.add(key)
                self._release(key, time, event_id)
                return
            self._issue(key, invoice, time, event_id)
        elif kind == _CLOSE:
            invoice = invoices[key]
            if invoice.remaining:
                invoice.note("shut_by", event_id, invoice.remaining)
                self.owed -= invoice.remaining
                invoice.remaining = invoice.disputed = 0
                invoice.closed = time
                self._stop_owing(key, invoice)
        elif kind == _DISPUTE:
            invoice = invoices[key]
            claimed = invoice.disputes[index][2]
            if invoice.remaining:
                invoice.disputed = min(
                    invoice.remaining, invoice.disputed + (claimed or invoice.remaining)
                )
                invoice.note("open_disputes", event_id, invoice.disputed)
        elif kind == _RESOLVE:
            invoice = invoices[key]
            _, _, upheld, credited = invoice.resolutions[index]
            credit = invoice.disputed if credited is None else credited
            invoice.disputed = 0
            if upheld and credit:
                self._credit((key, event_id), credit, key, time, event_id)
        else:
            self._reverse(key, time, event_id)

    def _touch(self, invoice_id: str) -> None:
        self.dirty.add(invoice_id)
        self.touched[invoice_id] = self.at

    def _issue(self, invoice_id: str, invoice: Invoice, time: int, event_id: str) -> None:
        self._touch(invoice_id)
        self.issued.add(invoice_id)
        invoice.remaining = invoice.amount
        self.owed += invoice.amount
        insort(self.owing, (time, event_id, invoice_id))
        self._release(invoice_id, time, event_id)
        self._pay_from_pool(invoice_id, invoice, time, event_id)

    def _release(self, invoice_id: str, time: int, event_id: str) -> None:
        """The payments dated before the invoice they name, waiting for its issue, come now:
        to it first, as if paid at its issue."""
        if not self.waiting:
            return
        payments = self.ledger.payments
        waited = sorted(
            (payments[key].time, payments[key].event_id, key)
            for key in self.waiting
            if payments[key].invoice_id == invoice_id
            and (payments[key].time, payments[key].event_id) < (time, event_id)
        )
        for _, _, key in waited:
            payments[key].unapplied = 0
            self._credit(key, self.waiting.pop(key), invoice_id, time, event_id)

    def _credit(self, key: Any, amount: int, named: str | None, time: int, event_id: str) -> None:
        """Money in: the invoice it names if it still owes, then the oldest that owe; the
        rest is pooled. A payment naming an invoice not issued yet waits for it instead."""
        invoices = self.ledger.invoices
        if (
            named
            and named not in self.issued
            and type(key) is str
            and named not in self.ledger.closed_invoices
        ):
            self.waiting[key] = amount
            self.ledger.payments[key].unapplied = amount
            return
        invoice = invoices.get(named) if named else None
        if invoice is not None and invoice.remaining:
            amount -= self._pay(key, named, invoice, amount, time, event_id)
        reach = None
        for issued, issue_id, invoice_id in list(self.owing):
            if not amount:
                break
            amount -= self._pay(key, invoice_id, invoices[invoice_id], amount, time, event_id)
            reach = (issued, issue_id)
        if reach is not None:
            insort(self.reaches, (self.at, reach))  # the step may come among earlier ones
        if amount:
            self._pool(key, amount)

    def _pay_from_pool(self, invoice_id: str, invoice: Invoice, time: int, event_id: str) -> None:
        for key, left in list(self.pool.items()):
            self._pool(key, left - self._pay(key, invoice_id, invoice, left, time, event_id))
            if not invoice.remaining:
                break

    def _pool(self, key: Any, amount: int) -> None:
        """Set what is left of a credit in the pool (0: none)."""
        before = self.pool.get(key, 0)
        self.pooled += amount - before
        self.reaches.append((self.at, _EVERYWHERE))
        if amount:
            self.pool[key] = amount
        else:
            self.pool.pop(key, None)
        if type(key) is str:
            self.ledger.payments[key].unapplied = amount
            self.freed.add(key)
        else:
            self.ledger.invoices[key[0]].credit_left += amount - before
            self.freed.add(key[0])

    def _pay(
        self, key: Any, invoice_id: str, invoice: Invoice, offered: int, time: int, event_id: str
    ) -> int:
        amount = offered if offered < invoice.remaining else invoice.remaining
        if not amount:
            return 0
        invoice.remaining -= amount
        self.owed -= amount
        if invoice.disputed > invoice.remaining:
            invoice.disputed = invoice.remaining
        invoice.paid_by[key] = invoice.paid_by.get(key, 0) + amount
        self._touch(invoice_id)
        self._used(key, time)
        paid = self.paid.setdefault(key, {})
        if invoice_id in paid:
            paid[invoice_id] += amount
        else:
            paid[invoice_id] = amount
            self._meet(key if type(key) is str else key[0], invoice_id)
        if time < invoice.deadline(self.grace):
            invoice.paid_early[key] = invoice.paid_early.get(key, 0) + amount
        if invoice_id not in self.order:
            self.order[invoice_id] = (self.at, self.turns)
            self.turns += 1
        if not invoice.remaining:
            invoice.closed = time
            self.settled[invoice_id] = (time, event_id)
            self._stop_owing(invoice_id, invoice)
        return amount

    def _meet(self, credit: str, invoice_id: str) -> None:
        met = self.met
        if invoice_id not in met.get(credit, ()):  # kept both ways together: one side tells
            met[credit] = (*met.get(credit, ()), invoice_id)
            met[invoice_id] = (*met.get(invoice_id, ()), credit)

    def _used(self, key: Any, time: int) -> None:
        """Note when a credit last paid something: until then, what it paid may depend on it."""
        if type(key) is str:
            payment = self.ledger.payments[key]
            payment.used = max(payment.used, time)
        else:
            invoice = self.ledger.invoices[key[0]]
            invoice.credit_used = max(invoice.credit_used, time)

    def _stop_owing(self, invoice_id: str, invoice: Invoice) -> None:
        self.owing.remove((invoice.issued, invoice.event_id, invoice_id))

    def _reverse(self, payment_id: str, time: int, event_id: str) -> None:
        """A payment reversed: what it paid is owed again, what it left unapplied is gone,
        and pooled credit pays what it reopened."""
        self._pool(payment_id, 0)
        if self.waiting.pop(payment_id, None) is not None:
            self.ledger.payments[payment_id].unapplied = 0
        invoices = self.ledger.invoices
        for invoice_id, amount in self.paid.pop(payment_id, {}).items():
            invoice = invoices[invoice_id]
            if not invoice.remaining:
                insort(self.owing, (invoice.issued, invoice.event_id, invoice_id))
                self.settled.pop(invoice_id, None)
            invoice.remaining += amount
            invoice.paid_early.pop(payment_id, None)
            self.owed += amount
            del invoice.paid_by[payment_id]
            self._touch(invoice_id)
        for _, _, invoice_id in list(self.owing):
            if self.pool:
                self._pay_from_pool(invoice_id, invoices[invoice_id], time, event_id)


def _expired_before(clock: int, config: FeatureConfig) -> int:
    """Orders placed before this have expired at ``clock`` (they expire by the day)."""
    return (clock // DAY) * DAY - config.order_ttl_micros


def _forgets(order: Order, horizon: int, expired_before: int) -> bool:
    """Whether nothing can change ``order`` any more: it closed, or expired, before the
    horizon."""
    closed = order.closed_at()
    if closed is not None and closed < horizon:
        return True
    placed = order.placed
    return placed is not None and placed < expired_before and placed < horizon
