"""A customer's state, the same whatever order its events arrive in, by how it is built.

Nothing is replayed. Each event is merged into what it is about, and every part of the state
is a function of the set of events taken, not of their order:

* the profile's fields are registers that keep the newest value by event time
  (:mod:`features.profile`), credit reports the newest of each source by date
  (:mod:`features.bureau`);
* orders, invoices and payments are mergeable records (:mod:`features.items`); which money pays
  which invoice is derived from them (:mod:`features.ledger`), and so are the settlements,
  aging and days past due;
* counts and money are integer sums, windows are event-time tiles, averages of days late are
  ratios of two integer sums decayed from a fixed epoch (:mod:`features.behaviour`,
  :mod:`features.activity`).

Lateness and duplicates
-----------------------
The *watermark* is the newest event time; the *horizon* the watermark less ``lateness`` (or
later, when more than ``max_buffered_events`` events are newer). An event older than the
horizon is rejected as ``too_late``. The state remembers a digest of every event not older
than the horizon, and of the newest ``max_recent_event_ids`` before it: an id seen with the
same content is a redelivery and changes nothing; with other content it is ``inconsistent``.
Items nothing can change any more (closed before the horizon, and their payments past
reversal) are dropped; their ids are remembered.

Transitions
-----------
Transitions fire as soon as the state sees them, with ids derived from what caused them
(:mod:`features.transitions`). An invoice remembers the overdue and settlement transitions it
fired, so none fires twice. A transition that an event arriving later but dated earlier would
have prevented (an invoice turned overdue, then comes a payment dated before its due date) has
fired and stays fired while the state is corrected. ``limit_exceeded`` fires when an event
takes the exposure over the credit limit as the state knows it when the event arrives.

Time passing
------------
The *clock* is the newest of the watermark and the times :meth:`CustomerState.advance` was
given (the wall clock live, event time in a replay). Invoices turn overdue as it passes their
due date and grace; payments stop being reversible and open orders expire by it.

Serialised form
---------------
``to_bytes`` writes orjson of the items, sums, registers, remembered ids and clocks, sorted,
with a format version; what is derived is derived again when read. The bytes are canonical:
the same events and the same clock give the same bytes, whatever the arrival order (up to
the transitions each invoice remembers, under ``fired``).
"""

from bisect import bisect_left, insort
from datetime import datetime
from typing import Any

import orjson

from features.activity import Activity
from features.behaviour import PaymentBehaviour
from features.bureau import CreditReports
from features.config import FeatureConfig
from features.eventtime import BEGINNING, DAY, duration_text, from_micros, to_micros
from features.facts import Fact
from features.industry import NO_INDUSTRY, IndustryRisk
from features.items import Invoice
from features.ledger import STEP_KINDS, Change, Ledger, Step
from features.profile import Profile
from features.stats import Summary
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
from features.units import UNIT, to_decimal
from features.view import Features
from schemas.events import InputEvent
from schemas.validation import InvalidEvent

FORMAT = 3
TIDY_EVERY = 7 * DAY
"""How far the horizon moves before the state forgets what it can (see
:meth:`CustomerState._tidy`): often enough to stay small, seldom enough to cost little."""
_DEFAULT_CONFIG = FeatureConfig()
_MONEY_EVENTS = frozenset(
    {
        "invoice.issued",
        "invoice.cancelled",
        "invoice.written_off",
        "invoice.disputed",
        "invoice.dispute_resolved",
        "payment.received",
        "payment.reversed",
    }
)


def _moment(micros: int) -> str:
    return from_micros(micros).isoformat() if micros > BEGINNING else "the beginning"


def _inconsistent(reason: str) -> InvalidEvent:
    return InvalidEvent("inconsistent", reason)


class CustomerState:
    """Everything riskstream keeps about one customer; see the module for how.

    >>> from datetime import UTC, date, datetime
    >>> from schemas import InvoiceIssued, Money
    >>> state, config = CustomerState.new("c1"), FeatureConfig()
    >>> issued = InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="i1",
    ...     event_time=datetime(2026, 1, 1, tzinfo=UTC), due_date=date(2026, 1, 31),
    ...     amount=Money(amount="250.00", currency="EUR"))
    >>> [transition.kind for transition in state.apply(issued, config)]
    ['invoice_issued']
    >>> state.apply(issued, config)  # a redelivery changes nothing
    []
    >>> state.apply(issued.model_copy(update={"due_date": date(2026, 3, 1)}), config)
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: inconsistent: event id e1 was seen with different content
    >>> [transition.kind for transition in state.advance(datetime(2026, 2, 2, tzinfo=UTC), config)]
    ['invoice_overdue']
    >>> state.features(datetime(2026, 2, 2, tzinfo=UTC), config).overdue_balance
    Decimal('250.00')
    >>> CustomerState.from_bytes(state.to_bytes()).to_bytes() == state.to_bytes()
    True
    """

    __slots__ = (
        "_exact",
        "_tidied",
        "activity",
        "behaviour",
        "clock",
        "config",
        "customer_id",
        "derived",
        "first_time",
        "horizon",
        "ledger",
        "next_due",
        "profile",
        "reports",
        "revision",
        "seen",
        "seen_times",
        "watermark",
    )

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.profile = Profile()
        self.reports = CreditReports()
        self.ledger = Ledger()
        self.behaviour = PaymentBehaviour()
        self.activity = Activity()
        self.seen: dict[str, tuple[int, str]] = {}
        """Event id -> (event time, digest of its fact)."""
        self.seen_times: list[int] = []
        """The times of ``seen``, sorted: the newest ``max_buffered_events`` bound the horizon."""
        self.watermark = self.horizon = self.clock = BEGINNING
        self.first_time: int | None = None
        self.revision = 0
        """How many events the state has taken: it changes exactly when an event changed it."""
        self.next_due: int | None = None
        """The earliest deadline of an invoice that may still turn overdue."""
        self.derived = True
        """False after ``from_bytes`` until the allocation is derived (it needs the config)."""
        self.config = _DEFAULT_CONFIG
        """The config of the last call that had one, to tidy with in ``to_bytes``."""
        self._tidied = BEGINNING // TIDY_EVERY
        """The horizon of the last tidy, in ``TIDY_EVERY``: tidying when the horizon moves, a
        function of the events alone, keeps what is forgotten, and when, the same whatever the
        clock does."""
        self._exact: tuple[int, int] | None = None
        """(horizon, clock) of the last exact tidy, ``to_bytes``'s, if no event came since."""

    @classmethod
    def new(cls, customer_id: str) -> "CustomerState":
        """The state of a customer nothing is known of yet."""
        return cls(customer_id)

    @property
    def currency(self) -> str | None:
        """The customer's currency: the one of its earliest event that names one."""
        return self.profile.currency

    def apply(self, event: InputEvent, config: FeatureConfig) -> list[Transition]:
        """Take one event; returns the transitions it caused that had not fired before.

        A redelivered event (an id seen before, with the same content) returns ``[]`` and
        changes nothing. Raises ``InvalidEvent`` (``too_late`` or ``inconsistent``, which
        includes an id seen with other content), with nothing changed, for an event that
        cannot be taken.
        """
        if event.customer_id != self.customer_id:
            raise _inconsistent(
                f"event of customer {event.customer_id} given to {self.customer_id}'s state"
            )
        fact = Fact.of(event)
        digest = fact.digest()
        known = self.seen.get(fact.event_id)
        if known is not None:
            if known[1] != digest:
                raise _inconsistent(f"event id {fact.event_id} was seen with different content")
            return []
        time = fact.time
        if time < self.horizon:
            raise InvalidEvent("too_late", self._too_late(fact, config))
        self._derive(config)
        self.profile.check(fact)
        check = _CHECKS[fact.type]
        check(self, fact, config)  # raises before anything changes
        out: list[Transition] = []
        ledger = self.ledger
        limit = self.profile.credit_limit
        above = limit is not None and ledger.exposure > limit
        self._pass_time(time, config, out)
        self.seen[fact.event_id] = (time, digest)
        insort(self.seen_times, time)
        self.revision += 1
        self._exact = None
        if self.first_time is None or time < self.first_time:
            self.first_time = time
        if time > self.watermark:
            self.watermark = time
            self._move_horizon(config)
        if self._tidied != self.horizon // TIDY_EVERY:
            self._tidy(config)
        self.profile.update(fact)
        if check(self, fact, config):  # again: passing time may have dropped its item
            _HANDLERS[fact.type](self, fact, config, out)
            if fact.type in _MONEY_EVENTS:
                self._record(ledger.allocate(config, self._step(fact)), config, out)
                self._check_due(config, out)
        limit = self.profile.credit_limit
        if limit is not None and not above and (exposure := ledger.exposure) > limit:
            out.append(
                limit_exceeded(self.customer_id, fact, exposure, limit, self.profile.currency)
            )
        return out

    def advance(self, now: datetime, config: FeatureConfig) -> list[Transition]:
        """Let time pass to ``now`` (event time in a replay, the wall clock live)."""
        self._derive(config)
        out: list[Transition] = []
        self._pass_time(to_micros(now), config, out)
        return out

    def next_deadline(self, config: FeatureConfig) -> datetime | None:
        """When :meth:`advance` will next have something to do: the next invoice turning overdue."""
        self._derive(config)
        deadline = self.ledger.next_deadline(config.grace_micros)
        return None if deadline is None else from_micros(deadline)

    def features(
        self,
        now: datetime,
        config: FeatureConfig = _DEFAULT_CONFIG,
        industry: IndustryRisk = NO_INDUSTRY,
    ) -> Features:
        """The customer's features at ``now``, or at the clock if ``now`` is before it, the
        industries' risk and the sources' rating scales as ``industry`` says."""
        self._derive(config)
        return Features.of(self, max(to_micros(now), self.clock), config, industry)

    def open_invoices(self) -> list[tuple[str, Invoice]]:
        """(id, invoice) of the invoices that owe, oldest due first (as derived when the
        features were last read)."""
        owing = [
            (key, invoice) for key, invoice in self.ledger.invoices.items() if invoice.remaining
        ]
        return sorted(owing, key=lambda pair: (pair[1].due_day, pair[1].issued, pair[0]))

    def payment_amount_stats(self, config: FeatureConfig = _DEFAULT_CONFIG) -> Summary:
        """The statistics of the customer's payment amounts so far: the same as its
        ``features(...).payment_amount_stats``, without computing the rest."""
        return self.activity.payment_amounts.summary(UNIT, config.zscore_min_count)

    # Time.

    def _pass_time(self, to: int, config: FeatureConfig, out: list[Transition]) -> None:
        if to <= self.clock:
            return
        since, self.clock = self.clock, to
        if to // DAY != since // DAY:  # open orders expire by the day
            self.ledger.expire_orders(to, config)
        next_due = self.next_due
        if next_due is not None and next_due <= to:
            self._fire_overdue(config, out)

    def _move_horizon(self, config: FeatureConfig) -> None:
        horizon = self.watermark - config.lateness_micros
        if len(self.seen) > config.max_buffered_events + config.max_recent_event_ids:
            horizon = max(horizon, self.seen_times[-config.max_buffered_events])
        if horizon > self.horizon:
            self.horizon = horizon

    def _tidy(self, config: FeatureConfig, exact: bool = False) -> None:
        """Forget what nothing can change any more, and count what of the orders is still
        open."""
        horizon, ledger = self.horizon, self.ledger
        self._tidied = horizon // TIDY_EVERY
        self.behaviour.disputed_invoices += ledger.drop_settled(horizon, self.clock, config)
        self.activity.forget_before(horizon)
        seen = self.seen
        if not exact and len(seen) <= 2 * config.max_recent_event_ids:
            return
        forgotten = bisect_left(self.seen_times, horizon) - config.max_recent_event_ids
        if forgotten <= 0:
            return  # no more ids before the horizon than are kept
        older = sorted((time, event_id) for event_id, (time, _) in seen.items() if time < horizon)
        for _, event_id in older[:forgotten]:
            del seen[event_id]
        del self.seen_times[:forgotten]  # the oldest times of all

    def _check_due(self, config: FeatureConfig, out: list[Transition]) -> None:
        """After the allocation changed some invoices: fire those already past their deadline
        (issued late, reopened), or note the next deadline."""
        grace, next_due = config.grace_micros, self.next_due
        invoices = self.ledger.invoices
        for invoice_id in self.ledger.changed:
            invoice = invoices[invoice_id]
            if invoice.fired[0] is None:
                deadline = invoice.deadline(grace)
                if deadline <= self.clock:
                    self._fire_overdue(config, out)
                    return
                if invoice.remaining and (next_due is None or deadline < next_due):
                    next_due = deadline
        self.next_due = next_due

    def _fire_overdue(self, config: FeatureConfig, out: list[Transition]) -> None:
        """Fire the invoices whose deadline the clock has passed while they were open."""
        grace, clock, currency = config.grace_micros, self.clock, self.profile.currency
        next_due = None
        due = []
        for invoice_id, invoice in self.ledger.invoices.items():
            if invoice.fired[0] is not None:
                continue
            deadline = invoice.deadline(grace)
            closed = invoice.closed_at()
            if closed is not None and closed < deadline:
                continue
            if deadline > clock:
                if next_due is None or deadline < next_due:
                    next_due = deadline
                continue
            due.append((max(deadline, invoice.issued), invoice_id, invoice))
        for moment, invoice_id, invoice in sorted(due):
            invoice.fired[0] = moment
            out.append(invoice_overdue(self.customer_id, invoice_id, invoice, moment, currency))
        self.next_due = next_due

    # Money.

    def _record(self, changes: list[Change], config: FeatureConfig, out: list[Transition]) -> None:
        """Count the settlements the allocation changed; fire what it newly shows: closings
        that shut something, disputes of invoices then owed, settlements."""
        behaviour, half_life = self.behaviour, config.half_life_micros
        invoices, currency, customer = self.ledger.invoices, self.profile.currency, self.customer_id
        for invoice_id in self.ledger.changed:
            invoice = invoices[invoice_id]
            for time, event_id, kind in invoice.closings:
                shut = invoice.shut_by.get(event_id)
                if shut and invoice.remember(2, event_id):
                    out.append(
                        invoice_closed(
                            kind.replace(".", "_"), customer, invoice_id, (time, event_id), shut,
                            currency,
                        )
                    )  # fmt: skip
            for event_id, disputed in invoice.open_disputes.items():
                if invoice.remember(3, event_id):
                    time = next(row[0] for row in invoice.disputes if row[1] == event_id)
                    out.append(
                        dispute_opened(customer, invoice_id, (time, event_id), disputed, currency)
                    )
        for invoice_id, before, after in changes:
            if before is not None:
                behaviour.record_settlement(before, half_life, -1)
            if after is not None:
                behaviour.record_settlement(after, half_life)
                invoice = invoices[invoice_id]
                if invoice.remember(1, after.event_id):
                    out.append(invoice_settled(customer, invoice_id, invoice, after, currency))

    def _step(self, fact: Fact) -> Step | None:
        """The step of the ledger's pass a money event just merged is, if it is one (a credit
        note on an invoice closed by then became a credit of its own)."""
        if fact.type == "invoice.dispute_resolved" and not any(
            row[1] == fact.event_id
            for row in getattr(self.ledger.invoices.get(fact.subject), "resolutions", ())
        ):
            return None
        return (fact.time, fact.event_id, STEP_KINDS[fact.type], fact.subject or "", -1)

    def _derive(self, config: FeatureConfig) -> None:
        """After ``from_bytes``: derive the allocation, which the bytes do not hold."""
        self.config = config
        if self.derived:
            return
        self.ledger.allocate(config)  # its settlements are counted already
        self.ledger.count_orders(self.clock, config)
        self._fire_overdue(config, [])  # only finds the next deadline: the clock has not moved
        self.derived = True

    # Checks: whether an event is news (False: it repeats what is known; raises if it
    # contradicts it).

    def _order_forgotten(self, order_id: str, config: FeatureConfig) -> bool:
        return self.ledger.order_forgotten(order_id, self.horizon, self.clock, config)

    def _check_new_order(self, fact: Fact, config: FeatureConfig) -> bool:
        if self._order_forgotten(fact.subject, config):
            return False
        order = self.ledger.orders.get(fact.subject)
        if order is None or order.placed is None:
            return True
        if order.amount != fact.amount:
            raise _inconsistent(
                f"order {fact.subject} was placed for {_units(order.amount)}, now for "
                f"{_units(fact.amount)}"
            )
        return False

    def _check_known_order(self, fact: Fact, config: FeatureConfig) -> bool:
        if self._order_forgotten(fact.subject, config):
            return False
        if fact.subject in self.ledger.orders:
            return fact.type == "order.cancelled"
        raise _inconsistent(
            f"{fact.type} of unknown order {fact.subject}: never placed, or closed before the "
            "orders remembered (max_closed_ids)"
        )

    def _check_new_invoice(self, fact: Fact, config: FeatureConfig) -> bool:
        known = self.ledger.invoices.get(fact.subject)
        if known is None:
            return fact.subject not in self.ledger.closed_invoices
        if (known.amount, known.due_day) != (fact.amount, fact.due_day):
            raise _inconsistent(
                f"invoice {fact.subject} was issued for {_units(known.amount)} due "
                f"{from_micros((known.due_day or 0) * DAY).date()}, now for "
                f"{_units(fact.amount)} due {from_micros((fact.due_day or 0) * DAY).date()}"
            )
        return False

    def _check_known_invoice(self, fact: Fact, config: FeatureConfig) -> bool:
        """News about an invoice kept (what changes nothing is forgotten when the state tidies
        up); about one dropped, only a credit note with its amount is (it credits the
        customer)."""
        if fact.subject in self.ledger.invoices:
            return True
        if fact.subject in self.ledger.closed_invoices:
            return _credit_note(fact)
        raise _inconsistent(
            f"{fact.type} of unknown invoice {fact.subject}: never issued, or closed before the "
            "invoices remembered (max_closed_ids)"
        )

    def _check_new_payment(self, fact: Fact, config: FeatureConfig) -> bool:
        payment = self.ledger.payments.get(fact.subject)
        if payment is None:
            return fact.subject not in self.ledger.closed_payments
        if payment.amount != fact.amount:
            raise _inconsistent(
                f"payment {fact.subject} was received as {_units(payment.amount)}, now as "
                f"{_units(fact.amount)}"
            )
        return False

    def _check_reversal(self, fact: Fact, config: FeatureConfig) -> bool:
        ledger = self.ledger
        payment = ledger.payments.get(fact.subject)
        if payment is not None and payment.reversed is not None:
            return (fact.time, fact.event_id) < payment.reversed[:2]
        if fact.subject in ledger.closed_payments and payment is None:
            return False
        if not ledger.reversible(fact.subject, fact.time, config):
            raise _inconsistent(
                f"cannot reverse payment {fact.subject}: never received, or older than the "
                "payments kept for reversal (payment_retention)"
            )
        return True

    def _check_profile(self, fact: Fact, config: FeatureConfig) -> bool:
        return True

    # Handlers: merge an event that is news into its item and the sums.

    def _place_order(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        amount = fact.amount or 0
        self.ledger.place_order(fact.subject, fact.time, amount)
        self.activity.record_order(fact.time, amount)
        self.ledger.count_order(fact.subject, self.clock, config)

    def _cancel_order(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        self.ledger.cancel_order(fact.subject, fact.time)
        self.ledger.count_order(fact.subject, self.clock, config)

    def _issue_invoice(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        amount, order_id = fact.amount or 0, fact.link
        if order_id and self._order_forgotten(order_id, config):
            order_id = None  # it bills nothing of an order forgotten
        self.ledger.issue_invoice(
            fact.subject, fact.event_id, fact.time, amount, fact.due_day or 0, order_id,
            bool(fact.paperless),
        )  # fmt: skip
        self.behaviour.record_invoice(fact.time, amount)
        self.ledger.count_order(fact.link, self.clock, config)
        out.append(invoice_issued(self.customer_id, fact))

    def _close_invoice(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        self.ledger.close_invoice(fact.subject, fact.event_id, fact.time, fact.type)

    def _dispute(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        ledger, invoice_id = self.ledger, fact.subject
        ledger.dispute(invoice_id, fact.event_id, fact.time, fact.amount)

    def _resolve_dispute(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        if fact.subject in self.ledger.invoices:
            upheld = fact.label == "upheld"
            self.ledger.resolve_dispute(fact.subject, fact.event_id, fact.time, upheld, fact.amount)
        else:
            self.ledger.credit(fact.event_id, fact.time, fact.amount or 0)

    def _receive_payment(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        amount = fact.amount or 0
        self.ledger.receive_payment(fact.subject, fact.event_id, fact.time, amount, fact.link)
        self.activity.record_payment(fact.time, amount)

    def _reverse_payment(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        ledger = self.ledger
        first = ledger.payments[fact.subject].reversed is None
        ledger.reverse_payment(fact.subject, fact.event_id, fact.time, fact.label or "")
        if first:
            if fact.label == "bounced":
                self.behaviour.bounced += 1
            amount = ledger.payments[fact.subject].amount
            out.append(payment_reversed(self.customer_id, fact, amount, self.currency))

    def _take_report(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        self.reports.update(fact.subject or "", fact.time, fact.event_id, fact.report)

    def _nothing(self, fact: Fact, config: FeatureConfig, out: list[Transition]) -> None:
        pass

    def _too_late(self, fact: Fact, config: FeatureConfig) -> str:
        return (
            f"event {fact.event_id} at {_moment(fact.time)} is before the horizon "
            f"{_moment(self.horizon)} of customer {self.customer_id}: its newest event is at "
            f"{_moment(self.watermark)} and the allowed lateness is "
            f"{duration_text(config.lateness)}"
            + (
                f" (or {config.max_buffered_events} newer events are waiting)"
                if self.horizon > self.watermark - config.lateness_micros
                else ""
            )
        )

    # Serialisation.

    def to_bytes(self) -> bytes:
        """The compact, versioned serialised state; :meth:`from_bytes` restores it exactly."""
        if self.derived and self._exact != (self.horizon, self.clock):
            self._tidy(self.config, exact=True)  # what it forgot is then a function of both
            self._exact = (self.horizon, self.clock)
        document: dict[str, Any] = {
            "format": FORMAT,
            "customer": self.customer_id,
            "revision": self.revision,
            "watermark": self.watermark,
            "horizon": self.horizon,
            "clock": self.clock,
            "first": self.first_time,
            "profile": self.profile.to_row(),
            # Only with reports: the bytes of a state without any are as they were before.
            **({"reports": self.reports.to_row()} if self.reports.sources else {}),
            "ledger": self.ledger.to_doc(),
            "behaviour": self.behaviour.to_row(self.clock),
            "activity": self.activity.to_row(self.clock),
            "seen": sorted([time, key, digest] for key, (time, digest) in self.seen.items()),
            "fired": self.ledger.fired_doc(),
        }
        return orjson.dumps(document)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "CustomerState":
        document = orjson.loads(blob)
        if document.get("format") != FORMAT:
            raise ValueError(
                f"customer state in format {document.get('format')!r}; this code reads {FORMAT}"
            )
        state = cls(document["customer"])
        state.revision = document["revision"]
        state.watermark, state.horizon = document["watermark"], document["horizon"]
        state.clock, state.first_time = document["clock"], document["first"]
        state.profile = Profile.from_row(document["profile"])
        state.reports = CreditReports.from_row(document.get("reports", {}))
        state.ledger = Ledger.from_doc(document["ledger"], document["fired"])
        state.behaviour = PaymentBehaviour.from_row(document["behaviour"])
        state.activity = Activity.from_row(document["activity"])
        state.seen = {key: (time, digest) for time, key, digest in document["seen"]}
        state.seen_times = [time for time, _, _ in document["seen"]]  # sorted by time
        state.derived = False
        return state


def _credit_note(fact: Fact) -> bool:
    return fact.type == "invoice.dispute_resolved" and fact.label == "upheld" and bool(fact.amount)


def _units(amount: int | None) -> str:
    return "nothing" if amount is None else format(to_decimal(amount), "f")


_Check = Any
_CHECKS: dict[str, _Check] = {
    "order.placed": CustomerState._check_new_order,
    "order.cancelled": CustomerState._check_known_order,
    "order.fulfilled": CustomerState._check_known_order,
    "invoice.issued": CustomerState._check_new_invoice,
    "invoice.cancelled": CustomerState._check_known_invoice,
    "invoice.written_off": CustomerState._check_known_invoice,
    "invoice.disputed": CustomerState._check_known_invoice,
    "invoice.dispute_resolved": CustomerState._check_known_invoice,
    "payment.received": CustomerState._check_new_payment,
    "payment.reversed": CustomerState._check_reversal,
    "customer.profile": CustomerState._check_profile,
    "customer.credit_limit": CustomerState._check_profile,
    "customer.payment_terms": CustomerState._check_profile,
    "customer.credit_report": CustomerState._check_profile,
}
_HANDLERS: dict[str, Any] = {
    "order.placed": CustomerState._place_order,
    "order.cancelled": CustomerState._cancel_order,
    "order.fulfilled": CustomerState._nothing,
    "invoice.issued": CustomerState._issue_invoice,
    "invoice.cancelled": CustomerState._close_invoice,
    "invoice.written_off": CustomerState._close_invoice,
    "invoice.disputed": CustomerState._dispute,
    "invoice.dispute_resolved": CustomerState._resolve_dispute,
    "payment.received": CustomerState._receive_payment,
    "payment.reversed": CustomerState._reverse_payment,
    "customer.profile": CustomerState._nothing,
    "customer.credit_limit": CustomerState._nothing,
    "customer.payment_terms": CustomerState._nothing,
    "customer.credit_report": CustomerState._take_report,
}
