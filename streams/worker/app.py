"""The Faust app: one agent feeds every customer event to the engine, a timer lets time pass.

Input topics are keyed by customer id, so one customer's events arrive in order on one
partition and its state lives beside them in the ``customer-state`` table (RocksDB, backed
by a changelog topic). Time passing is an event too: the overdue timer sends a tick to the
customer's partition of the ticks topic when a deadline of that customer has passed.
"""

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import faust
import orjson
from cachetools import LRUCache
from faust.streams import _current_event  # the event Faust's tables take the partition of
from faust.types import EventT, Message
from pydantic import BaseModel

from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from schemas.codec import dumps
from schemas.outputs import (
    Alert,
    CreditAction,
    CustomerRisk,
    DeadLetter,
    ModelDrift,
    OrderDecision,
    RiskChange,
)
from schemas.validation import InvalidEvent, parse_event, parse_output
from sinks.metrics import Metrics, install_metrics_page
from sinks.redis import RedisSink
from streams.engine import CustomerRecord, Engine
from streams.engine.deadletter import dead_letter, failure
from streams.settings import Settings
from streams.worker.control import ControlFollower
from streams.worker.models import SNAPSHOT_KEY, Trainer, follow_snapshots
from streams.worker.views import install_query_api

log = logging.getLogger(__name__)

REDIS_BATCH = 500
CUSTOMER_BATCH = 200
CUSTOMER_BATCH_WAIT = 0.01
"""Events are taken up to this many, waiting at most this long (seconds) for more: one
round trip to the broker for all their outputs before their records are stored."""
REDIS_OUTPUTS: dict[str, type[BaseModel]] = {
    "alert": Alert, "risk_change": RiskChange, "customer_risk": CustomerRisk,
    "credit_action": CreditAction,
}  # fmt: skip


@dataclass(slots=True)
class Batch:
    """The events taken together: the records they changed (with the last event of each, whose
    partition the record belongs to), the sends awaited, the outputs to count."""

    records: dict[str, tuple[CustomerRecord, EventT]] = field(default_factory=dict)
    sent: list[asyncio.Future] = field(default_factory=list)
    outputs: list[tuple[list[BaseModel], float | None]] = field(default_factory=list)


@contextmanager
def handling(event: EventT) -> Iterator[None]:
    """Make ``event`` the one being processed for Faust, whose table reads and writes go to
    that event's partition (an event of a batch is not the one the stream last took)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class RiskApp:
    """Builds the Faust app of a riskstream worker from its settings."""

    def __init__(
        self, settings: Settings, engine: Engine | None = None, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine or Engine(
            settings.feature_config(), model=LatePaymentModel(settings.model_name), learn=False
        )
        self.trainer = Trainer(self.engine.model, settings.snapshot_every)
        self.metrics = metrics or Metrics()
        self.faust = self._create_faust_app()
        topics = settings.topics
        self.families = topics.inputs()
        self.inputs = self._topic(*self.families, topics.ticks)
        self.outputs = {
            Alert: self._topic(topics.alerts),
            RiskChange: self._topic(topics.changes),
            OrderDecision: self._topic(topics.decisions),
            CreditAction: self._topic(topics.actions),
            DeadLetter: self._topic(topics.deadletter),
            LabelledExample: self._topic(topics.training),
            CustomerRisk: self._topic(topics.customers_out),
            ModelDrift: self._topic(topics.model_health),
        }
        self.training = self.outputs[LabelledExample]
        self.models = self._topic(topics.models)
        self.ticks = self._topic(topics.ticks)
        self.states = self.faust.Table(
            "customer-state",
            partitions=settings.partitions,
            key_type=str,  # str and bytes types mean raw serialisation
            value_type=bytes,
        )
        self.redis = RedisSink(
            settings.redis_url,
            prefix=settings.redis_prefix,
            stream_length=settings.alert_stream_length,
        )
        self.metrics.watch_redis(self.redis)
        self.control = ControlFollower(
            self.engine, self._send_dead_letter, on_activated=self.metrics.set_configuration
        )
        self.metrics.set_configuration(self.engine.versions)
        self._deadlines: dict[str, tuple[datetime, int | None]] = {}
        self._records: LRUCache[str, CustomerRecord] = LRUCache(max(settings.record_cache, 1))
        """The latest records stored, as objects: a customer's next event need not decode its
        record again (nor replay its buffered events). Cleared when partitions move."""
        self._deadlines_complete = False
        self._drifts_reported = 0
        self._recovered = False
        self._register()

    def _create_faust_app(self) -> faust.App:
        settings = self.settings
        app = faust.App(
            settings.app_id,
            broker=settings.broker,
            store=settings.store,
            datadir=str(settings.data_dir),
            web_port=settings.web_port,
            web_bind=settings.web_bind,
            web_host=settings.advertised_web_host,
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            **settings.faust_options(),
        )
        return app

    def _topic(self, *names: str) -> faust.TopicT:
        return self.faust.topic(
            *names,
            partitions=self.settings.partitions,
            key_serializer="raw",
            value_serializer="raw",
        )

    def _register(self) -> None:
        app, topics = self.faust, self.settings.topics
        app.agent(self.inputs, name="customers")(self._customers)
        app.agent(self.training, name="trainer")(self._train)
        app.timer(self.settings.snapshot_interval)(self._publish_snapshot)
        app.timer(10.0)(self._report_model_quality)
        app.task(self._follow_snapshots)
        app.task(self._follow_control)
        app.timer(self.settings.overdue_check_interval)(self._send_due_ticks)
        app.agent(self._topic(topics.alerts, topics.changes, topics.customers_out, topics.actions),
                  name="redis")(self._write_redis)  # fmt: skip
        app.task(self.redis.setup)
        app.on_rebalance_complete.connect(self._after_rebalance)
        app.on_partitions_revoked.connect(self._forget_records)
        install_metrics_page(app, self.metrics)
        install_query_api(self)

    async def _customers(self, stream: faust.StreamT) -> None:
        await self.control.ready.wait()  # events are decided with the versions in force
        async for events in stream.take_events(CUSTOMER_BATCH, within=CUSTOMER_BATCH_WAIT):
            batch = Batch()
            for event in events:
                started = time.perf_counter()
                with handling(event):
                    outputs = self._handle(event, batch)
                self.metrics.event_processed(time.perf_counter() - started)
                batch.sent += await self._emit(outputs)
                batch.outputs.append((outputs, event.message.timestamp))
            # The records are stored (so their events count as seen) only once the broker has
            # every output: a crash in between redelivers the events and makes them again.
            await asyncio.gather(*batch.sent)
            for record, last in batch.records.values():
                with handling(last):
                    self._store(record, last.message.partition)
            # Counted right after the store, with no yield in between: a recount of the tiers
            # from the table never sees a customer's new tier without its count, or twice.
            for outputs, timestamp in batch.outputs:
                self.metrics.outputs_emitted(outputs, timestamp)

    def _handle(self, event: EventT, batch: Batch) -> list[BaseModel]:
        """The outputs of one message; the customer record it changed goes in ``batch``.

        A message that cannot be taken is a dead letter with the reason; so is one whose
        handling failed unexpectedly (``failed``, logged with its traceback), and the stream
        goes on with the next.
        """
        message = event.message
        try:
            return self._outputs(event, batch)
        except InvalidEvent as error:
            rejected = error
        except Exception as error:
            log.exception(
                "handling the message at offset %s of %s[%s] failed; it is a dead letter",
                message.offset, message.topic, message.partition,
            )  # fmt: skip
            rejected = failure(error)
        self.metrics.event_received(message.topic, "invalid")
        return [letter_of(message, rejected)]

    def _outputs(self, event: EventT, batch: Batch) -> list[BaseModel]:
        message = event.message
        family = self.families.get(message.topic)
        if family is None:
            self.metrics.event_received(message.topic, "tick")
            tick = orjson.loads(message.value)
            record = self._load(tick["customer_id"], batch)
            batch.records[record.customer_id] = (record, event)
            return self.engine.advance(record, datetime.fromisoformat(tick["now"])).all()
        parsed = parse_event(message.value, family=family, key=message.key)
        self.metrics.event_received(message.topic, parsed.type)  # type: ignore[attr-defined]
        record = self._load(parsed.customer_id, batch)
        revision = record.state.revision
        try:
            return self.engine.process(record, parsed).all()
        finally:
            # Even when the step failed half-way: the record keeps what it changed, as in a
            # backtest, and the table keeps what the worker goes on with.
            if record.state.revision != revision:
                batch.records[record.customer_id] = (record, event)

    def _load(self, customer_id: str, batch: Batch) -> CustomerRecord:
        """The customer's record: as the batch left it, else as last stored, else a new one."""
        if customer_id in batch.records:
            return batch.records[customer_id][0]
        record = self._records.get(customer_id)
        if record is not None:
            return record
        blob = self.states.get(customer_id)
        return CustomerRecord.from_bytes(blob) if blob else CustomerRecord.new(customer_id)

    def _store(self, record: CustomerRecord, partition: int) -> None:
        self.states[record.customer_id] = record.to_bytes()
        if self.settings.record_cache:
            self._records[record.customer_id] = record
        deadline = record.state.next_deadline(self.engine.config)
        if deadline is None:
            self._deadlines.pop(record.customer_id, None)
        else:
            self._deadlines[record.customer_id] = (deadline, partition)

    async def _train(self, stream: faust.StreamT) -> None:
        async for value in stream:
            try:
                example = LabelledExample.from_json(value)
            except ValueError as error:
                log.warning("ignored a training example that is not one: %s", error)
                continue
            if self.trainer.learn(example):
                await self._publish_snapshot()

    async def _publish_snapshot(self) -> None:
        blob = self.trainer.snapshot(self.settings.model_key.get_secret_value().encode())
        if blob is not None:
            await self.models.send(key=SNAPSHOT_KEY, value=blob)

    async def _report_model_quality(self) -> None:
        """The late-payment model's AUC, log loss and drift over the labels seen here, and the
        stability of the scores."""
        figures = self.engine.monitor.snapshot()
        name = self.settings.model_name
        self.metrics.set_model_quality(
            name,
            auc=figures["auc"],
            log_loss=figures["log_loss"],
            score_psi=self.engine.scores.snapshot()["psi"],
        )
        for _ in range(int(figures["drifts_total"] or 0) - self._drifts_reported):
            self.metrics.drift_detected(name)
        self._drifts_reported = int(figures["drifts_total"] or 0)

    async def _follow_snapshots(self) -> None:
        def use(model: LatePaymentModel) -> None:
            self.engine.model = model
            self.metrics.model_loaded(model.version)

        await follow_snapshots(
            self.settings.bootstrap_servers,
            self.settings.topics.models,
            self.settings.model_key.get_secret_value().encode(),
            use,
            lambda reason: self.metrics.snapshot_rejected(),
        )

    async def _follow_control(self) -> None:
        await self.control.run(self.settings.bootstrap_servers, self.settings.topics.control)

    async def _send_dead_letter(self, letter: DeadLetter) -> None:
        await asyncio.gather(*await self._emit([letter]))
        self.metrics.outputs_emitted([letter], None)

    async def _emit(self, outputs: Iterable[BaseModel]) -> list[asyncio.Future]:
        """Send the outputs; returns the futures that resolve once the broker has each."""
        sent = []
        for output in outputs:
            topic = self.outputs.get(type(output))
            if topic is not None:
                sent.append(await topic.send(key=output_key(output), value=dumps(output)))
        return sent

    async def _write_redis(self, stream: faust.StreamT) -> None:
        """Redis follows the output topics: it catches up after an outage or a crash, since
        the offsets of this agent advance only once Redis has taken the batch. A message there
        that is no output Redis keeps (foreign, malformed) is a dead letter, and Redis goes on."""
        async for events in stream.take_events(REDIS_BATCH, within=0.05):
            batch = []
            for event in events:
                try:
                    batch.append(parse_output(event.message.value, REDIS_OUTPUTS))
                except InvalidEvent as error:
                    await self._send_dead_letter(letter_of(event.message, error))
            await self.redis.write(batch)
            while self.redis.pending:
                await asyncio.sleep(self.redis.retry_in())
                await self.redis.flush()

    async def _send_due_ticks(self) -> None:
        now = datetime.now(UTC)
        if not self._deadlines_complete:
            self._index_table()
        for customer_id, (deadline, partition) in list(self._deadlines.items()):
            if deadline <= now:
                # Until the tick is processed, ask again only after one more interval.
                self._deadlines[customer_id] = (now, partition)
                tick = {"customer_id": customer_id, "now": now.isoformat()}
                await self.ticks.send(
                    key=customer_id.encode(), value=orjson.dumps(tick), partition=partition
                )

    def _index_table(self) -> None:
        """After a rebalance: the next deadline of each customer here, and their tiers."""
        config = self.engine.config
        tiers: Counter[str | None] = Counter()
        for customer_id, blob in self.states.items():
            record = CustomerRecord.from_bytes(blob)
            tiers[record.memo.tier] += 1
            deadline = record.state.next_deadline(config)
            if deadline is not None and customer_id not in self._deadlines:
                self._deadlines[customer_id] = (deadline, None)
        self.metrics.set_customers_per_tier(tiers)
        self._deadlines_complete = True

    def not_ready(self) -> str | None:
        """What the worker still waits for before it can answer for its customers, if anything."""
        if not self._recovered:
            return "its first partition assignment and table recovery"
        if not self.control.ready.is_set():
            return "the control topic, to answer with the versions in force"
        if self.faust.rebalancing or self.faust.in_recovery:
            return "a rebalance and table recovery in progress"
        return None

    async def _forget_records(self, sender: object, *_: object, **__: object) -> None:
        # Another worker may change these customers before they come back to this one.
        self._records.clear()

    async def _after_rebalance(self, sender: object, **_: object) -> None:
        # The partitions (and so the customers) of this worker may have changed.
        self._records.clear()
        self._recovered = True
        self._deadlines.clear()
        self._deadlines_complete = False
        await self._rewind_uncommitted()

    async def _rewind_uncommitted(self) -> None:
        """Read partitions with no committed offset from their start.

        A rebalance drops the messages Faust had fetched but not processed, then seeks only
        the partitions with a committed offset back to it: the others would go on from the
        fetch position and the dropped messages would be lost. Faust seeks the committed
        ones right after this; reading again what was processed changes nothing (event ids).
        """
        consumer = self.faust.consumer
        ours = {*self.families, self.settings.topics.ticks, self.settings.topics.training}
        partitions = [tp for tp in consumer.assignment() if tp.topic in ours]
        if partitions:
            for tp, offset in (await consumer.earliest_offsets(*partitions)).items():
                await consumer.seek(tp, offset)


def letter_of(message: Message, error: InvalidEvent) -> DeadLetter:
    """The dead letter of a message that cannot be taken, with where it came from."""
    return dead_letter(
        error, message.topic, message.partition, message.offset, message.key, message.value
    )


def output_key(output: BaseModel) -> bytes | None:
    """Outputs are keyed by customer id, like the inputs; a dead letter by its input's key."""
    if isinstance(output, LabelledExample):
        return output.invoice_id.encode()
    if isinstance(output, ModelDrift):
        return output.model.encode()
    key = output.key if isinstance(output, DeadLetter) else output.customer_id  # type: ignore[attr-defined]
    return None if key is None else key.encode()
