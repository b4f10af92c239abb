"""What the console reads of its queues from a real Redis, written by the workers' own Redis
sink: every open case and pending order, beyond one page of them, and one page at a time."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from schemas.outputs import Case, OrderDecision, OrderReview
from sinks.redis import RedisSink
from streams.console.store import PAGE, Store
from tests.integration.queues import held_order, open_case
from tests.integration.queues import released as release

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 3, 1, 9, tzinfo=UTC)
CASES = PAGE + 50
"""Open cases written: more than a page."""


def case(number: int) -> Case:
    return open_case(number, WHEN)


def held(number: int) -> OrderDecision:
    return held_order(number, WHEN)


def released(number: int) -> OrderReview:
    return release(number, WHEN)


async def keep(redis_url: str, prefix: str, outputs: list[Any]) -> None:
    """Write ``outputs`` as a worker does: through its Redis sink."""
    sink = RedisSink(redis_url, prefix=prefix)
    await sink.setup()
    await sink.write(outputs)
    await sink.close()


@contextlib.asynccontextmanager
async def opened(redis_url: str) -> AsyncIterator[Store]:
    """A store whose Redis holds `CASES` open cases and as many held orders, under a prefix
    of its own (removed after)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client, f"test-{uuid.uuid4().hex[:8]}")
    try:
        await keep(redis_url, store.prefix, [*map(case, range(CASES)), *map(held, range(CASES))])
        yield store
    finally:
        names = [name async for name in client.scan_iter(store.key("*"))]
        if names:
            await client.delete(*names)
        await client.aclose()


def with_store(redis_url: str, check: Callable[[Store], Awaitable[None]]) -> None:
    """Run ``check`` on a store whose Redis holds `CASES` open cases and as many held orders."""

    async def run() -> None:
        async with opened(redis_url) as store:
            await check(store)

    asyncio.run(run())


def test_the_probabilities_of_loss_are_of_every_open_case_not_of_the_first_page(redis_url):
    async def check(store: Store) -> None:
        probabilities = await store.case_probabilities()
        assert len(probabilities) == CASES
        assert probabilities[f"c-{CASES - 1:03}"] == (CASES - 1) / 1000  # the lowest priority

    with_store(redis_url, check)


def test_a_page_of_a_queue_is_its_rows_in_order_and_a_page_beyond_the_last_has_none(redis_url):
    async def check(store: Store) -> None:
        cases, total = await store.queue_page("cases", 2)
        assert total == CASES
        assert [case["case_id"] for case in cases] == [f"k-{n:03}" for n in range(PAGE, CASES)]
        reviews, total = await store.queue_page("reviews", 1)
        assert total == CASES
        assert [review["decision_id"] for review in reviews] == [f"d-{n:03}" for n in range(PAGE)]
        assert await store.queue_page("reviews", 3) == ([], CASES)

    with_store(redis_url, check)


def test_every_row_of_a_queue_is_read_in_its_order(redis_url):
    async def check(store: Store) -> None:
        cases = await store.open_cases()
        assert [case["case_id"] for case in cases] == [f"k-{n:03}" for n in range(CASES)]
        reviews = await store.pending_reviews()
        assert [review["decision_id"] for review in reviews] == [f"d-{n:03}" for n in range(CASES)]

    with_store(redis_url, check)


def test_the_pending_orders_fingerprint_changes_with_what_its_page_shows(redis_url):
    async def check(store: Store) -> None:
        first, second = await store._pending_fingerprint(1), await store._pending_fingerprint(2)
        # The last order leaves page 2: page 1 shows the count change, page 2 the row too.
        await keep(redis_url, store.prefix, [released(CASES - 1)])
        assert await store._pending_fingerprint(1) != first
        assert await store._pending_fingerprint(2) != second
        # An order of page 1 leaves: page 2's first row moves up to page 1.
        second = await store._pending_fingerprint(2)
        await keep(redis_url, store.prefix, [released(0)])
        assert await store._pending_fingerprint(2) != second
        # One order leaves page 2 and another comes after it: page 1 shows the same.
        first = await store._pending_fingerprint(1)
        await keep(redis_url, store.prefix, [released(CASES - 2), held(CASES + 10)])
        assert await store._pending_fingerprint(1) == first
        assert await store._pending_fingerprint(None) == ""

    with_store(redis_url, check)
