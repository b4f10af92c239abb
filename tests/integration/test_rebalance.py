"""What a worker does when partitions are assigned to it: its Faust app run in this process on
the real broker, with every seek of its Kafka consumer watched."""

import asyncio
import threading
import time
from pathlib import Path

import aiokafka
import pytest

from streams.worker.app import RiskApp
from tests.integration import harness

pytestmark = pytest.mark.integration


async def assigned_once(risk: RiskApp, timeout: float = 60) -> None:
    """Start the worker's app, wait for its first assignment to be handled, stop it."""
    app = risk.faust
    app.finalize()
    await app.start()
    try:
        started = time.monotonic()
        while not risk.rebalancing.recovered and time.monotonic() - started < timeout:
            await asyncio.sleep(0.1)
        assert risk.rebalancing.recovered, "no partition assignment within a minute"
    finally:
        await app.stop()


def test_the_inputs_are_rewound_after_an_assignment_in_the_consumers_own_thread(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # aiokafka is not thread-safe: a seek from the app's thread can delete a partition's
    # fetched records while the consumer's thread iterates over them, and the KeyError
    # crashes the worker (seen when a worker takes over the partitions of a dead one).
    seeks: list[tuple[str, str]] = []
    seek = aiokafka.AIOKafkaConsumer.seek

    def watched(consumer: aiokafka.AIOKafkaConsumer, tp: aiokafka.TopicPartition, offset: int):
        seeks.append((tp.topic, threading.current_thread().name))
        return seek(consumer, tp, offset)

    monkeypatch.setattr(aiokafka.AIOKafkaConsumer, "seek", watched)
    settings = harness.settings_of(harness.isolated_env(kafka_bootstrap, redis_url, tmp_path))
    harness.run(harness.create_topics(settings))

    harness.run(assigned_once(RiskApp(settings)))

    inputs = set(settings.topics.inputs())
    assert inputs <= {topic for topic, _ in seeks}, seeks  # each input was rewound
    threads = {thread for _, thread in seeks}
    assert threads != {threading.current_thread().name} and len(threads) == 1, seeks
