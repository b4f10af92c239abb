"""End to end: a known stream in, then the worker's /metrics counts exactly what was sent,
what came out on the topics and the customers per tier that Redis shows."""

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from streams.cli.generate import generate_events
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of

pytestmark = pytest.mark.integration


def counted(worker: Worker, name: str, *labels: str) -> Counter[tuple[str, ...]]:
    """The non-zero samples of a counter, by the values of ``labels``."""
    return Counter({key: int(n) for key, n in worker.metric(name, *labels).items() if n})


def test_metrics_count_what_was_sent(kafka_bootstrap, redis_url, tmp_path: Path):
    env = harness.isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    settings = settings_of(env)
    run(harness.create_topics(settings))
    topics = settings.topics
    events = list(generate_events(customers=10, days=90, end=datetime.now(UTC), seed=31))
    repeated = next(event for event in events if event.type == "order.placed")
    payment = next(event for event in events if event.family == "payment")
    events.append(repeated)  # a redelivery: counted in, changes nothing
    messages = [harness.as_message(settings, event) for event in events]
    bad = [
        (topics.payments, b"cust-00001", b"{not json"),
        (topics.payments, b"cust-00001", b'{"type": "payment.teleported"}'),
        (topics.orders, b"cust-00002", b'{"type": "order.placed", "customer_id": "cust-00002"}'),
        (topics.orders, *harness.as_message(settings, payment)[1:]),
    ]
    sent = Counter(
        (topic, event.type) for (topic, _, _), event in zip(messages, events, strict=True)
    )
    sent += Counter((topic, "invalid") for topic, _, _ in bad)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_serving()
        run(harness.produce(settings, [*messages[:100], *bad, *messages[100:]]))

        def inputs() -> Counter[tuple[str, ...]]:
            received = counted(worker, "riskstream_events_received_total", "topic", "type")
            return Counter({key: n for key, n in received.items() if key[1] != "tick"})

        assert harness.wait_for(lambda: inputs() == sent, 90), (inputs(), worker.log_tail())
        time.sleep(3)  # the overdue ticks of what was past due, and any count that comes late
        outputs = {
            topic: run(harness.collect(settings, topic, lambda r: False, timeout=3))
            for topic in (topics.alerts, topics.decisions, topics.deadletter)
        }
        assert inputs() == sent
        letters = counted(worker, "riskstream_dead_letters_total", "reason")
        alerts = counted(worker, "riskstream_alerts_total", "kind", "severity")
        decisions = counted(worker, "riskstream_decisions_total", "outcome")
        sent_to = counted(worker, "riskstream_messages_sent_total", "topic")
        tiers = counted(worker, "riskstream_customers", "tier")
        client = redis.Redis.from_url(redis_url, decode_responses=True)

        def stored_tiers() -> Counter[tuple[str, ...]]:
            pictures = client.keys(f"{settings.redis_prefix}:customer:*")
            return Counter((client.hget(key, "tier"),) for key in pictures)

        harness.wait_for(lambda: stored_tiers() == tiers, 30)  # Redis follows the topics
    finally:
        worker.stop()
    assert letters == Counter((letter["reason_code"],) for letter in outputs[topics.deadletter])
    assert letters == Counter({("undecodable",): 1, ("unknown_type",): 1, ("invalid",): 1,
                               ("wrong_topic",): 1})  # fmt: skip
    assert alerts == Counter((a["kind"], a["severity"]) for a in outputs[topics.alerts])
    assert sum(alerts.values()) > 0
    assert decisions == Counter((d["outcome"],) for d in outputs[topics.decisions])
    placed = sum(n for (_, kind), n in sent.items() if kind == "order.placed")
    assert sum(decisions.values()) == placed - 1  # the redelivered one is decided once
    for topic, messages_there in outputs.items():
        assert sent_to[topic,] == len(messages_there), topic
    assert tiers == stored_tiers() and sum(tiers.values()) == 10
