"""Sending input events to their input topics, keyed by customer, at a target rate."""

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from schemas.codec import dumps
from schemas.events import InputEvent
from streams.settings import Settings


async def send_events(settings: Settings, events: Iterable[InputEvent], rate: float) -> int:
    """Send every event to the input topic of its family, about ``rate`` a second; the count.

    Paced, so that a worker reads the topics in about the order they were written: Kafka
    orders events only within one partition of one topic.
    """
    topic_of = {family: name for name, family in settings.topics.inputs().items()}
    producer = AIOKafkaProducer(**settings.kafka_client, linger_ms=5)
    sent, started = 0, time.monotonic()
    try:
        await producer.start()
        for event in events:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            await producer.send(
                topic_of[event.family], dumps(event), key=event.customer_id.encode()
            )
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent
