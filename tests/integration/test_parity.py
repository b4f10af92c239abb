"""Parity: one stream through the backtester and through a live worker gives the same outputs.

The backtester replays the stream in event time. The live worker gets the very same steps on
the real broker: each event on its input topic, and each passing of time the backtester made
as a tick on the ticks topic (the worker's own wall-clock timer never fires: the history is
in the future), one step at a time, the next sent once the worker has answered the last. The
model is the same on both sides: the backtest does not learn, the worker never snapshots.
"""

import asyncio
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.codec import dumps
from streams.backtest.backtest import build_engine
from streams.cli.generate import generate_events
from streams.engine.replay import Replay, Step
from streams.settings import Settings
from tests.integration.harness import (
    Worker,
    as_message,
    at_least,
    collect,
    create_topics,
    isolated_env,
    run,
    settings_of,
)

pytestmark = pytest.mark.integration

EVENTS = 200
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
"""The history ends here, so the worker's wall clock never makes anything overdue (and the
worker is told to take event times that far ahead of its clock)."""


def backtest_steps(settings: Settings) -> list[Step]:
    events = islice(generate_events(customers=4, days=200, end=FUTURE, seed=5), EVENTS)
    replay = Replay(build_engine(settings.model_name, learn=False,
                                 features=settings.feature_config()))  # fmt: skip
    return [step for event in events for step in replay.feed(event)]


def canonical(outputs) -> list[dict]:
    return sorted((orjson.loads(dumps(output)) for output in outputs), key=orjson.dumps)


async def feed_one_step_at_a_time(settings: Settings, steps: list[Step]) -> None:
    """Send each step and wait for the worker's picture of the customer it changed."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    pictures = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await producer.start()
    await pictures.start()
    try:
        pictures.assign([TopicPartition(settings.topics.customers_out, p)
                         for p in range(settings.partitions)])  # fmt: skip
        for number, step in enumerate(steps):
            if step.event is None:
                tick = {"customer_id": step.customer_id, "now": step.now.isoformat()}
                topic, value = settings.topics.ticks, orjson.dumps(tick)
            else:
                topic, _, value = as_message(settings, step.event)
            await producer.send_and_wait(topic, value, key=step.customer_id.encode())
            if step.outputs.picture is not None:
                await _next_picture(pictures, number)
    finally:
        await producer.stop()
        await pictures.stop()


async def _next_picture(pictures: AIOKafkaConsumer, number: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches = await pictures.getmany(timeout_ms=200, max_records=1)
        if any(batches.values()):
            return
    raise AssertionError(f"the worker gave no picture for step {number} within {timeout}s")


def test_the_backtest_and_a_live_worker_give_the_same_outputs(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    env |= {"RISKSTREAM_SNAPSHOT_EVERY": "1000000000", "RISKSTREAM_SNAPSHOT_INTERVAL": "86400",
            "RISKSTREAM_OVERDUE_CHECK_INTERVAL": "3600",
            "RISKSTREAM_CLOCK_SKEW": "P36500D"}  # fmt: skip
    settings = settings_of(env)
    steps = backtest_steps(settings)
    expected = {
        "alerts": canonical(o for s in steps for o in s.outputs.alerts),
        "changes": canonical(o for s in steps for o in s.outputs.changes),
        "decisions": canonical(o for s in steps for o in s.outputs.decisions),
        "actions": canonical(o for s in steps for o in s.outputs.actions),
        "customers_out": canonical(s.outputs.picture for s in steps if s.outputs.picture),
    }
    assert sum(step.event is None for step in steps) > 0, "no time passed: a weak stream"
    assert all(expected.values()) and any(a["kind"] == "overdue" for a in expected["alerts"])
    run(create_topics(settings))
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        asyncio.run(feed_one_step_at_a_time(settings, steps))
        for kind, wanted in expected.items():
            topic = getattr(settings.topics, kind)
            got = run(collect(settings, topic, at_least(len(wanted))))
            assert canonical_dicts(got) == wanted, (kind, worker.log_tail())
    finally:
        worker.stop()


def canonical_dicts(documents: list[dict]) -> list[dict]:
    return sorted(documents, key=orjson.dumps)
