"""``riskstream topics list`` and ``describe`` in a process of their own, on the real broker:
partitions, cleanup and retention as the broker has them, and a consumer group's lag."""

import os
import re
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.integration.harness import REPO, run, settings_of

pytestmark = pytest.mark.integration


def riskstream(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *arguments], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


async def fill(bootstrap: str, topic: str, counts: dict[int, int]) -> None:
    """``counts[p]`` messages on partition ``p`` of ``topic``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, count in counts.items():
            for n in range(count):
                await producer.send(topic, b"{}", key=f"k{n}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit ``offsets`` for ``group``, as a consumer that read that far would."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


@pytest.fixture
def group(env: dict[str, str]) -> str:
    """Ten orders on partition 0 of the orders topic and four on partition 1, of which a
    consumer group has read three and one: that group, 10 behind."""
    settings = settings_of(env)
    orders = settings.topics.orders
    run(fill(settings.bootstrap_servers, orders, {0: 10, 1: 4}))
    group = f"rs-test-reader-{uuid.uuid4().hex[:8]}"
    run(commit(settings.bootstrap_servers, group,
               {TopicPartition(orders, 0): 3, TopicPartition(orders, 1): 1}))  # fmt: skip
    return group


def columns(output: str, topic: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if line.startswith(f"{topic} ")]
    return re.split(r"\s{2,}", line)


def test_list_shows_partitions_cleanup_retention_and_lag_per_group(env, group):
    topics = settings_of(env).topics
    done = riskstream(env, "topics", "list")
    assert done.returncode == 0, done.stderr
    assert columns(done.stdout, topics.orders) == [topics.orders, "2", "delete", "7 days",
                                                   f"{group} 10"]  # fmt: skip
    assert columns(done.stdout, topics.customers_out)[:3] == [topics.customers_out, "2", "compact"]
    assert columns(done.stdout, topics.control)[:3] == [topics.control, "1", "compact"]
    assert columns(done.stdout, topics.alerts)[4] == "-"  # nobody has read it


def test_describe_shows_each_partitions_end_and_the_groups_offset_and_lag(env, group):
    orders = settings_of(env).topics.orders
    done = riskstream(env, "topics", "describe", orders)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{orders}: 2 partitions, replication 1\n")
    assert "  cleanup.policy = delete\n" in done.stdout
    assert columns(done.stdout, "0")[2:] == ["10", "3 (7)"]
    assert columns(done.stdout, "1")[2:] == ["4", "1 (3)"]
    assert done.stdout.rstrip().endswith(f"lag: {group} 10")


def test_a_topic_that_is_not_there_is_one_line(env):
    done = riskstream(env, "topics", "describe", "rs-test-no-such-topic")
    assert done.returncode == 2
    assert done.stderr.startswith("riskstream: no topic rs-test-no-such-topic on the broker")
    assert done.stderr.count("\n") == 1
