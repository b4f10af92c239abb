"""What ``riskstream topics list`` and ``describe`` say: a topic's partitions, its cleanup and
retention, and how far behind each consumer group is on it.

A group's lag on a partition is the partition's end offset less the offset the group last
committed there; a group that has committed nothing on a topic is not listed for it.
"""

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.settings import Settings

SHOWN_CONFIG = ("cleanup.policy", "retention.ms", "retention.bytes", "min.compaction.lag.ms")
"""The topic settings ``describe`` prints, besides any set on the topic itself."""
_UNKNOWN_TOPIC = 3


@dataclass(frozen=True)
class Partition:
    number: int
    leader: int
    replicas: list[int]
    end: int
    committed: dict[str, int] = field(default_factory=dict)
    """Consumer group -> the offset it committed on this partition."""


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: list[Partition]
    config: dict[str, str]
    """Every setting of the topic, the broker's defaults included."""
    overridden: frozenset[str]
    """The settings set on the topic itself."""

    def lag(self) -> dict[str, int]:
        """Consumer group -> messages it has not consumed yet, over the partitions it committed
        on."""
        lags: dict[str, int] = defaultdict(int)
        for partition in self.partitions:
            for group, offset in partition.committed.items():
                lags[group] += max(partition.end - offset, 0)
        return dict(sorted(lags.items()))

    @property
    def retention(self) -> str:
        """How long messages are kept, or how compaction keeps them."""
        return retention(self.config.get("retention.ms", "-1"))


def retention(milliseconds: str) -> str:
    """A topic's ``retention.ms`` as people say it.

    >>> retention("604800000"), retention("-1"), retention("5400000")
    ('7 days', 'forever', '1:30:00')
    """
    if int(milliseconds) < 0:
        return "forever"
    return str(timedelta(milliseconds=int(milliseconds))).removesuffix(", 0:00:00")


async def inspect(settings: Settings, names: list[str]) -> list[Topic]:
    """The topics of ``names`` that exist, in that order."""
    admin = AIOKafkaAdminClient(**settings.kafka_client)
    await admin.start()
    try:
        described = {
            d["topic"]: d
            for d in await admin.describe_topics(names)
            if d["error_code"] != _UNKNOWN_TOPIC and d["partitions"]
        }
        configs = await _configs(admin, list(described))
        committed = await _committed(admin, set(described))
    finally:
        await admin.close()
    ends = await _end_offsets(settings, described)
    return [
        Topic(name, _partitions(described[name], ends, committed), *configs[name])
        for name in names
        if name in described
    ]


def _partitions(
    described: dict[str, Any],
    ends: dict[TopicPartition, int],
    committed: dict[TopicPartition, dict[str, int]],
) -> list[Partition]:
    partitions = []
    for p in sorted(described["partitions"], key=lambda p: p["partition"]):
        where = TopicPartition(described["topic"], p["partition"])
        partitions.append(
            Partition(p["partition"], p["leader"], p["replicas"], ends[where], committed[where])
        )
    return partitions


async def _configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, tuple[dict[str, str], frozenset[str]]]:
    """Topic -> (every setting, the names of those set on the topic)."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    found = {}
    for response in await admin.describe_configs(resources):
        for _error, _message, _type, name, entries in response.resources:
            config = {entry[0]: entry[1] for entry in entries}
            # The entries' source (v1 and later): 1 is a setting of the topic itself.
            overridden = frozenset(entry[0] for entry in entries if entry[3] == 1)
            found[name] = (config, overridden)
    return found


async def _committed(
    admin: AIOKafkaAdminClient, topics: set[str]
) -> dict[TopicPartition, dict[str, int]]:
    """Partition of ``topics`` -> consumer group -> the offset the group committed there."""
    groups = [group for group, _protocol in await admin.list_consumer_groups()]
    offsets = await asyncio.gather(*(admin.list_consumer_group_offsets(g) for g in groups))
    committed: dict[TopicPartition, dict[str, int]] = defaultdict(dict)
    for group, of_group in zip(groups, offsets, strict=True):
        for partition, offset in of_group.items():
            if partition.topic in topics and offset.offset >= 0:
                committed[partition][group] = offset.offset
    return committed


async def _end_offsets(settings: Settings, described: dict[str, Any]) -> dict[TopicPartition, int]:
    partitions = [
        TopicPartition(name, p["partition"])
        for name, topic in described.items()
        for p in topic["partitions"]
    ]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(**settings.kafka_client)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


def listing(settings: Settings, topics: list[Topic]) -> str:
    """One line per topic of riskstream's: partitions, cleanup, retention, lag per group."""
    found = {topic.name: topic for topic in topics}
    rows = [("TOPIC", "PARTITIONS", "CLEANUP", "RETENTION", "LAG")]
    for name, _partitions, _config in settings.topic_specs():
        topic = found.get(name)
        if topic is None:
            rows.append((name, "-", "-", "-", "missing: riskstream topics create makes it"))
            continue
        lag = ", ".join(f"{group} {count:,}" for group, count in topic.lag().items())
        cleanup = topic.config.get("cleanup.policy", "delete")
        rows.append((name, str(len(topic.partitions)), cleanup, topic.retention, lag or "-"))
    return _table(rows)


def description(topic: Topic) -> str:
    """A topic's settings, its partitions, and each consumer group's offsets and lag on them."""
    shown = sorted(set(SHOWN_CONFIG) | topic.overridden)
    lines = [
        f"{topic.name}: {len(topic.partitions)} partitions, "
        f"replication {len(topic.partitions[0].replicas)}",
        *(f"  {name} = {topic.config.get(name, '-')}" for name in shown if name in topic.config),
        "",
    ]
    groups = sorted({group for p in topic.partitions for group in p.committed})
    rows = [("PARTITION", "LEADER", "END", *(f"{group} (lag)" for group in groups))]
    for p in topic.partitions:
        rows.append((str(p.number), str(p.leader), f"{p.end:,}",
                     *(_offset(p, group) for group in groups)))  # fmt: skip
    lag = ", ".join(f"{group} {count:,}" for group, count in topic.lag().items())
    return "\n".join([*lines, _table(rows), "", f"lag: {lag or 'no consumer group'}"])


def _offset(partition: Partition, group: str) -> str:
    offset = partition.committed.get(group)
    return "-" if offset is None else f"{offset:,} ({max(partition.end - offset, 0):,})"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
