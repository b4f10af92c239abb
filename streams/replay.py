"""Replaying history through the engine: events in event-time order, time passing between them.

Before each event, every customer whose next deadline (an invoice turning overdue) has passed
is advanced to that deadline, earliest first, as the live workers' timer does with the wall
clock. A heap of deadlines keeps that cheap: only customers with something due are touched.

>>> from datetime import datetime, UTC
>>> from schemas import InvoiceIssued, PaymentReceived, Money
>>> replay = Replay(Engine())
>>> issued = InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="inv-1",
...     event_time=datetime(2026, 1, 1, tzinfo=UTC), due_date="2026-01-31",
...     amount=Money(amount="500.00", currency="EUR"))
>>> paid = PaymentReceived(event_id="e2", customer_id="c1", payment_id="p1", invoice_id="inv-1",
...     event_time=datetime(2026, 2, 10, tzinfo=UTC), amount=Money(amount="500.00", currency="EUR"))
>>> steps = [*replay.feed(issued), *replay.feed(paid)]
>>> [(step.event is None, [alert.kind for alert in step.outputs.alerts]) for step in steps]
[(False, []), (True, ['overdue']), (False, ['late_payment'])]
>>> steps[1].now
datetime.datetime(2026, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)
"""

import heapq
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from schemas.events import InputEvent
from streams.engine import CustomerRecord, Engine, Outputs


@dataclass(frozen=True, slots=True)
class Step:
    """One call of the engine: an event (or time passing, ``event`` None) and what it gave."""

    customer_id: str
    event: InputEvent | None
    now: datetime
    outputs: Outputs


class Replay:
    """Feeds events to one engine, keeping every customer's record in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.records: dict[str, CustomerRecord] = {}
        self.engine_seconds = 0.0
        """CPU time spent inside the engine, to tell it from the caller's reading and writing."""
        self._deadlines: list[tuple[datetime, str]] = []
        self._scheduled: dict[str, datetime] = {}

    def feed(self, event: InputEvent) -> Iterator[Step]:
        """Let time pass up to the event, then apply it.

        Raises ``InvalidEvent``, after the steps of time passing, when the engine refuses the
        event (inconsistent, or later than the lateness): the customer's record is unchanged.
        """
        yield from self.advance(event.event_time)
        record = self.records.get(event.customer_id) or CustomerRecord.new(event.customer_id)
        started = time.thread_time()
        try:
            outputs = self.engine.process(record, event)
        finally:
            self.engine_seconds += time.thread_time() - started
        self.records[event.customer_id] = record
        self._schedule(record)
        yield Step(record.customer_id, event, event.event_time, outputs)

    def advance(self, until: datetime | None) -> Iterator[Step]:
        """Advance every customer with a deadline at or before ``until`` (None: all of them)."""
        deadlines = self._deadlines
        while deadlines and (until is None or deadlines[0][0] <= until):
            deadline, customer_id = heapq.heappop(deadlines)
            if self._scheduled.get(customer_id) != deadline:
                continue  # superseded: the customer's next deadline moved since
            record = self.records[customer_id]
            started = time.thread_time()
            outputs = self.engine.advance(record, deadline)
            self.engine_seconds += time.thread_time() - started
            self._schedule(record)
            yield Step(customer_id, None, deadline, outputs)

    def _schedule(self, record: CustomerRecord) -> None:
        deadline = record.state.next_deadline(self.engine.config)
        if deadline is not None and self._scheduled.get(record.customer_id) != deadline:
            self._scheduled[record.customer_id] = deadline
            heapq.heappush(self._deadlines, (deadline, record.customer_id))
