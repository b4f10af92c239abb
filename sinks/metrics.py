"""riskstream's Prometheus metrics, defined once, and the worker's ``/metrics`` page.

A worker creates one :class:`Metrics` (tests pass their own ``CollectorRegistry``) and
calls :func:`install_metrics_page` on its Faust app before it starts. The page serves, in
Prometheus' text format, riskstream's metrics, Faust's own sensor metrics (``faust_*``,
from faust's ``PrometheusMonitor`` writing to the same registry) and the process metrics
(``process_*``, ``python_*``). Names follow Prometheus conventions: ``riskstream_`` prefix,
base units in the name, ``_total`` counters.

Labels only ever take values from closed sets (topics we subscribe to, event types that
passed validation, reason codes, kinds, tiers, the ids of the rules in the published rule
sets): never customer ids or raw input.

>>> metrics = Metrics(CollectorRegistry())
>>> metrics.event_received("crm.orders", "order.placed")
>>> b'riskstream_events_received_total{topic="crm.orders",type="order.placed"} 1.0' in render(
...     metrics.registry)
True
"""

import time
from collections.abc import Iterable, Mapping
from itertools import product
from typing import Any, get_args

import faust
from faust import Sensor, web
from faust.exceptions import ConsumerNotStarted
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, Message
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from pydantic import BaseModel

from schemas.outputs import (
    Alert,
    CreditAction,
    DeadLetter,
    OrderDecision,
    RiskChange,
    Tier,
    Versions,
)

#: Work on one event: 10 µs to 100 ms.
PROCESSING_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
                      0.05, 0.1)  # fmt: skip
#: From the input's Kafka timestamp to the output: 1 ms to 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The classic text format, which every Prometheus version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
TIER_ORDER = {tier: rank for rank, tier in enumerate(get_args(Tier))}  # low, medium, high


class StreamPositions(Sensor):
    """Where the app's streams are in each partition, from Faust's public sensor hooks.

    The position of a partition is the offset after the last message every stream has
    finished with (what Faust commits next); before the first, the offset the reading
    resumed from after the latest rebalance (the committed one). Rebalances start afresh.

    >>> positions, tp = StreamPositions(), TP("crm.orders", 0)
    >>> positions.position(tp) is None
    True
    >>> positions.on_message_in(tp, 40, None)
    >>> positions.on_message_in(tp, 41, None)
    >>> positions.position(tp)
    40
    >>> positions.on_message_out(tp, 40, None)
    >>> positions.position(tp)
    41
    """

    def __init__(self) -> None:
        super().__init__()
        self._resumed: dict[TP, int] = {}
        self._done: dict[TP, int] = {}

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        self._resumed.setdefault(tp, offset)

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        if offset >= self._done.get(tp, 0):
            self._done[tp] = offset + 1

    def on_rebalance_start(self, app: faust.App) -> dict:
        # Faust drops what it fetched and reads each partition again from its committed offset.
        self._resumed.clear()
        self._done.clear()
        return super().on_rebalance_start(app)

    def position(self, tp: TP) -> int | None:
        """The partition's position, or None when nothing was read from it since the rebalance."""
        done = self._done.get(tp)
        return self._resumed.get(tp) if done is None else done


class Metrics:
    """Every metric of a riskstream worker, registered in ``registry``."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, faust_sensors: bool = True
    ) -> None:
        self.registry = registry = CollectorRegistry() if registry is None else registry
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        #: Faust's own sensor metrics (faust_*), fed once install_metrics_page() is called.
        self.faust_metrics = FaustMetrics.create(registry, "faust") if faust_sensors else None
        #: Where the streams are, for the consumer lag; a sensor of the app once installed.
        self.positions = StreamPositions()

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"riskstream_{name}", doc, labels, registry=registry)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(f"riskstream_{name}", doc, labels, registry=registry)

        # Input and output
        self.events_received = counter(
            "events_received",
            "Input events by topic and event type; type is 'invalid' for "
            "events that went to the dead-letter topic, 'tick' for time passing",
            "topic",
            "type",
        )
        self.messages_sent = counter(
            "messages_sent", "Outputs and dead letters sent, by topic", "topic"
        )
        self.dead_letters = counter(
            "dead_letters", "Inputs sent to the dead-letter topic, by reason code", "reason"
        )
        self.alerts = counter(
            "alerts",
            "Alerts emitted, by kind, severity and rule (the rule id of a rule alert, else empty)",
            "kind",
            "severity",
            "rule",
        )
        self.decisions = counter("decisions", "Order decisions emitted, by outcome", "outcome")
        self.credit_actions = counter(
            "credit_actions", "Credit actions proposed (never applied), by kind", "kind"
        )
        self.configuration = Info(
            "riskstream_configuration",
            "Versions of the rule set, scorecard, tiers, decision and credit policies in force",
            registry=registry,
        )
        self.risk_changes = counter(
            "risk_changes",
            "Risk changes emitted, by new tier and direction (up, down, same, new)",
            "tier",
            "direction",
        )
        self.processing = Histogram(
            "riskstream_event_processing_seconds",
            "Time to process one input event",
            registry=registry,
            buckets=PROCESSING_BUCKETS,
        )
        self.latency = Histogram(
            "riskstream_event_to_output_latency_seconds",
            "Wall clock at output minus the input message's Kafka timestamp, by output type",
            ["output"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.consumer_lag = gauge(
            "consumer_lag_messages",
            "Highwater minus committed offset of each partition this worker consumes",
            "topic",
            "partition",
        )
        # Risk picture and models
        self.customers = gauge("customers", "Customers of this worker by risk tier", "tier")
        self.model_auc = gauge("model_auc", "ROC AUC of the online model (0-1)", "model")
        self.model_champion = gauge(
            "model_champion", "1 for the model whose probability drives; 0: a challenger", "model"
        )
        self.model_log_loss = gauge("model_log_loss", "Log loss of the online model", "model")
        self.model_ece = gauge(
            "model_calibration_error", "Expected calibration error of the online model", "model"
        )
        self.score_psi = gauge(
            "score_psi", "Population stability index of the latest scores against the first"
        )
        self.drift_detections = counter(
            "model_drift_detections", "Drift detected in a model's inputs or errors", "model"
        )
        self.model_snapshots = counter(
            "model_snapshots", "Model snapshots read, by result (loaded or rejected)", "result"
        )
        for result in ("loaded", "rejected"):
            self.model_snapshots.labels(result)
        self.model_version = gauge(
            "model_learnt_examples", "Examples the scoring model has learnt", "model"
        )
        # Redis sink, read from the sink at each scrape (see watch_redis)
        self.redis_errors = counter("redis_write_errors", "Failed Redis pipeline writes")
        self.redis_retries = counter("redis_write_retries", "Redis writes retried after a failure")
        self.redis_pending = gauge("redis_pending_outputs", "Outputs waiting for Redis")

        # Series for every value of a closed set from the start, so that rate() and
        # increase() see the first one that happens.
        for reason in _values(DeadLetter, "reason_code"):
            self.dead_letters.labels(reason)
        for kind, severity in product(_values(Alert, "kind"), _values(Alert, "severity")):
            if kind != "rule":  # rule alerts' series come with their rule ids
                self.alerts.labels(kind, severity, "")
        for outcome in _values(OrderDecision, "outcome"):
            self.decisions.labels(outcome)
        for kind in _values(CreditAction, "kind"):
            self.credit_actions.labels(kind)
        for tier, direction in product(TIER_ORDER, ("new", "up", "down", "same")):
            self.risk_changes.labels(tier, direction)
            self.customers.labels(tier)

        # Label children of the hot path's metrics, by their labels: cached.
        self._received: dict[tuple[str, ...], Any] = {}
        self._sent: dict[tuple[str, ...], Any] = {}
        self._latency: dict[tuple[str, ...], Any] = {}
        self._lag_labels: set[tuple[str, str]] = set()
        self._redis: Any = None
        self._redis_seen = {"errors": 0, "retries": 0}

    # -- the hot path -------------------------------------------------------------------

    def event_received(self, topic: str, event_type: str) -> None:
        _child(self._received, self.events_received, topic, event_type).inc()

    def message_sent(self, topic: str) -> None:
        _child(self._sent, self.messages_sent, topic).inc()

    def event_processed(self, seconds: float) -> None:
        self.processing.observe(seconds)

    def outputs_emitted(
        self, outputs: Iterable[BaseModel], kafka_timestamp: float | None, now: float | None = None
    ) -> None:
        """Count outputs and their latency since the input's Kafka timestamp (seconds)."""
        if kafka_timestamp is not None:
            latency = max(0.0, (time.time() if now is None else now) - kafka_timestamp)
        for output in outputs:
            if isinstance(output, Alert):
                self.alerts.labels(output.kind, output.severity, _rule_id(output)).inc()
            elif isinstance(output, RiskChange):
                self._count_risk_change(output)
            elif isinstance(output, OrderDecision):
                self.decisions.labels(output.outcome).inc()
            elif isinstance(output, CreditAction):
                self.credit_actions.labels(output.kind).inc()
            elif isinstance(output, DeadLetter):
                self.dead_letters.labels(output.reason_code).inc()
            if kafka_timestamp is not None:
                kind = output.type  # type: ignore[attr-defined]
                _child(self._latency, self.latency, kind).observe(latency)

    def _count_risk_change(self, change: RiskChange) -> None:
        before = change.previous_tier
        if before is None:
            direction = "new"
        else:
            step = TIER_ORDER[change.tier] - TIER_ORDER[before]
            direction = "up" if step > 0 else "down" if step < 0 else "same"
        self.risk_changes.labels(change.tier, direction).inc()
        if before != change.tier:
            # Per worker, between the recounts from the state table after each rebalance.
            self.customers.labels(change.tier).inc()
            if before is not None:
                self.customers.labels(before).dec()

    # -- set now and then ---------------------------------------------------------------

    def set_configuration(self, versions: Versions) -> None:
        """The control documents' versions in force (the model's has its own gauge)."""
        in_force = versions.model_dump(exclude={"model"})
        self.configuration.info({part: version or "" for part, version in in_force.items()})

    def set_customers_per_tier(self, counts: Mapping[str | None, int]) -> None:
        """Recount from the state table after a rebalance (``None``: not tiered yet)."""
        for tier in TIER_ORDER:
            self.customers.labels(tier).set(counts.get(tier, 0))

    def set_model_quality(
        self,
        model: str,
        *,
        auc: float | None = None,
        log_loss: float | None = None,
        ece: float | None = None,
        score_psi: float | None = None,
    ) -> None:
        if auc is not None:
            self.model_auc.labels(model).set(auc)
        if log_loss is not None:
            self.model_log_loss.labels(model).set(log_loss)
        if ece is not None:
            self.model_ece.labels(model).set(ece)
        if score_psi is not None:
            self.score_psi.set(score_psi)

    def set_champion(self, champion: str, models: list[str]) -> None:
        for model in models:
            self.model_champion.labels(model).set(float(model == champion))

    def drift_detected(self, model: str) -> None:
        self.drift_detections.labels(model).inc()

    def model_loaded(self, version: str) -> None:
        """A snapshot ``name@examples`` is now the scoring model."""
        name, _, learnt = version.partition("@")
        self.model_snapshots.labels("loaded").inc()
        self.model_version.labels(name).set(float(learnt or 0))

    def snapshot_rejected(self) -> None:
        self.model_snapshots.labels("rejected").inc()

    # -- read at each scrape ------------------------------------------------------------

    def watch_redis(self, sink: Any) -> None:
        """Mirror a RedisSink's ``errors``, ``retries`` and ``pending``."""
        self._redis = sink
        self._redis_seen = {name: getattr(sink, name, 0) for name in self._redis_seen}

    def update_redis(self) -> None:
        sink = self._redis
        if sink is None:
            return
        self.redis_pending.set(sink.pending)
        for name, counter in (("errors", self.redis_errors), ("retries", self.redis_retries)):
            value = getattr(sink, name, 0)
            if value > self._redis_seen[name]:
                counter.inc(value - self._redis_seen[name])
            self._redis_seen[name] = value

    def update_consumer_lag(self, app: faust.App) -> None:
        """Set the lag of every partition the app consumes: highwater - the streams' position.

        Highwater is the broker's log end offset as of the consumer's last fetch of that
        partition; the position is the offset the streams go on from (`StreamPositions`: the
        committed one until they finish a message), the highwater when they have read nothing
        there since the rebalance. Changelog partitions (no acks) are left out, and so are
        partitions not fetched yet.
        """
        consumer = app.consumer
        try:
            assigned = consumer.assignment()
        except ConsumerNotStarted:
            assigned = set()
        seen = set()
        for tp in assigned:
            if not app.topics.acks_enabled_for(tp.topic):
                continue
            try:
                highwater = consumer.highwater(tp)
            except AssertionError:  # revoked meanwhile: aiokafka runs in its own thread
                continue
            if highwater is None:
                continue
            position = self.positions.position(tp)
            labels = (tp.topic, str(tp.partition))
            lag = 0 if position is None else max(0, highwater - position)
            self.consumer_lag.labels(*labels).set(lag)
            seen.add(labels)
        for labels in self._lag_labels - seen:
            self.consumer_lag.remove(*labels)
        self._lag_labels = seen


def _child(children: dict[tuple[str, ...], Any], metric: Any, *labels: str) -> Any:
    """The child of ``metric`` with ``labels``, kept in ``children``: ``labels()`` is slow."""
    child = children.get(labels)
    if child is None:
        child = children[labels] = metric.labels(*labels)
    return child


def _rule_id(alert: Alert) -> str:
    """The id of the rule that raised ``alert`` (a control document's, from a closed set that
    operators publish), or ``""`` for the other kinds."""
    return str(alert.details.get("rule_id", "")) if alert.kind == "rule" else ""


def _values(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The values of a Literal field of an output contract."""
    return get_args(model.model_fields[field].annotation)


def render(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format (``CONTENT_TYPE``)."""
    return generate_latest(registry)


def install_metrics_page(app: faust.App, metrics: Metrics, *, path: str = "/metrics") -> None:
    """Serve ``metrics`` at ``path`` on the app's web port; call before the app starts.

    Unless ``metrics`` was made with ``faust_sensors=False``, the app's monitor becomes Faust's
    ``PrometheusMonitor``, writing ``faust_*`` metrics into the same registry, so one page
    has both. Each scrape first updates the consumer lag and the Redis figures.
    """
    disable_created_metrics()  # no *_created series: half the series, nothing lost
    app.sensors.add(metrics.positions)
    if metrics.faust_metrics is not None:
        app.monitor = PrometheusMonitor(metrics=metrics.faust_metrics)

    @app.page(path, name="riskstream-metrics")
    async def metrics_page(view: web.View, request: web.Request) -> web.Response:
        metrics.update_consumer_lag(app)
        metrics.update_redis()
        return view.bytes(render(metrics.registry), headers={"Content-Type": CONTENT_TYPE})
