"""A worker killed with SIGKILL mid-stream comes back with its state, loses no alert and counts
nothing twice."""

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from features import FeatureConfig
from schemas.codec import dumps
from schemas.outputs import Alert
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine
from tests.integration.harness import (
    Worker,
    as_message,
    create_topics,
    isolated_env,
    produce,
    run,
    settings_of,
    wait_for,
)

pytestmark = pytest.mark.integration


def replay(events) -> tuple[dict[str, CustomerRecord], list[Alert]]:
    """The same stream through the pure engine, in event-time order, without any crash: the
    records and every alert."""
    engine = Engine(FeatureConfig(lateness=timedelta(days=365)))
    records: dict[str, CustomerRecord] = {}
    alerts: list[Alert] = []
    for event in events:
        record = records.setdefault(event.customer_id, CustomerRecord.new(event.customer_id))
        alerts += engine.process(record, event).alerts
    return records, alerts


def test_a_killed_worker_recovers_its_state_without_double_counting(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    settings = settings_of(env)
    run(create_topics(settings))
    events = list(generate_events(customers=25, days=120, end=datetime.now(UTC), seed=11))
    expected, alerts = replay(events)
    expected_late = {a.alert_id for a in alerts if a.kind == "late_payment"}
    messages = [as_message(settings, event) for event in events]
    half = len(messages) // 2

    first = Worker(env, tmp_path / "first.log").start()
    run(produce(settings, messages[:half]))
    first.wait_ready()
    run(produce(settings, messages[half:]))
    time.sleep(0.5)  # let it work on the second half, then kill it without warning
    first.stop(signal.SIGKILL)

    second = Worker(env, tmp_path / "second.log").start()
    try:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        prefix = env["RISKSTREAM_REDIS_PREFIX"]
        events_per_customer = Counter(event.customer_id for event in events)

        def revisions() -> dict[str, int]:
            return {
                customer: int(client.hget(f"{prefix}:customer:{customer}", "revision") or -1)
                for customer in events_per_customer
            }

        caught_up = wait_for(lambda: revisions() == dict(events_per_customer), timeout=180)
        assert caught_up, (revisions(), second.log_tail())
        for customer, record in expected.items():
            picture = client.hgetall(f"{prefix}:customer:{customer}")
            features = record.state.features(record.state.features(datetime.now(UTC)).as_of)
            assert picture["exposure"] == format(features.exposure, "f"), customer
            assert int(picture["open_invoices"]) == features.open_invoice_count, customer

        def streamed() -> list[str]:
            return [
                entry["alert_id"]
                for customer in events_per_customer
                for _, entry in client.xrange(f"{prefix}:alerts:{customer}")
            ]

        # Every alert of the uninterrupted replay reaches Redis, once: an event counts as seen
        # only once the broker has its outputs.
        arrived = wait_for(lambda: expected_late <= set(streamed()), 60)
        missing = sorted(expected_late - set(streamed()))  # with the logs: the why, in CI
        assert arrived, (missing, first.log_tail(), second.log_tail())
        assert len(streamed()) == len(set(streamed())), "an alert was written twice to Redis"
    finally:
        second.stop()


def test_alerts_on_their_topic_before_a_worker_ever_committed_reach_redis(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    """As after a worker killed before its Redis agent first committed: the next worker's agent
    finds no committed offset on the alerts topic, and must read it from its start."""
    env = isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    settings = settings_of(env)
    run(create_topics(settings))
    events = list(generate_events(customers=5, days=60, end=datetime.now(UTC), seed=3))
    records, alerts = replay(events)
    assert alerts
    topic = settings.topics.alerts
    run(produce(settings, [(topic, alert.customer_id.encode(), dumps(alert)) for alert in alerts]))

    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        prefix = env["RISKSTREAM_REDIS_PREFIX"]

        def streamed() -> set[str]:
            return {
                entry["alert_id"]
                for customer in records
                for _, entry in client.xrange(f"{prefix}:alerts:{customer}")
            }

        expected = {alert.alert_id for alert in alerts}
        arrived = wait_for(lambda: expected <= streamed(), 60)
        assert arrived, (len(expected - streamed()), len(expected), worker.log_tail())
    finally:
        worker.stop()
