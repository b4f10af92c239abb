"""The Redis sink against a real Redis: what each kind of output leaves there, and that an
output delivered twice (a redelivery after a crash) is stored once."""

import asyncio
import uuid
from datetime import UTC, date, datetime

import orjson
import pytest
import redis

from schemas.outputs import Alert, CreditAction, RiskChange
from sinks.redis import RedisSink

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 3, 1, 9, tzinfo=UTC)


def alert(number: int) -> Alert:
    return Alert(customer_id="c1", event_time=WHEN, alert_id=f"a{number}", kind="overdue",
                 severity="warning", message="invoice i1 is 3 days overdue",
                 source_event_id="e1")  # fmt: skip


def action(number: int, kind: str = "review") -> CreditAction:
    return CreditAction(customer_id="c1", event_time=WHEN, action_id=f"x{number}", kind=kind,
                        reasons=["days_past_due"], review_date=date(2026, 3, 15),
                        source_event_id="e1")  # fmt: skip


def test_alerts_and_credit_actions_go_to_their_streams_once_each(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    async def write(*batches: list) -> None:
        sink = RedisSink(redis_url, prefix=prefix)
        await sink.setup()
        for batch in batches:
            await sink.write(batch)
        await sink.close()
        assert sink.pending == 0 and sink.errors == 0

    try:
        asyncio.run(write([alert(1), action(1)], [action(1), action(2, "prepayment"), alert(1)]))
        actions = [entry for _, entry in client.xrange(f"{prefix}:actions:c1")]
        assert [(a["action_id"], a["kind"]) for a in actions] == [
            ("x1", "review"), ("x2", "prepayment"),
        ]  # fmt: skip
        assert CreditAction.model_validate(orjson.loads(actions[0]["json"])) == action(1)
        assert actions[0]["event_time"] == WHEN.isoformat()
        alerts = [entry["alert_id"] for _, entry in client.xrange(f"{prefix}:alerts:c1")]
        assert alerts == ["a1"]
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)


def change(number: int, customer: str) -> RiskChange:
    return RiskChange(customer_id=customer, event_time=WHEN, change_id=f"r{number}", score=60.0,
                      tier="high", reasons=[], source_event_id="e1")  # fmt: skip


def test_the_portfolio_feeds_keep_every_alert_and_risk_change_once_for_consumer_groups(redis_url):
    """Issue 19: pub/sub loses what a subscriber misses while it restarts; the portfolio-wide
    streams keep it, each output once, for a consumer group to read on from its last id."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    first = [alert(1), change(1, "c1"), change(2, "c2")]
    second = [change(2, "c2"), alert(1), alert(2), change(3, "c1")]  # redelivered, then new

    async def write(batch: list) -> None:
        sink = RedisSink(redis_url, prefix=prefix, feed_length=1000)
        await sink.setup()
        await sink.write(batch)
        await sink.close()

    try:
        asyncio.run(write(first))
        feed = f"{prefix}:feed:risk-changes"
        client.xgroup_create(feed, "downstream", id="0")
        [(_, read)] = client.xreadgroup("downstream", "consumer-1", {feed: ">"})
        assert [orjson.loads(entry["json"])["change_id"] for _, entry in read] == ["r1", "r2"]
        client.xack(feed, "downstream", *(entry_id for entry_id, _ in read))
        asyncio.run(write(second))  # meanwhile, the consumer is away
        [(_, read)] = client.xreadgroup("downstream", "consumer-1", {feed: ">"})
        assert [entry["change_id"] for _, entry in read] == ["r3"]
        alerts = [entry["alert_id"] for _, entry in client.xrange(f"{prefix}:feed:alerts")]
        assert alerts == ["a1", "a2"]
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)
