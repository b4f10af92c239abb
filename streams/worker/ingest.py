"""The ``customers`` agent: each input event or tick through the engine, its outputs to their
topics, and the records it changed stored once the broker has every output.

Input topics are keyed by customer id, so one customer's events arrive in order on one
partition, and its record lives beside them in the state table.
"""

import asyncio
import logging
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import faust
from faust.streams import _current_event  # the event Faust's tables take the partition of
from faust.types import EventT
from pydantic import BaseModel

from features.eventtime import duration_text
from schemas.validation import InvalidEvent, parse_event, parse_tick
from sinks.metrics import Metrics
from streams.engine import CustomerRecord, Engine, Outputs
from streams.engine.deadletter import failure
from streams.worker.batches import in_batches
from streams.worker.outputs import Emitter, letter_of
from streams.worker.records import Records
from streams.worker.time_passing import Deadlines

log = logging.getLogger(__name__)

CUSTOMER_BATCH = 1000
"""Events in a batch at most: its outputs go to the broker in one round trip, then the records
it changed are stored, once each (`streams.worker.batches`)."""


@dataclass(slots=True)
class Batch:
    """The events taken together: the records they changed (with the last event of each, whose
    partition the record belongs to), the last step of each customer that made a picture (with
    its event's Kafka timestamp), the outputs to send and count."""

    records: dict[str, tuple[CustomerRecord, EventT]] = field(default_factory=dict)
    pictures: dict[str, tuple[Outputs, float | None]] = field(default_factory=dict)
    outputs: list[tuple[list[BaseModel], float | None]] = field(default_factory=list)

    def last_pictures(self) -> list[tuple[list[BaseModel], float | None]]:
        """Each customer's newest picture of the batch: the pictures topic is compacted, and
        Redis keeps the newest, so the ones before it would be overwritten at once."""
        return [([step.picture], timestamp) for step, timestamp in self.pictures.values()]


@contextmanager
def handling(event: EventT) -> Iterator[None]:
    """Make ``event`` the one being processed for Faust, whose table reads and writes go to
    that event's partition (an event of a batch is not the one the stream last took)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Ingest:
    """Feeds every customer event (``families``: input topic to event family) and every tick
    (any other topic) to the engine, once ``ready`` is set.

    An event time or a tick more than ``clock_skew`` ahead of this worker's clock is refused
    (``from_future``): it would move the customer's time on, turn every invoice overdue and
    make every later event too late. Backtests replay history without this check.
    """

    def __init__(
        self,
        engine: Engine,
        families: Mapping[str, str],
        records: Records,
        deadlines: Deadlines,
        emitter: Emitter,
        metrics: Metrics,
        ready: asyncio.Event,
        clock_skew: timedelta = timedelta(hours=1),
    ) -> None:
        self.engine = engine
        self.families = families
        self.records = records
        self.deadlines = deadlines
        self.emitter = emitter
        self.metrics = metrics
        self.ready = ready
        self.clock_skew = clock_skew

    async def run(self, stream: faust.StreamT) -> None:
        await self.ready.wait()  # events are decided with the versions in force
        batch = Batch()
        async for event, last in in_batches(stream, CUSTOMER_BATCH):
            started = time.perf_counter()
            with handling(event):
                outputs = self._handle(event, batch)
            self.metrics.event_processed(time.perf_counter() - started)
            batch.outputs.append((outputs, event.message.timestamp))
            if last:
                await self._finish(batch)
                batch = Batch()

    async def _finish(self, batch: Batch) -> None:
        """Send the batch's outputs, then store the records it changed."""
        batch.outputs += batch.last_pictures()
        sent = [await self.emitter.emit(outputs) for outputs, _ in batch.outputs]
        # The records are stored (so their events count as seen) only once the broker has
        # every output: a crash in between redelivers the events and makes them again.
        await asyncio.gather(*(future for futures in sent for future in futures))
        for record, last in batch.records.values():
            with handling(last):
                self._store(record, last.message.partition)
        # Counted right after the store, with no yield in between: a recount of the tiers
        # from the table never sees a customer's new tier without its count, or twice.
        for outputs, timestamp in batch.outputs:
            self.metrics.outputs_emitted(outputs, timestamp)

    def _handle(self, event: EventT, batch: Batch) -> list[BaseModel]:
        """The outputs of one message but its picture; the customer record it changed and the
        step that made the picture go in ``batch``.

        A message that cannot be taken is a dead letter with the reason; so is one whose
        handling failed unexpectedly (``failed``, logged with its traceback), and the stream
        goes on with the next.
        """
        message = event.message
        try:
            step = self._step(event, batch)
        except InvalidEvent as error:
            rejected = error
        except Exception as error:
            log.exception(
                "handling the message at offset %s of %s[%s] failed; it is a dead letter",
                message.offset, message.topic, message.partition,
            )  # fmt: skip
            rejected = failure(error)
        else:
            if step.standing is not None:
                batch.pictures[step.standing.customer_id] = (step, message.timestamp)
            return step.events()
        self.metrics.event_received(message.topic, "invalid")
        return [letter_of(message, rejected)]

    def _step(self, event: EventT, batch: Batch) -> Outputs:
        message = event.message
        family = self.families.get(message.topic)
        if family is None:
            self.metrics.event_received(message.topic, "tick")
            tick = parse_tick(message.value)
            now = self._not_ahead(tick.now, "tick")
            record = self._load(tick.customer_id, batch)
            batch.records[record.customer_id] = (record, event)
            return self.engine.advance(record, now)
        parsed = parse_event(message.value, family=family, key=message.key)
        self._not_ahead(parsed.event_time, f"event {parsed.event_id} is dated")
        self.metrics.event_received(message.topic, parsed.type)  # type: ignore[attr-defined]
        record = self._load(parsed.customer_id, batch)
        stamp = record.stamp
        try:
            return self.engine.process(record, parsed)
        finally:
            # Even when the step failed half-way: the record keeps what it changed, as in a
            # backtest, and the table keeps what the worker goes on with.
            if record.stamp != stamp:
                batch.records[record.customer_id] = (record, event)

    def _not_ahead(self, moment: datetime, what: str) -> datetime:
        """``moment``, unless it is more than the clock skew ahead of this worker's clock."""
        clock = datetime.now(UTC)
        if moment > clock + self.clock_skew:
            raise InvalidEvent(
                "from_future",
                f"{what} {moment.isoformat()}, more than {duration_text(self.clock_skew)} ahead "
                f"of this worker's clock ({clock.isoformat(timespec='seconds')}): check the "
                "producer's clock (or RISKSTREAM_CLOCK_SKEW)",
            )
        return moment

    def _load(self, customer_id: str, batch: Batch) -> CustomerRecord:
        """The customer's record: as the batch left it, else as last stored, else a new one."""
        if customer_id in batch.records:
            return batch.records[customer_id][0]
        return self.records.load(customer_id)

    def _store(self, record: CustomerRecord, partition: int) -> None:
        self.records.store(record)
        self.deadlines.note(record, partition)
