"""The code examples of the documentation, run as they are written (the Redis URL and key
prefix aside) against a real Redis that the workers' own Redis sink fed."""

import contextlib
import io
import re
import uuid
from datetime import UTC, datetime

import pytest
import redis

from schemas.outputs import CustomerRisk, RiskChange
from sinks.redis import RedisSink
from tests.integration.harness import REPO, run

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 3, 2, 9, tzinfo=UTC)


def python_block(page: str, heading: str) -> str:
    """The first Python block under ``heading`` of ``docs/{page}``."""
    text = (REPO / "docs" / page).read_text()
    section = text[text.index(f"## {heading}\n") :]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]  # type: ignore[index]


def test_reading_a_customer_and_following_the_change_feed(redis_url):
    prefix = f"rs-docs-{uuid.uuid4().hex[:8]}"
    sink = RedisSink(redis_url, prefix=prefix)
    picture = CustomerRisk(customer_id="cust-042", as_of=WHEN, revision=3, currency="EUR",
                           exposure="9580.00", open_invoices=3, overdue_balance="3400.00",
                           days_past_due=13, score=42.38, tier="medium")  # fmt: skip
    changes = [
        RiskChange(customer_id=customer, event_time=WHEN, change_id=f"r-{customer}", score=s,
                   previous_tier=before, tier=after, reasons=[], source_event_id="e1")
        for customer, s, before, after in [("cust-042", 42.38, "low", "medium"),
                                           ("cust-007", 81.0, "medium", "high")]
    ]  # fmt: skip

    async def feed() -> None:
        await sink.setup()
        await sink.write([picture, *changes])
        await sink.close()

    run(feed())
    code = python_block("redis.md", "Following the change feed")
    code = code.replace("redis://127.0.0.1:16379/0", redis_url).replace("riskstream:", f"{prefix}:")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "docs/redis.md", "exec"), {})
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(*client.keys(f"{prefix}:*"))
    assert printed.getvalue().splitlines() == [
        "cust-042 medium 42.38 9580.00 EUR",
        "cust-042 low -> medium",
        "cust-007 medium -> high",
    ]
