"""The worker's Prometheus metrics: what is recorded is what is exported, and the page serves it."""

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

import faust
import pytest
from aiohttp.test_utils import TestClient, TestServer
from faust.exceptions import ConsumerNotStarted
from faust.sensors.prometheus import PrometheusMonitor
from faust.transport.consumer import Consumer
from faust.types import TP
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from schemas.outputs import Alert, CreditAction, DeadLetter, OrderDecision, RiskChange, Versions
from sinks.metrics import CONTENT_TYPE, Metrics, install_metrics_page, render

WHEN = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def alert(kind: str = "late_payment", severity: str = "warning") -> Alert:
    return Alert(customer_id="c1", event_time=WHEN, alert_id="a1", kind=kind, severity=severity,
                 message="late", source_event_id="e1")  # fmt: skip


def change(tier: str, previous: str | None) -> RiskChange:
    return RiskChange(customer_id="c1", event_time=WHEN, change_id="r1", score=50.0, tier=tier,
                      previous_tier=previous, reasons=[], source_event_id="e1")  # fmt: skip


def test_counters_go_up_by_what_was_recorded(metrics: Metrics) -> None:
    for _ in range(3):
        metrics.event_received("crm.payments", "payment.received")
    metrics.event_received("crm.orders", "invalid")
    decision = OrderDecision(customer_id="c1", event_time=WHEN, decision_id="d1", order_id="o1",
                             outcome="review", reasons=[], source_event_id="e1")  # fmt: skip
    letter = DeadLetter(dead_letter_id="x", reason_code="invalid", reason="bad",
                        source_topic="crm.orders", payload="{}", payload_size=2,
                        payload_sha256="44136fa355b3678a")  # fmt: skip
    metrics.outputs_emitted([alert(), alert(), decision, letter], kafka_timestamp=None)

    received = "riskstream_events_received_total"
    assert value(metrics, received, topic="crm.payments", type="payment.received") == 3
    assert value(metrics, received, topic="crm.orders", type="invalid") == 1
    alerts = "riskstream_alerts_total"
    assert value(metrics, alerts, kind="late_payment", severity="warning", rule="") == 2
    assert value(metrics, alerts, kind="overdue", severity="critical", rule="") == 0
    assert value(metrics, "riskstream_decisions_total", outcome="review") == 1
    assert value(metrics, "riskstream_decisions_total", outcome="approve") == 0
    assert value(metrics, "riskstream_dead_letters_total", reason="invalid") == 1
    assert value(metrics, "riskstream_dead_letters_total", reason="too_late") == 0


def test_rule_alerts_are_counted_by_rule_id(metrics: Metrics) -> None:
    def rule_alert(rule_id: str) -> Alert:
        return Alert(customer_id="c1", event_time=WHEN, alert_id=rule_id, kind="rule",
                     severity="critical", message="m", source_event_id="e1",
                     details={"rule_id": rule_id, "exposure": 9000})  # fmt: skip

    metrics.outputs_emitted([rule_alert("big-order"), rule_alert("big-order")], None)
    metrics.outputs_emitted([rule_alert("no-payment"), alert(kind="overdue")], None)

    alerts = "riskstream_alerts_total"
    assert value(metrics, alerts, kind="rule", severity="critical", rule="big-order") == 2
    assert value(metrics, alerts, kind="rule", severity="critical", rule="no-payment") == 1
    assert value(metrics, alerts, kind="overdue", severity="warning", rule="") == 1
    assert value(metrics, alerts, kind="rule", severity="critical", rule="") is None


def test_risk_changes_move_customers_between_tiers(metrics: Metrics) -> None:
    metrics.set_customers_per_tier({"low": 10, "medium": 2})
    metrics.outputs_emitted([change("medium", "low"), change("high", None)], None)
    metrics.outputs_emitted([change("high", "high")], None)

    tiers = {t: value(metrics, "riskstream_customers", tier=t) for t in ("low", "medium", "high")}
    assert tiers == {"low": 9, "medium": 3, "high": 1}
    changes = "riskstream_risk_changes_total"
    assert value(metrics, changes, tier="medium", direction="up") == 1
    assert value(metrics, changes, tier="high", direction="new") == 1
    assert value(metrics, changes, tier="high", direction="same") == 1


def test_histograms_observe_processing_time_and_latency(metrics: Metrics) -> None:
    metrics.event_processed(0.00003)
    metrics.event_processed(0.2)
    metrics.outputs_emitted([alert(), alert()], kafka_timestamp=100.0, now=100.004)
    metrics.outputs_emitted([alert()], kafka_timestamp=100.0, now=99.0)  # producer clock ahead

    processing = "riskstream_event_processing_seconds"
    assert value(metrics, f"{processing}_count") == 2
    assert value(metrics, f"{processing}_bucket", le="5e-05") == 1
    assert value(metrics, f"{processing}_bucket", le="0.1") == 1
    assert value(metrics, f"{processing}_bucket", le="+Inf") == 2
    latency = "riskstream_event_to_output_latency_seconds"
    assert value(metrics, f"{latency}_count", output="alert") == 3
    assert value(metrics, f"{latency}_bucket", output="alert", le="0.001") == 1
    assert value(metrics, f"{latency}_bucket", output="alert", le="0.005") == 3
    assert value(metrics, f"{latency}_sum", output="alert") == pytest.approx(0.008)


def test_model_metrics(metrics: Metrics) -> None:
    metrics.set_model_quality("late_payment", auc=0.81, log_loss=0.52, ece=0.03)
    metrics.drift_detected("late_payment")
    metrics.drift_detected("late_payment")

    assert value(metrics, "riskstream_model_auc", model="late_payment") == 0.81
    assert value(metrics, "riskstream_model_log_loss", model="late_payment") == 0.52
    assert value(metrics, "riskstream_model_calibration_error", model="late_payment") == 0.03
    assert value(metrics, "riskstream_model_drift_detections_total", model="late_payment") == 2


def test_credit_actions_score_stability_and_the_configuration_in_force(metrics: Metrics) -> None:
    action = CreditAction(customer_id="c1", event_time=WHEN, action_id="x1", kind="review",
                          reasons=[], source_event_id="e1")  # fmt: skip
    metrics.outputs_emitted([action, action], kafka_timestamp=None)
    metrics.set_model_quality("logreg", score_psi=0.31)
    metrics.set_configuration(Versions(model="logreg@7", ruleset="strict-3", tiers="t2"))

    assert value(metrics, "riskstream_credit_actions_total", kind="review") == 2
    assert value(metrics, "riskstream_credit_actions_total", kind="prepayment") == 0
    assert value(metrics, "riskstream_score_psi") == 0.31
    in_force = {"ruleset": "strict-3", "tiers": "t2", "scorecard": "", "decisions": "",
                "credit_policy": "", "industry": ""}  # fmt: skip
    assert value(metrics, "riskstream_configuration_info", **in_force) == 1
    metrics.set_configuration(Versions(ruleset="strict-4"))
    assert value(metrics, "riskstream_configuration_info", **in_force) is None


def test_redis_figures_are_read_from_the_sink(metrics: Metrics) -> None:
    sink = SimpleNamespace(errors=2, retries=0, pending=0)
    metrics.watch_redis(sink)  # what happened before counts as seen
    sink.errors, sink.retries, sink.pending = 5, 3, 42
    metrics.update_redis()
    metrics.update_redis()

    assert value(metrics, "riskstream_redis_write_errors_total") == 3
    assert value(metrics, "riskstream_redis_write_retries_total") == 3
    assert value(metrics, "riskstream_redis_pending_outputs") == 42


class FakeConsumer:
    def __init__(self, highwaters: dict[TP, int | None]) -> None:
        self.highwaters = highwaters

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp]


def test_consumer_lag_is_highwater_minus_where_the_streams_are(metrics: Metrics) -> None:
    orders0, orders1, new, idle = (TP("crm.orders", n) for n in range(4))
    changelog = TP("riskstream-state-changelog", 0)
    consumer = FakeConsumer({orders0: 120, orders1: 40, new: None, idle: 7, changelog: 999})
    app = SimpleNamespace(consumer=consumer, topics=SimpleNamespace(
        acks_enabled_for=lambda topic: topic.startswith("crm.")))  # fmt: skip
    positions = metrics.positions
    positions.on_message_in(orders0, 90, None)  # resumed from its committed offset, 90
    positions.on_message_in(orders0, 91, None)
    positions.on_message_out(orders0, 99, None)  # done up to 99: goes on from 100
    positions.on_message_in(orders1, 0, None)  # read from the start, nothing done yet
    metrics.update_consumer_lag(app)  # type: ignore[arg-type]

    lag = "riskstream_consumer_lag_messages"
    assert value(metrics, lag, topic="crm.orders", partition="0") == 20
    assert value(metrics, lag, topic="crm.orders", partition="1") == 40
    assert value(metrics, lag, topic="crm.orders", partition="2") is None  # not fetched yet
    assert value(metrics, lag, topic="crm.orders", partition="3") == 0  # nothing to read
    assert value(metrics, lag, topic="riskstream-state-changelog", partition="0") is None

    del consumer.highwaters[orders1]  # revoked in a rebalance
    metrics.update_consumer_lag(app)  # type: ignore[arg-type]
    assert value(metrics, lag, topic="crm.orders", partition="1") is None

    positions.on_rebalance_start(app)  # type: ignore[arg-type]
    positions.on_message_in(orders0, 95, None)  # another worker had committed up to 95
    metrics.update_consumer_lag(app)  # type: ignore[arg-type]
    assert value(metrics, lag, topic="crm.orders", partition="0") == 25


def test_the_lag_reads_faust_through_its_public_api() -> None:
    app = faust.App("lag-sensor-test", broker="kafka://127.0.0.1:1", store="memory://")
    metrics = Metrics(CollectorRegistry(), faust_sensors=False)
    install_metrics_page(app, metrics)
    assert metrics.positions in set(app.sensors)
    assert callable(Consumer.highwater) and callable(Consumer.assignment)


def test_the_text_format_parses_and_names_every_metric(metrics: Metrics) -> None:
    metrics.event_received("crm.orders", "order.placed")
    metrics.set_model_quality("late_payment", auc=0.8)
    families = {f.name for f in text_string_to_metric_families(render(metrics.registry).decode())}
    assert {"riskstream_events_received", "riskstream_alerts", "riskstream_customers",
            "riskstream_event_processing_seconds", "riskstream_model_auc",
            "riskstream_redis_pending_outputs", "process_cpu_seconds"} <= families  # fmt: skip


def test_the_page_serves_riskstream_and_faust_metrics_together(metrics: Metrics) -> None:
    async def scrape() -> tuple[int, str, str]:
        app = faust.App("metrics-test", broker="kafka://127.0.0.1:1", store="memory://")
        install_metrics_page(app, metrics)
        assert isinstance(app.monitor, PrometheusMonitor)
        with pytest.raises(ConsumerNotStarted):
            app.consumer.assignment()  # no broker: the page must cope
        metrics.event_received("crm.orders", "order.placed")
        async with TestClient(TestServer(await app.web.wsgi())) as client:
            response = await client.get("/metrics")
            return response.status, response.headers["Content-Type"], await response.text()

    status, content_type, text = asyncio.run(scrape())
    assert status == 200
    assert content_type == CONTENT_TYPE
    assert 'riskstream_events_received_total{topic="crm.orders",type="order.placed"} 1.0' in text
    assert "faust_messages_received_total" in text
    assert "_created" not in text


def test_faust_sensors_can_be_left_out() -> None:
    metrics = Metrics(CollectorRegistry(), faust_sensors=False)
    app = faust.App("metrics-test-bare", broker="kafka://127.0.0.1:1", store="memory://")
    install_metrics_page(app, metrics)
    assert not isinstance(app.monitor, PrometheusMonitor)
    assert b"faust_" not in render(metrics.registry)
