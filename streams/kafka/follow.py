"""Following a one-partition topic from its start, outside the consumer group.

Every worker reads the whole of the models and control topics this way: each needs every
record, and in order.
"""

from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.kafka.security import KafkaClient


async def follow_topic(
    client: KafkaClient,
    topic: str,
    on_record: Callable[[ConsumerRecord], Awaitable[None]],
    *,
    on_caught_up: Callable[[], None] | None = None,
    forever: bool = True,
) -> None:
    """Hand every record of partition 0 of ``topic`` to ``on_record``, from the first
    (``client``: the consumer's servers and security, `Settings.kafka_client`).

        ``on_caught_up`` is called once every record there was at the start has been handed
        over; with ``forever`` off the reading stops there.
    """
    consumer = AIOKafkaConsumer(**client, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        caught_up = False
        while True:
            if not caught_up and await consumer.position(partition) >= end:
                caught_up = True
                if on_caught_up is not None:
                    on_caught_up()
                if not forever:
                    return
            batches = await consumer.getmany(partition, timeout_ms=500)
            for record in batches.get(partition, []):
                await on_record(record)
    finally:
        await consumer.stop()
