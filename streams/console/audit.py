"""The audit trail: people's review events read back from the reviews topic, for a range.

>>> start, end = parse_range({"from": "2026-03-01", "to": "2026-03-31"})
>>> start.isoformat(), end.isoformat()
('2026-03-01T00:00:00+00:00', '2026-04-01T00:00:00+00:00')
>>> parse_range({"from": "2026-03-31", "to": "2026-03-01"})
Traceback (most recent call last):
...
ValueError: the range ends before it starts: from 2026-03-31 to 2026-03-01
"""

import contextlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka.security import KafkaClient

DEFAULT_DAYS = 30
"""Days an export covers when no range is given: the last 30, today included."""
SEEK_MARGIN = timedelta(days=1)
"""How much earlier than the range the topic is read from: an event's time and the moment
the broker took it differ a little."""


def parse_range(query: Mapping[str, str], today: date | None = None) -> tuple[datetime, datetime]:
    """The range of ``from`` to ``to`` (days, UTC, both included), by default the last
    `DEFAULT_DAYS`; a `ValueError` says what is wrong, in one line."""
    today = today or datetime.now(UTC).date()
    try:
        first = date.fromisoformat(query.get("from") or str(today - timedelta(DEFAULT_DAYS - 1)))
        last = date.fromisoformat(query.get("to") or str(today))
    except ValueError:
        raise ValueError("from and to are days, like 2026-03-01") from None
    if last < first:
        raise ValueError(f"the range ends before it starts: from {first} to {last}")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return start, datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)


async def read_reviews(
    client: KafkaClient, topic: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The review events of ``topic`` whose event time is in [``start``, ``end``), oldest
    first: every partition is read from a little before ``start`` to its end now."""
    # Subscribed to the topic, the consumer starts once it knows its partitions; it reads
    # them by assignment, from the offsets of the range.
    consumer = AIOKafkaConsumer(topic, **client, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, n) for n in consumer.partitions_for_topic(topic) or ()]
        consumer.unsubscribe()
        if not partitions:
            return []
        consumer.assign(partitions)
        since = int((start - SEEK_MARGIN).timestamp() * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, since))
        ends = await consumer.end_offsets(partitions)
        reading = {}
        for partition in partitions:
            offset = found[partition]
            if offset is not None and offset.offset < ends[partition]:
                consumer.seek(partition, offset.offset)
                reading[partition] = ends[partition]
        reviews = []
        while reading:
            batches = await consumer.getmany(*reading, timeout_ms=500)
            for partition, records in batches.items():
                for record in records:
                    if record.offset < reading.get(partition, 0) and record.value:
                        with contextlib.suppress(orjson.JSONDecodeError):  # dead-lettered
                            reviews.append(orjson.loads(record.value))
            for partition in list(reading):
                if await consumer.position(partition) >= reading[partition]:
                    del reading[partition]
    finally:
        await consumer.stop()
    within = [
        review for review in reviews
        if isinstance(review, dict) and "event_id" in review
        and start <= _moment(str(review.get("event_time", ""))) < end
    ]  # fmt: skip
    return sorted(within, key=lambda review: (_moment(review["event_time"]), review["event_id"]))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
