"""The replayable part of a customer's state: what a replay in event-time order recomputes.

An account takes facts strictly in event-time order (:class:`~features.state.CustomerState`
re-orders late ones) and lets time pass. Every step is deterministic, so the same facts and
the same clock always give the same account and the same transitions.

Applying a fact: check it against what is known (raising ``InvalidEvent`` before anything
changes), let time pass to the fact's time (invoices turn overdue), apply it, then fire what
it caused: settlements, an invoice that is already past due turning overdue at once, exposure
crossing the credit limit. Letting time pass composes: advancing to a and then to b ≥ a is the
same as advancing to b, so a clock moved ahead by the passing of time never changes what the
facts give.
"""

from collections.abc import Callable
from typing import Any

from features.activity import Activity
from features.behaviour import PaymentBehaviour
from features.config import FeatureConfig
from features.copying import copy_with
from features.eventtime import BEGINNING, DAY
from features.facts import Fact
from features.ledger import Ledger
from features.profile import Profile
from features.records import Settlement
from features.transitions import (
    Transition,
    dispute_opened,
    invoice_closed,
    invoice_issued,
    invoice_overdue,
    invoice_settled,
    limit_exceeded,
    payment_reversed,
)

Out = list[Transition] | None
"""Where transitions go; None while settling facts whose transitions fired long ago."""


class Account:
    """Profile, ledger, payment behaviour and activity of one customer, at ``clock``.

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from features.eventtime import DAY, date_to_day
    >>> account, config, out = Account("c1"), FeatureConfig(), []
    >>> due = date_to_day(date(1970, 1, 31))
    >>> account.apply(Fact(0, "e1", "invoice.issued", "i1", Decimal(100), "EUR", due_day=due),
    ...               config, out)
    >>> account.advance(40 * DAY, config, out)
    >>> [(transition.kind, transition.details.get("days_past_due")) for transition in out]
    [('invoice_issued', None), ('invoice_overdue', 1)]
    """

    __slots__ = (
        "above_limit",
        "activity",
        "behaviour",
        "clock",
        "customer_id",
        "first_time",
        "ledger",
        "profile",
    )

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.clock = BEGINNING
        self.first_time: int | None = None
        self.profile = Profile()
        self.ledger = Ledger()
        self.behaviour = PaymentBehaviour()
        self.activity = Activity()
        self.above_limit = False

    def apply(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        """Apply a fact no older than the clock; raises ``InvalidEvent`` with nothing changed."""
        self.profile.check(fact)
        changes = self.ledger.check(fact)
        self.advance(fact.time, config, out)
        self.profile.update(fact)
        if self.first_time is None:
            self.first_time = fact.time
        if not changes:
            return
        handler = _HANDLERS.get(fact.type)
        if handler is not None:
            handler(self, fact, config, out)
        self._fire_overdue(self.clock, config, out)
        self._check_limit(fact, out)

    def advance(self, to: int, config: FeatureConfig, out: Out) -> None:
        """Let event time pass to ``to``: invoices past their due date and grace turn overdue."""
        if to <= self.clock:
            return
        since, self.clock = self.clock, to
        if to // DAY != since // DAY:
            self.ledger.prune(to // DAY, config)
        self._fire_overdue(since, config, out)

    def next_deadline(self, config: FeatureConfig) -> int | None:
        """When the next open invoice turns overdue, if any."""
        due = self.ledger.next_due
        return None if due is None else (due + 1) * DAY + config.grace_micros

    def _fire_overdue(self, since: int, config: FeatureConfig, out: Out) -> None:
        due = self.ledger.next_due
        before_day = (self.clock - config.grace_micros) // DAY
        if due is None or due >= before_day:
            return
        for invoice in self.ledger.mark_overdue(before_day):
            if out is not None:
                moment = max((invoice.due_day + 1) * DAY + config.grace_micros, since)
                out.append(
                    invoice_overdue(self.customer_id, invoice, moment, self.profile.currency)
                )

    def _check_limit(self, fact: Fact, out: Out) -> None:
        limit = self.profile.credit_limit
        if limit is None:
            self.above_limit = False
            return
        exposure = self.ledger.exposure
        above = exposure > limit
        if above and not self.above_limit and out is not None:
            out.append(
                limit_exceeded(self.customer_id, fact, exposure, limit, self.profile.currency)
            )
        self.above_limit = above

    # Handlers, one per kind of fact that changes the ledger.

    def _place_order(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        self.ledger.place_order(fact.subject, fact.amount, fact.time)
        self.activity.record_order(fact.time, float(fact.amount))

    def _cancel_order(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        self.ledger.cancel_order(fact.subject, config)

    def _issue_invoice(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        settled = self.ledger.issue_invoice(
            fact.subject, fact.event_id, fact.time, fact.amount, fact.due_day, fact.link, config
        )
        self.behaviour.record_invoice(fact.time, float(fact.amount))
        if out is not None:
            out.append(invoice_issued(self.customer_id, fact))
        self._settle(settled, fact, config, out)

    def _cancel_invoice(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        amount = self.ledger.cancel_invoice(fact.subject, config)
        if out is not None:
            out.append(
                invoice_closed(
                    "invoice_cancelled", self.customer_id, fact, amount, self.profile.currency
                )
            )

    def _write_off(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        amount = self.ledger.write_off(fact.subject, config)
        if out is not None:
            out.append(
                invoice_closed(
                    "invoice_written_off", self.customer_id, fact, amount, self.profile.currency
                )
            )

    def _dispute(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        first, disputed = self.ledger.dispute(fact.subject, fact.amount)
        if first:
            self.behaviour.disputed_invoices += 1
        if out is not None:
            out.append(dispute_opened(self.customer_id, fact, disputed, self.profile.currency))

    def _resolve_dispute(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        settled = self.ledger.resolve_dispute(
            fact.subject, fact.label == "upheld", fact.amount, fact.time, config
        )
        self._settle(settled, fact, config, out)

    def _receive_payment(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        settled = self.ledger.receive_payment(
            fact.subject, fact.amount, fact.link, fact.time, config
        )
        self.activity.record_payment(fact.time, float(fact.amount))
        self._settle(settled, fact, config, out)

    def _reverse_payment(self, fact: Fact, config: FeatureConfig, out: Out) -> None:
        payment, undone, settled = self.ledger.reverse_payment(fact.subject, fact.time, config)
        for settlement in undone:
            self.behaviour.withdraw_settlement(settlement, config.half_life_micros)
        if fact.label == "bounced":
            self.behaviour.bounced += 1
        if out is not None:
            out.append(
                payment_reversed(self.customer_id, fact, payment.amount, self.profile.currency)
            )
        self._settle(settled, fact, config, out)

    def _settle(
        self, settlements: list[Settlement], fact: Fact, config: FeatureConfig, out: Out
    ) -> None:
        for settlement in settlements:
            self.behaviour.record_settlement(settlement, config.half_life_micros)
            if out is not None:
                out.append(
                    invoice_settled(self.customer_id, settlement, fact, self.profile.currency)
                )

    # Serialisation.

    def to_doc(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "first": self.first_time,
            "profile": self.profile.to_row(),
            "ledger": self.ledger.to_doc(),
            "behaviour": self.behaviour.to_row(self.clock),
            "activity": self.activity.to_row(self.clock),
            "above_limit": self.above_limit,
        }

    @classmethod
    def from_doc(cls, customer_id: str, doc: dict[str, Any]) -> "Account":
        account = cls.__new__(cls)
        account.customer_id = customer_id
        account.clock = doc["clock"]
        account.first_time = doc["first"]
        account.profile = Profile.from_row(doc["profile"])
        account.ledger = Ledger.from_doc(doc["ledger"])
        account.behaviour = PaymentBehaviour.from_row(doc["behaviour"])
        account.activity = Activity.from_row(doc["activity"])
        account.above_limit = doc["above_limit"]
        return account

    def copy(self) -> "Account":
        """An independent copy: a mark, or where a rebuild starts."""
        return copy_with(
            self,
            profile=copy_with(self.profile),
            ledger=self.ledger.copy(),
            behaviour=self.behaviour.copy(),
            activity=self.activity.copy(),
        )


_Handler = Callable[[Account, Fact, FeatureConfig, Out], None]
_HANDLERS: dict[str, _Handler] = {
    "order.placed": Account._place_order,
    "order.cancelled": Account._cancel_order,
    "invoice.issued": Account._issue_invoice,
    "invoice.cancelled": Account._cancel_invoice,
    "invoice.written_off": Account._write_off,
    "invoice.disputed": Account._dispute,
    "invoice.dispute_resolved": Account._resolve_dispute,
    "payment.received": Account._receive_payment,
    "payment.reversed": Account._reverse_payment,
}
