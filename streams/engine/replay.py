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
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from schemas.events import InputEvent
from schemas.validation import InvalidEvent
from streams.engine import CustomerRecord, Engine, Outputs
from streams.engine.deadletter import failure

log = logging.getLogger(__name__)
_At = TypeVar("_At", InputEvent, datetime)


@dataclass(frozen=True, slots=True)
class Step:
    """One call of the engine: an event (or time passing, ``event`` None) and what it gave;
    ``failed`` says why time could not pass for the customer, if the engine failed."""

    customer_id: str
    event: InputEvent | None
    now: datetime
    outputs: Outputs
    failed: InvalidEvent | None = None


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
        When the engine fails on it unexpectedly (a bug, logged), ``InvalidEvent`` says
        ``failed``, and the record keeps what the step changed before, as in a worker.
        """
        yield from self.advance(event.event_time)
        record = self.records.get(event.customer_id) or CustomerRecord.new(event.customer_id)
        stamp = record.stamp
        try:
            outputs = self._run(self.engine.process, record, event)
        except InvalidEvent:
            raise
        except Exception as error:
            log.exception("the engine failed on event %s; it is a dead letter", event.event_id)
            raise failure(error) from error
        finally:
            if record.stamp != stamp:
                self.records[event.customer_id] = record
                self._schedule(record)
        yield Step(record.customer_id, event, event.event_time, outputs)

    def advance(self, until: datetime | None) -> Iterator[Step]:
        """Advance every customer with a deadline at or before ``until`` (None: all of them).

        A customer the engine fails to advance (a bug, logged) gives a step that says so; its
        deadline is dropped until its next event, lest the replay retry it for ever.
        """
        deadlines = self._deadlines
        while deadlines and (until is None or deadlines[0][0] <= until):
            deadline, customer_id = heapq.heappop(deadlines)
            if self._scheduled.get(customer_id) != deadline:
                continue  # superseded: the customer's next deadline moved since
            record = self.records[customer_id]
            try:
                outputs = self._run(self.engine.advance, record, deadline)
            except Exception as error:
                log.exception("the engine failed to advance %s to %s", customer_id, deadline)
                del self._scheduled[customer_id]
                yield Step(customer_id, None, deadline, Outputs(), failure(error))
                continue
            self._schedule(record)
            yield Step(customer_id, None, deadline, outputs)

    def _run(self, step: Callable[[CustomerRecord, _At], Outputs], record: CustomerRecord,
             at: _At) -> Outputs:  # fmt: skip
        """One step of the engine, its CPU time counted, then the record made compact: every
        customer's record stays in memory."""
        started = time.thread_time()
        try:
            return step(record, at)
        finally:
            record.memo.compact()
            self.engine_seconds += time.thread_time() - started

    def _schedule(self, record: CustomerRecord) -> None:
        deadline = record.state.next_deadline(self.engine.config)
        if deadline is not None and self._scheduled.get(record.customer_id) != deadline:
            self._scheduled[record.customer_id] = deadline
            heapq.heappush(self._deadlines, (deadline, record.customer_id))
