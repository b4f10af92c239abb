"""One model, many workers: the trainer learns from every worker's labelled examples and
publishes signed snapshots; every worker scores with the newest good snapshot.

The training topic has one partition, so exactly one worker of the group trains at a time.
The models topic is compacted and read whole by every worker, outside the consumer group.
"""

import copy
import logging
from collections import OrderedDict
from collections.abc import Callable

import faust
from aiokafka import ConsumerRecord

from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from detectors.snapshots import SnapshotRejected, load, sign
from sinks.metrics import Metrics
from streams.engine import Engine
from streams.kafka.follow import follow_topic
from streams.kafka.security import KafkaClient
from streams.settings import Settings

log = logging.getLogger(__name__)

SNAPSHOT_KEY = b"late_payment"


class Trainer:
    """Learns each labelled example once and says when a snapshot is due."""

    def __init__(self, model: LatePaymentModel, snapshot_every: int, remember: int = 100_000):
        self.model = copy.deepcopy(model)
        self.snapshot_every = snapshot_every
        self.remember = remember
        self._learnt: OrderedDict[str, None] = OrderedDict()
        self._unpublished = 0

    def learn(self, example: LabelledExample) -> bool:
        """Learn one example; True when enough were learnt for a new snapshot."""
        if example.invoice_id in self._learnt:  # a redelivery
            return False
        self._learnt[example.invoice_id] = None
        if len(self._learnt) > self.remember:
            self._learnt.popitem(last=False)
        self.model.learn(
            example.features, example.label, example.labelled_at, example.invoice_id,
            example.due_date,
        )  # fmt: skip
        self._unpublished += 1
        return self._unpublished >= self.snapshot_every

    def snapshot(self, key: bytes) -> bytes | None:
        """A signed snapshot of the model if it learnt since the last one."""
        if not self._unpublished:
            return None
        self._unpublished = 0
        return sign(self.model, self.model.version, key)


async def follow_snapshots(
    client: KafkaClient,
    topic: str,
    key: bytes,
    on_model: Callable[[LatePaymentModel], None],
    on_rejected: Callable[[str], None],
) -> None:
    """Read the models topic from its start, forever; hand every good snapshot to ``on_model``."""

    async def take(record: ConsumerRecord) -> None:
        try:
            model, version = load(record.value, key)
        except SnapshotRejected as error:
            log.warning("refused a model snapshot at offset %d: %s", record.offset, error)
            on_rejected(str(error))
            return
        log.info("scoring with model %s", version)
        on_model(model)

    await follow_topic(client, topic, take)


class ModelFollowing:
    """A worker's part in the one model: the ``trainer`` agent learns the labelled examples
    and publishes snapshots to ``models``; every worker scores with the newest good snapshot
    and reports the quality of the model it scores with."""

    def __init__(
        self, settings: Settings, engine: Engine, metrics: Metrics, models: faust.TopicT
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.metrics = metrics
        self.models = models
        self.trainer = Trainer(engine.model, settings.snapshot_every)
        self._drifts_reported = 0

    async def train(self, stream: faust.StreamT) -> None:
        async for value in stream:
            try:
                example = LabelledExample.from_json(value)
            except ValueError as error:
                log.warning("ignored a training example that is not one: %s", error)
                continue
            if self.trainer.learn(example):
                await self.publish_snapshot()

    async def publish_snapshot(self) -> None:
        blob = self.trainer.snapshot(self.settings.model_key.get_secret_value().encode())
        if blob is not None:
            await self.models.send(key=SNAPSHOT_KEY, value=blob)

    async def report_quality(self) -> None:
        """The late-payment model's AUC, log loss and drift over the labels seen here, and the
        stability of the scores."""
        figures = self.engine.monitor.snapshot()
        name = self.settings.model_name
        self.metrics.set_model_quality(
            name,
            auc=figures["auc"],
            log_loss=figures["log_loss"],
            ece=figures["ece"],
            score_psi=self.engine.scores.snapshot()["psi"],
        )
        for _ in range(int(figures["drifts_total"] or 0) - self._drifts_reported):
            self.metrics.drift_detected(name)
        self._drifts_reported = int(figures["drifts_total"] or 0)

    async def follow_snapshots(self) -> None:
        def use(model: LatePaymentModel) -> None:
            self.engine.model = model
            self.metrics.model_loaded(model.version)

        await follow_snapshots(
            self.settings.kafka_client,
            self.settings.topics.models,
            self.settings.model_key.get_secret_value().encode(),
            use,
            lambda reason: self.metrics.snapshot_rejected(),
        )
