"""Event times and ticks ahead of the wall clock, on a real worker."""

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis

from schemas import InvoiceIssued, Money, PaymentReceived
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
EUR = Money(amount="100.00", currency="EUR")


def invoice(number: int, issued: datetime, due: datetime) -> InvoiceIssued:
    return InvoiceIssued(event_id=f"fut-i{number}", customer_id="fut", invoice_id=f"fut-i{number}",
                         event_time=issued, due_date=due.date(), amount=EUR)  # fmt: skip


MALFORMED_TICKS = [
    b'{"customer_id": "fut", "now": "2026-01-01T00:00:00"}',  # no offset: failed as a bug
    b'{"now": "2026-01-01T00:00:00Z"}',
    b'{"customer_id": ["fut"], "now": "2026-01-01T00:00:00Z"}',
]
"""Ticks a worker cannot take: each is a dead letter saying why, like any invalid input."""


def test_an_event_or_a_tick_from_the_future_is_refused_and_poisons_nobody(env, tmp_path):
    """Issue 16: one valid event dated 2999-12-31 moved the customer's watermark, fired overdue
    alerts for everything and made every later event too_late; a forged tick did the same."""
    settings = settings_of(env)
    topics = settings.topics
    far = datetime(2999, 12, 30, tzinfo=UTC)
    events = [
        invoice(1, NOW - timedelta(days=10), NOW + timedelta(days=20)),
        invoice(2, far, far + timedelta(days=1)),  # far ahead of the clock
        invoice(3, NOW + timedelta(minutes=30), NOW + timedelta(days=30)),  # within the skew
    ]
    forged = orjson.dumps({"customer_id": "fut", "now": far.isoformat()})
    paid = PaymentReceived(event_id="fut-p1", customer_id="fut", payment_id="fut-p1",
                           invoice_id="fut-i1", event_time=NOW - timedelta(days=1),
                           amount=EUR)  # fmt: skip
    messages = [harness.as_message(settings, event) for event in events]
    messages += [(topics.ticks, b"fut", forged), harness.as_message(settings, paid)]
    messages += [(topics.ticks, b"fut", tick) for tick in MALFORMED_TICKS]
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        run(harness.produce(settings, messages))
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        key = f"{settings.redis_prefix}:customer:fut"
        settled = harness.wait_for(lambda: int(client.hget(key, "revision") or 0) >= 3, 60)
        assert settled, (client.hgetall(key), worker.log_tail())
        time.sleep(2)  # two overdue sweeps
        letters = run(harness.collect(settings, topics.deadletter, lambda r: False, timeout=3))
        alerts = run(harness.collect(settings, topics.alerts, lambda r: False, timeout=3))
        assert client.hget(key, "open_invoices") == "1"  # i3; i1 paid
    finally:
        worker.stop()
    assert sorted((letter["source_topic"], letter["reason_code"]) for letter in letters) == sorted(
        [(topics.invoices, "from_future"), (topics.ticks, "from_future")]
        + [(topics.ticks, "invalid")] * len(MALFORMED_TICKS)
    ), worker.log_tail()
    assert all(
        "ahead of" in letter["reason"] or letter["reason_code"] == "invalid" for letter in letters
    )
    assert [alert for alert in alerts if alert["kind"] == "overdue"] == []
