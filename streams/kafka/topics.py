"""Creating riskstream's topics up front, with their partition counts.

Topics that a broker creates on first use get the broker's default partition count, and
Faust then refuses tables whose changelog does not match their source topics.
"""

import asyncio
import contextlib
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka.security import KafkaClient
from streams.settings import Settings


class TopicMismatch(RuntimeError):
    """An existing topic has another partition count than the settings ask for."""


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics; returns the names created. Checks the existing ones."""
    specs = settings.topic_specs()
    admin = AIOKafkaAdminClient(**settings.kafka_client)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        created = await _create_missing(admin, specs, settings.replication, existing)
        await _check_partitions(
            admin, {name: partitions for name, partitions, _ in specs if name in existing}
        )
        return created
    finally:
        await admin.close()


async def create_topics(
    client: KafkaClient, specs: list[tuple[str, int, dict[str, str]]], replication: int
) -> list[str]:
    """Create the topics of ``specs`` (name, partitions, config) that are missing."""
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        return await _create_missing(admin, specs, replication, set(await admin.list_topics()))
    finally:
        await admin.close()


async def _create_missing(
    admin: AIOKafkaAdminClient,
    specs: list[tuple[str, int, dict[str, str]]],
    replication: int,
    existing: set[str],
) -> list[str]:
    missing = [spec for spec in specs if spec[0] not in existing]
    if missing:
        new = [
            NewTopic(name, partitions, replication, topic_configs=config)
            for name, partitions, config in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):  # another worker was quicker
            await admin.create_topics(new)
        # A consumer group that joins before the new partitions have leaders is not
        # assigned them, so wait for the leaders before anyone subscribes.
        await _wait_for_leaders(admin, [name for name, _, _ in missing])
    return [name for name, _, _ in missing]


async def _check_partitions(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> None:
    if not wanted:
        return
    for description in await admin.describe_topics(list(wanted)):
        count, expected = len(description["partitions"]), wanted[description["topic"]]
        if count != expected:
            raise TopicMismatch(
                f"topic {description['topic']} has {count} partitions, riskstream needs "
                f"{expected}: set RISKSTREAM_PARTITIONS to match, or recreate the topic"
            )


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        descriptions = await admin.describe_topics(names)
        if all(
            description["error_code"] == 0
            and description["partitions"]
            and all(partition["leader"] >= 0 for partition in description["partitions"])
            for description in descriptions
        ):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"topics {', '.join(names)} have no partition leaders after {timeout}s")
