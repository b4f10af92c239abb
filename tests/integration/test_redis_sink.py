"""The Redis sink against a real Redis: what each kind of output leaves there, and that an
output delivered twice (a redelivery after a crash) is stored once."""

import asyncio
import uuid
from datetime import UTC, date, datetime

import orjson
import pytest
import redis

from schemas.money import Money
from schemas.outputs import (
    Alert,
    Case,
    CreditAction,
    OrderDecision,
    OrderReview,
    ProposalReview,
    RiskChange,
)
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


def write(redis_url: str, prefix: str, *batches: list, **options: int) -> None:
    """Write ``batches`` in turn through one Redis sink, which must leave nothing pending and
    meet no error."""

    async def written() -> None:
        sink = RedisSink(redis_url, prefix=prefix, **options)
        await sink.setup()
        for batch in batches:
            await sink.write(batch)
        await sink.close()
        assert sink.pending == 0 and sink.errors == 0

    asyncio.run(written())


def test_alerts_and_credit_actions_go_to_their_streams_once_each(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    try:
        write(
            redis_url, prefix, [alert(1), action(1)], [action(1), action(2, "prepayment"), alert(1)]
        )
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

    try:
        write(redis_url, prefix, first, feed_length=1000)
        feed = f"{prefix}:feed:risk-changes"
        client.xgroup_create(feed, "downstream", id="0")
        [(_, read)] = client.xreadgroup("downstream", "consumer-1", {feed: ">"})
        assert [orjson.loads(entry["json"])["change_id"] for _, entry in read] == ["r1", "r2"]
        client.xack(feed, "downstream", *(entry_id for entry_id, _ in read))
        write(redis_url, prefix, second, feed_length=1000)  # meanwhile, the consumer is away
        [(_, read)] = client.xreadgroup("downstream", "consumer-1", {feed: ">"})
        assert [entry["change_id"] for _, entry in read] == ["r3"]
        alerts = [entry["alert_id"] for _, entry in client.xrange(f"{prefix}:feed:alerts")]
        assert alerts == ["a1", "a2"]
        # Each customer's own stream of risk changes is its score history, each change once.
        history = [entry["change_id"] for _, entry in client.xrange(f"{prefix}:risk-changes:c1")]
        assert history == ["r1", "r3"]
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)


def case(revision: int, status: str = "open", case_id: str = "k1") -> Case:
    return Case(
        customer_id="c1", event_time=WHEN, case_id=case_id, revision=revision, status=status,
        opened_at=WHEN, updated_at=WHEN, severity="warning", alert_count=revision,
        alert_ids=[f"a{n}" for n in range(revision)], alert_kinds={"overdue": revision},
        money_at_risk=Money(amount="1000.00", currency="EUR"), probability_of_loss=0.5,
        priority=500.0 + revision, history=[], source_event_id=f"e{revision}",
    )  # fmt: skip


def decision(outcome: str, number: int = 1) -> OrderDecision:
    return OrderDecision(customer_id="c1", event_time=WHEN, decision_id=f"d{number}",
                         order_id=f"o{number}", outcome=outcome, reasons=[],
                         source_event_id=f"o{number}-placed")  # fmt: skip


def released(number: int = 1) -> OrderReview:
    return OrderReview(customer_id="c1", event_time=WHEN, review_id=f"rv{number}",
                       decision_id=f"d{number}", order_id=f"o{number}", outcome="released",
                       actor="ann", source_event_id=f"rev-{number}")  # fmt: skip


def test_a_case_keeps_its_newest_revision_ranked_while_open_and_each_revision_feeds_once(
    redis_url,
):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    try:
        write(redis_url, prefix, [case(1), case(2)], [case(1)])  # an older revision comes again
        assert Case.model_validate_json(client.get(f"{prefix}:case:k1")) == case(2)
        assert client.zscore(f"{prefix}:cases:open", "k1") == 502.0
        assert client.zscore(f"{prefix}:cases:customer:c1", "k1") == WHEN.timestamp()
        write(redis_url, prefix, [case(3, "resolved"), case(1, case_id="k2")])
        assert orjson.loads(client.get(f"{prefix}:case:k1"))["status"] == "resolved"
        assert client.zrange(f"{prefix}:cases:open", 0, -1) == ["k2"]
        assert client.zrange(f"{prefix}:cases:customer:c1", 0, -1) == ["k1", "k2"]
        feed = [(e["case_id"], e["revision"], e["status"]) for _, e in
                client.xrange(f"{prefix}:feed:cases")]  # fmt: skip
        assert feed == [("k1", "1", "open"), ("k1", "2", "open"), ("k1", "3", "resolved"),
                        ("k2", "1", "open")]  # fmt: skip
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)


def test_orders_held_for_review_wait_in_the_pending_set_until_their_review(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    pending = f"{prefix}:reviews:pending"

    try:
        write(
            redis_url,
            prefix,
            [decision("review", 1), decision("approve", 2), decision("prepay", 3)],
        )
        assert client.zrange(pending, 0, -1, withscores=True) == [
            ("d1", WHEN.timestamp()), ("d3", WHEN.timestamp()),
        ]  # fmt: skip
        stored = OrderDecision.model_validate_json(client.get(f"{prefix}:decision:d1"))
        assert stored == decision("review", 1)
        assert client.get(f"{prefix}:decision:d2") is None
        # Released, then the decision redelivered (a restart): it stays out of the set.
        write(redis_url, prefix, [released(1)], [decision("review", 1), released(1)])
        assert client.zrange(pending, 0, -1) == ["d3"]
        assert client.ttl(f"{prefix}:decision:d1") > 0
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)


def test_proposal_reviews_go_to_the_customers_stream_and_the_feed_once(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    review = ProposalReview(customer_id="c1", event_time=WHEN, review_id="pr1", action_id="x1",
                            outcome="accepted", actor="ann", source_event_id="rev-1")  # fmt: skip

    try:
        write(redis_url, prefix, [review, review])
        entries = [e for _, e in client.xrange(f"{prefix}:proposal-reviews:c1")]
        assert [(e["review_id"], e["action_id"], e["outcome"]) for e in entries] == [
            ("pr1", "x1", "accepted")
        ]
        assert len(client.xrange(f"{prefix}:feed:proposal-reviews")) == 1
    finally:
        keys = client.keys(f"{prefix}:*")
        if keys:
            client.delete(*keys)
