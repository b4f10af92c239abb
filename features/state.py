"""A customer's state: its account, kept exactly as if its events had arrived in event-time order.

Out-of-order events
-------------------
The state keeps a *settled* account (``base``) and the events of the last ``lateness``
(``buffer``), sorted by (event time, event id). The *current* account (``head``) is the base
with the buffer replayed onto it and advanced to the clock, so it depends on the set of events,
never on their arrival order:

* an event no older than the clock and than the buffer's last one (the usual case) is applied
  to the head directly, which is the same as replaying it at the end of the buffer;
* an older one (within lateness) is inserted at its place and the head rebuilt: the base
  copied, the buffer replayed. If the replay raises (the event contradicts what the history
  says at its place), the rebuilt head is dropped and the event rejected: nothing changes;
* so that a rebuild does not replay a long buffer whole (a worker catching up reads its four
  input topics at different paces, so most events arrive out of order), the head is copied
  every ``MARK_EVERY`` buffered events, a *mark*; a rebuild starts from the newest mark before
  the event's place instead of the base. A mark's clock may be past its events (time passed
  before it was taken): an event older than that clock drops the mark, since no event may be
  replayed onto an account whose clock is after it. Marks live in memory only, at most
  ``MARKS_KEPT``;
* the *horizon* is the watermark (the newest event time) minus ``lateness``; a new event older
  than the horizon is rejected as ``too_late``. Events older than the horizon are *settled*:
  once a mark covers only such events, and its clock is not after the horizon, that mark
  becomes the base and its events leave the buffer. That way the common case applies each
  event once: settling by applying the events a second time, to the base, is left to
  :meth:`CustomerState.to_bytes` (which writes the base at the horizon), and to a buffer
  holding more than ``SETTLE_AFTER`` events older than the horizon (no mark fitted, say the
  wall clock kept the head's clock ahead of the events).

A base before the horizon is harmless because letting time pass composes (see
:mod:`features.account`), every buffered event after the base is no older than its clock,
and no event older than the horizon can arrive.

Transitions and their ids
-------------------------
Transition ids are derived from the kind and the ids that cause them. The state remembers the
ids it fired that are not older than the base's clock (a replay starts there, so it cannot
produce older ones), so a replay never fires a transition twice, and every transition of the
in-order history fires exactly once, whatever the arrival order. Transitions fire as soon as the
head sees them, because an alert must not wait for ``lateness``: a transition that an event
arriving later but dated earlier would have prevented (an invoice turned overdue, then comes
a payment dated before its due date) has fired and stays fired while the state is corrected.
Only events arriving after a later-dated one can cause such an extra transition.

Redeliveries
------------
An event whose id the state remembers is a redelivery when its content (its fact) is the one
remembered: it changes nothing. With other content it is refused as ``inconsistent``. The
buffer keeps the facts themselves; a settled id keeps an 8-byte digest of its fact (ids
settled before digests were kept, in format 1, match any content).

Bounds
------
The buffer holds the events of the last ``lateness``, at most ``max_buffered_events`` (past
that, the oldest settle early and the horizon moves up to them), plus at most ``SETTLE_AFTER``
older ones. Remembered event ids are those of the buffer plus the ``max_recent_event_ids``
latest settled; fired ids those not older than the base's clock. The account bounds itself
(see :mod:`features.ledger`).

Serialised form
---------------
``to_bytes`` settles what is older than the horizon, then writes orjson of the base, the
buffer, the clocks and the remembered ids (with their digests), with a format version;
:meth:`CustomerState.from_bytes` reads formats 1 and 2. The head is not stored: the first call
that passes a config rebuilds it. The bytes are canonical: the same events and the same clock
give the same bytes, whatever the arrival order (up to the ids of extra transitions, above).
"""

from bisect import bisect
from datetime import datetime
from typing import Any

import orjson

from features.account import Account
from features.config import FeatureConfig
from features.eventtime import BEGINNING, duration_text, from_micros, to_micros
from features.facts import Fact
from features.recent import RecentIds
from features.stats import Summary
from features.transitions import Transition
from features.view import Features
from schemas.events import InputEvent
from schemas.validation import InvalidEvent

FORMAT = 2
_READABLE = (1, 2)
MARK_EVERY = 32
"""Buffered events between two marks: a rebuild replays at most this many before its place."""
MARKS_KEPT = 4
"""Marks kept, the newest: an out-of-order event is most often only a little late."""
SETTLE_AFTER = 2 * MARK_EVERY
"""Events older than the horizon the buffer may hold, waiting for a mark to become the base."""
_FIRED_KEPT = 32
"""Fired ids kept in memory before those older than the horizon (which no replay can fire
again) are dropped; the serialised state keeps only the ids not older than the horizon."""
_DEFAULT_CONFIG = FeatureConfig()


def _order(fact: Fact) -> tuple[int, str]:
    return fact.time, fact.event_id


def _precedes(mark: tuple[int, Account], place: int, time: int) -> bool:
    """Whether an event at ``place`` in the buffer and at ``time`` can be replayed onto the
    mark: it comes after the mark's events, and the mark's clock (which the passing of time
    may have moved past its events) is not after it."""
    return mark[0] <= place and mark[1].clock <= time


def _moment(micros: int) -> str:
    return from_micros(micros).isoformat() if micros > BEGINNING else "the beginning"


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
        "awaits_replay",
        "base",
        "buffer",
        "buffered",
        "clock",
        "customer_id",
        "fired",
        "head",
        "horizon",
        "marks",
        "recent_ids",
        "revision",
        "settled_with",
        "watermark",
    )

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.base = Account(customer_id)
        self.head = Account(customer_id)
        self.awaits_replay = False
        """True while ``head`` is a copy of the base the buffer has not been replayed onto
        (after ``from_bytes``, which has no config to replay with)."""
        self.buffer: list[Fact] = []
        self.marks: list[tuple[int, Account]] = []
        """(n, the account after the first n buffered events), n ascending; never changed."""
        self.buffered: dict[str, Fact] = {}
        """The facts of the buffer by event id."""
        self.recent_ids = RecentIds()
        self.fired: dict[str, int] = {}
        self.watermark = self.horizon = self.clock = BEGINNING
        self.revision = 0
        """How many events the state has taken: it changes exactly when an event changed it."""
        self.settled_with = _DEFAULT_CONFIG
        """The config of the last call that moved the horizon, to settle with in ``to_bytes``."""

    @classmethod
    def new(cls, customer_id: str) -> "CustomerState":
        """The state of a customer nothing is known of yet."""
        return cls(customer_id)

    @property
    def currency(self) -> str | None:
        """The customer's currency: the first one its events name, in event-time order."""
        currencies = (self.base.profile.currency, *(fact.currency for fact in self.buffer))
        return next((currency for currency in currencies if currency), None)

    def apply(self, event: InputEvent, config: FeatureConfig) -> list[Transition]:
        """Take one event; returns the transitions it caused that had not fired before.

        A redelivered event (an id seen before, with the same content) returns ``[]`` and
        changes nothing. Raises ``InvalidEvent`` (``too_late`` or ``inconsistent``, which
        includes an id seen with other content), with nothing changed, for an event that
        cannot be taken.
        """
        if event.customer_id != self.customer_id:
            raise InvalidEvent(
                "inconsistent",
                f"event of customer {event.customer_id} given to {self.customer_id}'s state",
            )
        fact = Fact.of(event)
        if self._seen(fact):
            return []
        if fact.time < self.horizon:
            raise InvalidEvent("too_late", self._too_late(fact, config))
        head = self._head(config)
        out: list[Transition] = []
        if fact.time >= head.clock and (not self.buffer or _order(fact) > _order(self.buffer[-1])):
            head.apply(fact, config, out)
            self.buffer.append(fact)
            self._mark()
        else:
            place = bisect(self.buffer, _order(fact), key=_order)
            start, account = self._mark_before(place, fact.time)
            replayed = [fact, *self.buffer[place:]]
            self.head = self._replay(
                account.copy(),
                [*self.buffer[start:place], *replayed],
                head.clock,
                config,
                out,
                inserted=fact,
            )
            self.buffer[place:] = replayed
            self.marks = [mark for mark in self.marks if _precedes(mark, place, fact.time)]
            self._mark()
        self.buffered[fact.event_id] = fact
        self.revision += 1
        self.clock = self.head.clock
        if fact.time > self.watermark:
            self.watermark = fact.time
        fresh = self._unfired(out)  # before settling forgets the ids older than it keeps
        self._settle(config)
        return fresh

    def _seen(self, fact: Fact) -> bool:
        """Whether the event of ``fact`` was taken before; ``inconsistent`` if its id was,
        with other content."""
        event_id = fact.event_id
        if event_id in self.buffered:
            same = self.buffered[event_id] == fact
        elif event_id in self.recent_ids:
            digest = self.recent_ids.note(event_id)
            same = digest is None or digest == fact.digest()
        else:
            return False
        if not same:
            raise InvalidEvent(
                "inconsistent", f"event id {event_id} was seen with different content"
            )
        return True

    def advance(self, now: datetime, config: FeatureConfig) -> list[Transition]:
        """Let time pass to ``now`` (event time in a replay, the wall clock live)."""
        head = self._head(config)
        out: list[Transition] = []
        head.advance(to_micros(now), config, out)
        self.clock = head.clock
        return self._unfired(out)

    def next_deadline(self, config: FeatureConfig) -> datetime | None:
        """When :meth:`advance` will next have something to do: the next invoice turning overdue."""
        deadline = self._head(config).next_deadline(config)
        return None if deadline is None else from_micros(deadline)

    def features(self, now: datetime, config: FeatureConfig = _DEFAULT_CONFIG) -> Features:
        """The customer's features at ``now``, or at the clock if ``now`` is before it.

        The state already holds every event up to its clock, so it cannot be seen as it was
        earlier; pass the time of the event just applied, or the wall clock.
        """
        head = self._head(config)
        return Features.of(head, max(to_micros(now), head.clock), config)

    def payment_amount_stats(self, config: FeatureConfig = _DEFAULT_CONFIG) -> Summary:
        """The statistics of the customer's payment amounts so far: the same as its
        ``features(...).payment_amount_stats``, without computing the rest."""
        return self._head(config).activity.payment_amounts.summary(config.zscore_min_count)

    def _head(self, config: FeatureConfig) -> Account:
        if self.awaits_replay:
            self.head = self._replay(self.head, self.buffer, self.clock, config, None)
            self.awaits_replay = False
        return self.head

    def _mark(self) -> None:
        """Copy the head as a mark if ``MARK_EVERY`` events were buffered since the last one."""
        newest = self.marks[-1][0] if self.marks else 0
        if len(self.buffer) - newest >= MARK_EVERY:
            self.marks = [*self.marks, (len(self.buffer), self.head.copy())][-MARKS_KEPT:]

    def _mark_before(self, place: int, time: int) -> tuple[int, Account]:
        """The newest mark that can precede an event at ``place`` and ``time``, else (0, the
        base)."""
        for mark in reversed(self.marks):
            if _precedes(mark, place, time):
                return mark
        return 0, self.base

    def _replay(
        self,
        head: Account,
        facts: list[Fact],
        clock: int,
        config: FeatureConfig,
        out: list[Transition] | None,
        inserted: Fact | None = None,
    ) -> Account:
        """Replay ``facts`` onto ``head``, a copy of the base, and advance it to ``clock``."""
        for fact in facts:
            try:
                head.apply(fact, config, out)
            except InvalidEvent as error:
                if fact is inserted or inserted is None:
                    raise
                raise InvalidEvent(
                    "inconsistent",
                    f"at its place in event time, {inserted.event_id} would make the later "
                    f"{fact.event_id} inconsistent: {error.reason}",
                ) from None
        head.advance(clock, config, out)
        return head

    def _settle(self, config: FeatureConfig) -> None:
        """Move the horizon up; make a mark the base when one can be (see the module)."""
        buffer = self.buffer
        horizon = self.watermark - config.lateness_micros
        if len(buffer) > config.max_buffered_events:
            horizon = max(horizon, buffer[-config.max_buffered_events].time)
        if horizon <= self.horizon:
            return
        self.horizon = horizon
        self.settled_with = config
        for count, account in reversed(self.marks):
            if buffer[count - 1].time < horizon and account.clock <= horizon:
                self.base = account
                self._forget(count)
                break
        if len(buffer) > SETTLE_AFTER and (older := self._older_than_horizon()) > SETTLE_AFTER:
            self._settle_into_base(older, config)

    def _older_than_horizon(self) -> int:
        return bisect(self.buffer, (self.horizon, ""), key=_order)

    def _settle_into_base(self, count: int, config: FeatureConfig) -> None:
        """Apply the first ``count`` buffered events, those older than the horizon, to the base,
        and advance it to the horizon."""
        for fact in self.buffer[:count]:
            self.base.apply(fact, config, None)
        self.base.advance(self.horizon, config, None)
        self._forget(count)

    def _forget(self, count: int) -> None:
        """Take the first ``count`` events out of the buffer, now that the base holds them."""
        buffer, kept = self.buffer, self.settled_with.max_recent_event_ids
        for fact in buffer[:count]:
            del self.buffered[fact.event_id]
            self.recent_ids.add(fact.event_id, kept, fact.digest())
        del buffer[:count]
        self.marks = [(n - count, account) for n, account in self.marks if n > count]
        if len(self.fired) > _FIRED_KEPT:
            since = self.base.clock
            self.fired = {key: time for key, time in self.fired.items() if time >= since}

    def _unfired(self, transitions: list[Transition]) -> list[Transition]:
        """The transitions not fired before, which it remembers."""
        fresh = []
        for transition in transitions:
            if transition.transition_id not in self.fired:
                self.fired[transition.transition_id] = to_micros(transition.event_time)
                fresh.append(transition)
        return fresh

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

    def to_bytes(self) -> bytes:
        """The compact, versioned serialised state; :meth:`from_bytes` restores it exactly."""
        if self.base.clock < self.horizon:
            self._settle_into_base(self._older_than_horizon(), self.settled_with)
        document: dict[str, Any] = {
            "format": FORMAT,
            "customer": self.customer_id,
            "revision": self.revision,
            "watermark": self.watermark,
            "horizon": self.horizon,
            "clock": self.clock,
            "base": self.base.to_doc(),
            "buffer": [fact.to_row() for fact in self.buffer],
            "recent_ids": self.recent_ids.notes(),
            "fired": sorted([t, key] for key, t in self.fired.items() if t >= self.horizon),
        }
        return orjson.dumps(document)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "CustomerState":
        document = orjson.loads(blob)
        if document.get("format") not in _READABLE:
            raise ValueError(
                f"customer state in format {document.get('format')!r}; this code reads "
                f"{' and '.join(map(str, _READABLE))}"
            )
        state = cls.__new__(cls)
        state.customer_id = document["customer"]
        state.base = Account.from_doc(state.customer_id, document["base"])
        state.head = Account.from_doc(state.customer_id, document["base"])
        state.awaits_replay = True
        state.buffer = [Fact.from_row(row) for row in document["buffer"]]
        state.marks = []
        state.buffered = {fact.event_id: fact for fact in state.buffer}
        state.recent_ids = RecentIds(document["recent_ids"])  # format 1: a list, no digests
        state.fired = {key: time for time, key in document["fired"]}
        state.revision = document["revision"]
        state.settled_with = _DEFAULT_CONFIG  # the base is at the horizon: nothing to settle
        state.watermark = document["watermark"]
        state.horizon = document["horizon"]
        state.clock = document["clock"]
        return state
