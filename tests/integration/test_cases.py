"""Cases and people's reviews end to end, through a real Kafka broker and a real Redis."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis

from schemas import CreditLimitUpdated, InvoiceIssued, Money, OrderPlaced, PaymentReceived
from schemas.events import CaseAcknowledged, CaseResolved, OrderReleased
from tests.integration.harness import Worker, collect, run, send, settings_of, wait_for

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - 60 * DAY


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path):
    started = Worker(env, tmp_path / "worker.log").start()
    yield started
    started.stop()


def test_alerts_roll_into_one_case_that_people_acknowledge_and_resolve_and_orders_release(
    env, worker, redis_url
):
    settings = settings_of(env)
    topics, prefix = settings.topics, settings.redis_prefix
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    # An invoice that falls overdue, then is paid 12 days late: two alerts of one customer.
    run(send(settings, [
        InvoiceIssued(event_id="cara-i1", customer_id="cara", invoice_id="cara-i1",
                      event_time=START, due_date=(START + 30 * DAY).date(), amount=eur("800.00")),
        PaymentReceived(event_id="cara-p1", customer_id="cara", payment_id="cara-p1",
                        invoice_id="cara-i1", event_time=START + 42 * DAY, amount=eur("800.00")),
    ]))  # fmt: skip

    def the_case() -> dict | None:
        ids = client.zrange(f"{prefix}:cases:customer:cara", 0, -1)
        raw = client.get(f"{prefix}:case:{ids[0]}") if len(ids) == 1 else None
        case = orjson.loads(raw) if raw else None
        return case if case and case["alert_count"] == 2 else None

    case = wait_for(the_case, timeout=90)
    assert case, worker.log_tail()
    alerts = run(collect(settings, topics.alerts, lambda r: len(r) >= 2))
    assert sorted(case["alert_ids"]) == sorted(alert["alert_id"] for alert in alerts)
    assert client.zcard(f"{prefix}:cases:customer:cara") == 1
    assert client.zscore(f"{prefix}:cases:open", case["case_id"]) == case["priority"]

    said = {"customer_id": "cara", "case_id": case["case_id"], "actor": "ann"}
    run(send(settings, [
        CaseAcknowledged(event_id="rev-1", event_time=NOW - MINUTE, note="calling them", **said),
        CaseResolved(event_id="rev-2", event_time=NOW, note="paid in full", **said),
    ]))  # fmt: skip
    revisions = run(collect(settings, topics.cases,
                            lambda r: any(c["status"] == "resolved" for c in r)))  # fmt: skip
    mine = [c for c in revisions if c["case_id"] == case["case_id"]]
    assert [c["status"] for c in mine][-2:] == ["acknowledged", "resolved"]
    assert [c["revision"] for c in mine] == list(range(1, len(mine) + 1))
    resolved = wait_for(
        lambda: (
            (c := orjson.loads(client.get(f"{prefix}:case:{case['case_id']}")))["status"]
            == "resolved"
            and c
        )
    )
    assert [(h["action"], h["actor"], h["note"]) for h in resolved["history"][-2:]] == [
        ("acknowledged", "ann", "calling them"), ("resolved", "ann", "paid in full"),
    ]  # fmt: skip
    assert client.zscore(f"{prefix}:cases:open", case["case_id"]) is None
    feed = client.xrange(f"{prefix}:feed:cases")
    assert [int(e["revision"]) for _, e in feed if e["case_id"] == case["case_id"]] == [
        c["revision"] for c in mine
    ]

    # An order over the credit limit is held for review; a person releases it.
    run(send(settings, [
        CreditLimitUpdated(event_id="ord-l1", customer_id="orla", event_time=START,
                           credit_limit=eur("1000.00")),
        OrderPlaced(event_id="ord-o1", customer_id="orla", order_id="o-1",
                    event_time=START + DAY, amount=eur("1500.00")),
    ]))  # fmt: skip
    decisions = run(collect(settings, topics.decisions, lambda r: len(r) >= 1))
    (decision,) = decisions
    assert decision["outcome"] == "review", worker.log_tail()
    pending = f"{prefix}:reviews:pending"
    assert wait_for(lambda: client.zscore(pending, decision["decision_id"]) is not None)
    assert orjson.loads(client.get(f"{prefix}:decision:{decision['decision_id']}")) == decision
    run(send(settings, [
        OrderReleased(event_id="rev-3", customer_id="orla", event_time=NOW, actor="bob",
                      decision_id=decision["decision_id"], order_id="o-1", note="agreed"),
    ]))  # fmt: skip
    on_decisions = run(collect(settings, topics.decisions, lambda r: len(r) >= 2))
    review = on_decisions[-1]
    assert (review["type"], review["decision_id"], review["outcome"], review["actor"]) == (
        "order_review", decision["decision_id"], "released", "bob",
    )  # fmt: skip
    assert review["versions"]["decisions"] == decision["versions"]["decisions"] == "default"
    assert wait_for(lambda: client.zscore(pending, decision["decision_id"]) is None)
