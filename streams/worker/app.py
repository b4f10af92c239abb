"""The Faust app of a riskstream worker, composed of its parts.

- `streams.worker.ingest`: the ``customers`` agent feeds every customer event to the engine;
- `streams.worker.outputs`: the outputs go to their topics, and Redis follows them;
- `streams.worker.time_passing`: a timer sends a tick to a customer's partition of the ticks
  topic when a deadline of that customer has passed (time passing is an event too);
- `streams.worker.models`: the trainer, the model snapshots, the model's quality;
- `streams.worker.control`: the control topic's versions put in force;
- `streams.worker.rebalance`: what moving partitions change, and readiness;
- `streams.worker.views`: the query API, beside ``/metrics`` (`sinks.metrics`).

Customer state lives in the ``customer-state`` table (`streams.worker.records`), beside the
customer's events: input topics are keyed by customer id, so one customer's events arrive in
order on one partition.
"""

import faust

from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from sinks.metrics import Metrics, install_metrics_page
from sinks.redis import RedisSink
from streams.engine import Engine
from streams.engine.kinds import OUTPUT_KINDS, REDIS_KINDS
from streams.settings import Settings, Topics
from streams.worker.control import ControlFollower
from streams.worker.faust_app import create_app, raw_topic
from streams.worker.ingest import Ingest
from streams.worker.models import ModelFollowing
from streams.worker.outputs import Emitter, RedisWriter
from streams.worker.rebalance import Rebalancing
from streams.worker.records import Records
from streams.worker.time_passing import Deadlines
from streams.worker.views import install_query_api


class RiskApp:
    """Builds the Faust app of a riskstream worker from its settings, out of its parts."""

    def __init__(
        self, settings: Settings, engine: Engine | None = None, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine or Engine(
            settings.feature_config(),
            model=LatePaymentModel(settings.model_name),
            learn=False,
            challengers=[LatePaymentModel(name) for name in settings.challenger_names()],
        )
        self.metrics = metrics = metrics or Metrics()
        self.faust = app = create_app(settings)
        topics = settings.topics
        families = topics.inputs()
        self.emitter = Emitter(
            app,
            {
                kind.contract: self._topic(getattr(topics, kind.topic))
                for kind in OUTPUT_KINDS.values()
            },
            metrics,
        )
        self.records = Records(
            app.Table(
                "customer-state",
                partitions=settings.partitions,
                key_type=str,  # str and bytes types mean raw serialisation
                value_type=bytes,
            ),
            settings.record_cache,
        )
        self.redis = RedisSink(
            settings.redis_url,
            prefix=settings.redis_prefix,
            stream_length=settings.alert_stream_length,
            feed_length=settings.redis_feed_length,
            options=settings.redis_options(),
            cluster=settings.redis_cluster,
        )
        metrics.watch_redis(self.redis)
        self.models = ModelFollowing(
            settings, self.engine, metrics, self._topic(topics.models), self.redis
        )
        self.redis_writer = RedisWriter(self.redis, self.emitter)
        self.control = ControlFollower(
            self.engine, self.emitter.send_dead_letter, on_activated=metrics.set_configuration
        )
        metrics.set_configuration(self.engine.versions)
        self.deadlines = Deadlines(self.engine, self.records, self._topic(topics.ticks), metrics)
        self.ingest = Ingest(self.engine, families, self.records, self.deadlines, self.emitter,
                             metrics, ready=self.control.ready,
                             clock_skew=settings.clock_skew)  # fmt: skip
        self.rebalancing = Rebalancing(app, self.records, self.deadlines,
                                       rewind=[*families, topics.ticks, topics.training,
                                               *redis_topics(topics)],
                                       control_ready=self.control.ready)  # fmt: skip
        self._register(families)

    def _topic(self, *names: str) -> faust.TopicT:
        return raw_topic(self.faust, self.settings, *names)

    def _register(self, families: dict[str, str]) -> None:
        app, settings, topics = self.faust, self.settings, self.settings.topics
        app.agent(self._topic(*families, topics.ticks), name="customers")(self.ingest.run)
        app.agent(self.emitter.topics[LabelledExample], name="trainer")(self.models.train)
        app.timer(settings.snapshot_interval)(self.models.publish_snapshot)
        app.timer(10.0)(self.models.report_quality)
        app.task(self.models.follow_snapshots)
        app.task(self._follow_control)
        app.timer(settings.overdue_check_interval)(self.deadlines.send_due_ticks)
        app.agent(self._topic(*redis_topics(topics)), name="redis")(self.redis_writer.write)
        app.task(self.redis.setup)
        self.rebalancing.connect()
        install_metrics_page(app, self.metrics)
        install_query_api(app, settings, engine=self.engine, records=self.records,
                          redis=self.redis, not_ready=self.not_ready)  # fmt: skip

    async def _follow_control(self) -> None:
        await self.control.run(self.settings.kafka_client, self.settings.topics.control)

    def not_ready(self) -> str | None:
        """What the worker still waits for before it can answer for its customers, if anything."""
        return self.rebalancing.not_ready()


def redis_topics(topics: Topics) -> list[str]:
    """The output topics the ``redis`` agent follows, each once."""
    return list(dict.fromkeys(getattr(topics, kind.topic) for kind in REDIS_KINDS.values()))
