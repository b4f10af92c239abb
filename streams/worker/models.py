"""One lineup of models, many workers: the trainer learns every model of the lineup (the
champion and its challengers) from every worker's labelled examples, measures each on the
same labels and publishes signed snapshots, one key per model; every worker scores with the
newest good snapshot of each.

The training topic has one partition, so exactly one worker of the group trains at a time.
The models topic is compacted and read whole by every worker, outside the consumer group.
The trainer's figures of each model (it sees every label) go to Redis, where the promotion
guard of ``riskstream control publish`` reads them.
"""

import copy
import logging
from collections import OrderedDict
from collections.abc import Callable

import faust
from aiokafka import ConsumerRecord
from redis.exceptions import RedisError

from detectors.champion import Lineup
from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from detectors.snapshots import SnapshotRejected, load, sign
from sinks.metrics import Metrics
from sinks.redis import RedisSink
from streams.engine import Engine
from streams.kafka.follow import follow_topic
from streams.kafka.security import KafkaClient
from streams.settings import Settings
from streams.worker.batches import in_batches

log = logging.getLogger(__name__)


TRAINING_BATCH = 1000
"""Training examples in a batch at most (`streams.worker.batches`)."""


def snapshot_key(model: str) -> bytes:
    """The models topic's key of a model's snapshots."""
    return f"late_payment:{model}".encode()


class Trainer:
    """Learns each labelled example once, in every model of the lineup, judges each model on
    it, and says when snapshots are due."""

    def __init__(self, lineup: Lineup, snapshot_every: int, remember: int = 100_000):
        self.lineup = copy.deepcopy(lineup)
        self.snapshot_every = snapshot_every
        self.remember = remember
        self._learnt: OrderedDict[str, None] = OrderedDict()
        self._unpublished = 0

    @property
    def model(self) -> LatePaymentModel:
        """The champion as the trainer learns it."""
        return self.lineup.models[self.lineup.champion]

    @property
    def due(self) -> bool:
        """Whether enough examples were learnt since the last snapshots for new ones."""
        return self._unpublished >= self.snapshot_every

    def learn(self, example: LabelledExample) -> None:
        """Learn one example, unless it was learnt already (a redelivery)."""
        if example.invoice_id in self._learnt:
            return
        self._learnt[example.invoice_id] = None
        if len(self._learnt) > self.remember:
            self._learnt.popitem(last=False)
        self.lineup.observe(example)
        self.lineup.learn(example)
        self._unpublished += 1

    def snapshots(self, key: bytes) -> list[tuple[str, bytes]]:
        """A signed snapshot of each model, by name, if they learnt since the last ones."""
        if not self._unpublished:
            return []
        self._unpublished = 0
        return [(name, sign(m, m.version, key)) for name, m in self.lineup.models.items()]


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
        self,
        settings: Settings,
        engine: Engine,
        metrics: Metrics,
        models: faust.TopicT,
        redis: RedisSink | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.metrics = metrics
        self.models = models
        self.redis = redis
        self.trainer = Trainer(engine.lineup, settings.snapshot_every)
        self._drifts_reported: dict[str, int] = {}

    async def train(self, stream: faust.StreamT) -> None:
        """Learn every example; publish snapshots when enough were learnt, at the end of a
        batch: a snapshot takes tens of milliseconds to sign, and as long for every worker to
        load, so a trainer catching up on thousands of examples publishes once per batch,
        not once every ``snapshot_every`` examples."""
        async for event, last in in_batches(stream, TRAINING_BATCH):
            try:
                example = LabelledExample.from_json(event.value)
            except ValueError as error:
                log.warning("ignored a training example that is not one: %s", error)
            else:
                self.trainer.learn(example)
            if last and self.trainer.due:
                await self.publish_snapshot()

    async def publish_snapshot(self) -> None:
        key = self.settings.model_key.get_secret_value().encode()
        for name, blob in self.trainer.snapshots(key):
            await self.models.send(key=snapshot_key(name), value=blob)

    async def report_quality(self) -> None:
        """Each model's AUC, log loss, calibration error and drifts over the labels seen here,
        which is the champion, and the stability of the scores; and, on the worker that trains,
        each model's figures over every worker's labels, in Redis."""
        lineup = self.engine.lineup
        for name, figures in lineup.health().items():
            self.metrics.set_model_quality(
                name, auc=figures["auc"], log_loss=figures["log_loss"], ece=figures["ece"]
            )  # fmt: skip
        self.metrics.set_champion(lineup.champion, list(lineup.models))
        self.metrics.set_model_quality(
            lineup.champion, score_psi=self.engine.scores.snapshot()["psi"]
        )
        for name, monitor in lineup.monitors.items():
            for _ in range(monitor.drifts_total - self._drifts_reported.get(name, 0)):
                self.metrics.drift_detected(name)
            self._drifts_reported[name] = monitor.drifts_total
        trained = self.trainer.lineup
        if self.redis is not None and any(m.n for m in trained.monitors.values()):
            try:
                await self.redis.write_model_health(trained.health())
            except RedisError as error:
                log.warning("could not write the models' health to Redis: %s", error)

    async def follow_snapshots(self) -> None:
        def use(model: LatePaymentModel) -> None:
            if model.name not in self.engine.lineup.models:
                log.info(
                    "not scoring with %s: not this worker's champion or challenger", model.name
                )
                return
            self.engine.lineup.install(model)
            self.metrics.model_loaded(model.version)

        await follow_snapshots(
            self.settings.kafka_client,
            self.settings.topics.models,
            self.settings.model_key.get_secret_value().encode(),
            use,
            lambda reason: self.metrics.snapshot_rejected(),
        )
