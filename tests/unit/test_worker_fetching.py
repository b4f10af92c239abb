"""The worker's consumer: its fetches wait for a batch of messages, briefly, not for one."""

import asyncio

from streams.settings import Settings
from streams.worker.faust_app import FETCH_MIN_BYTES, create_app


def _fetch_settings(settings: Settings) -> tuple[int, int]:
    async def build() -> tuple[int, int]:
        app = create_app(settings)
        thread = app.consumer._thread  # the Faust consumer's aiokafka side
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_min_bytes, consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    return asyncio.run(build())


def test_a_worker_fetch_waits_briefly_for_a_batch_of_messages_rather_than_for_any_one():
    settings = Settings(broker="kafka://127.0.0.1:9092")
    assert _fetch_settings(settings) == (FETCH_MIN_BYTES, 10)
    assert FETCH_MIN_BYTES >= 64 * 1024


def test_the_wait_is_a_setting():
    settings = Settings(broker="kafka://127.0.0.1:9092", fetch_wait_ms=2)
    assert _fetch_settings(settings) == (FETCH_MIN_BYTES, 2)
