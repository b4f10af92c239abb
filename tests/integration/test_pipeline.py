"""End to end through a real Kafka broker and a real Redis: events in, alerts out."""

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from schemas import InvoiceIssued, Money, PaymentReceived
from tests.integration.harness import (
    Worker,
    as_message,
    collect,
    produce,
    run,
    settings_of,
    wait_for,
)

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
START = datetime.now(UTC).replace(microsecond=0) - 60 * DAY


def invoice(
    customer: str, number: int, amount: str, issued: datetime, due_in: int
) -> InvoiceIssued:
    return InvoiceIssued(
        event_id=f"{customer}-i{number}",
        customer_id=customer,
        invoice_id=f"{customer}-i{number}",
        event_time=issued,
        due_date=(issued + due_in * DAY).date(),
        amount=Money(amount=amount, currency="EUR"),
    )


def payment(customer: str, number: int, amount: str, paid: datetime) -> PaymentReceived:
    return PaymentReceived(
        event_id=f"{customer}-p{number}",
        customer_id=customer,
        payment_id=f"{customer}-p{number}",
        invoice_id=f"{customer}-i{number}",
        event_time=paid,
        amount=Money(amount=amount, currency="EUR"),
    )


def paid_invoices(numbers: range, prefix: str = "c") -> list[InvoiceIssued | PaymentReceived]:
    """An invoice of 100.00 due in 20 days for each customer ``{prefix}{number}``, paid after
    10 + 4 * number days: on time up to number 2, late from 3."""
    events: list[InvoiceIssued | PaymentReceived] = []
    for number in numbers:
        customer = f"{prefix}{number}"
        events += [
            invoice(customer, number, "100.00", START, 20),
            payment(customer, number, "100.00", START + (10 + 4 * number) * DAY),
        ]
    return events


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path):
    started = Worker(env, tmp_path / "worker.log").start()
    yield started
    started.stop()


def late_alerts(records: list[dict]) -> list[dict]:
    return [record for record in records if record.get("kind") == "late_payment"]


def json_or_empty(value: bytes) -> Any:
    """For `collect` on a topic a test also sent foreign messages to: {} for one not JSON."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}


def test_late_payment_reaches_alerts_topic_and_redis(env, worker, redis_url):
    settings = settings_of(env)
    on_time = [
        invoice("acme", 1, "100.00", START, 30),
        payment("acme", 1, "100.00", START + 20 * DAY),
    ]
    late = [invoice("zeta", 2, "250.50", START, 30), payment("zeta", 2, "250.50", START + 42 * DAY)]
    run(produce(settings, [as_message(settings, event) for event in [*on_time, *late]]))

    alerts = run(collect(settings, settings.topics.alerts, lambda r: len(late_alerts(r)) >= 1))

    assert late_alerts(alerts), worker.log_tail()
    (alert,) = late_alerts(alerts)
    assert alert["customer_id"] == "zeta"
    assert alert["details"]["days_late"] == 12
    assert alert["source_event_id"] == "zeta-p2"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = env["RISKSTREAM_REDIS_PREFIX"]
    stream = wait_for(lambda: client.xrange(f"{prefix}:alerts:zeta"))
    assert alert["alert_id"] in [entry["alert_id"] for _, entry in stream]
    assert client.hget(f"{prefix}:customer:zeta", "open_invoices") == "0"
    assert client.hget(f"{prefix}:customer:acme", "open_invoices") == "0"
    assert [entry["kind"] for _, entry in client.xrange(f"{prefix}:alerts:acme")] == []


def test_malformed_events_go_to_dead_letters_and_the_stream_goes_on(env, worker):
    settings = settings_of(env)
    topics = settings.topics
    good = [invoice("bolt", 1, "80.00", START, 10), payment("bolt", 1, "80.00", START + 25 * DAY)]
    bad = [
        (topics.payments, b"bolt", b"{not json"),
        (topics.payments, b"bolt", b'{"type": "payment.teleported", "customer_id": "bolt"}'),
        (
            topics.invoices,
            b"bolt",
            b'{"type": "invoice.issued", "event_id": "x1", '
            b'"customer_id": "bolt", "event_time": "2026-01-01T00:00:00Z", '
            b'"invoice_id": "i9", "due_date": "2026-02-01", '
            b'"amount": {"amount": 10.5, "currency": "EUR"}}',
        ),
        (topics.orders, b"bolt", as_message(settings, good[1])[2]),
    ]
    messages = [as_message(settings, good[0]), *bad, as_message(settings, good[1])]
    run(produce(settings, messages))

    letters = run(collect(settings, topics.deadletter, lambda r: len(r) >= 4))
    alerts = run(collect(settings, topics.alerts, lambda r: len(late_alerts(r)) >= 1))

    assert sorted(letter["reason_code"] for letter in letters) == [
        "invalid",
        "undecodable",
        "unknown_type",
        "wrong_topic",
    ], worker.log_tail()
    by_code = {letter["reason_code"]: letter for letter in letters}
    assert "not floats" in by_code["invalid"]["reason"]
    assert by_code["undecodable"]["payload"] == "{<redacted> <redacted>"  # its words masked
    assert by_code["wrong_topic"]["source_topic"] == topics.orders
    assert [alert["customer_id"] for alert in late_alerts(alerts)] == ["bolt"]


def test_restarted_worker_keeps_its_table_state(env, tmp_path):
    settings = settings_of(env)
    first = Worker(env, tmp_path / "first.log").start()
    try:
        run(produce(settings, [as_message(settings, invoice("kilo", 1, "400.00", START, 30))]))
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        key = f"{settings.redis_prefix}:customer:kilo"
        wait_for(lambda: client.exists(key), timeout=90)
        assert client.hget(key, "open_invoices") == "1", first.log_tail()
    finally:
        first.stop(signal.SIGTERM)
    # A new data directory: the state can only come back from the changelog topic.
    second_env = {**env, "RISKSTREAM_DATA_DIR": str(tmp_path / "fresh")}
    second = Worker(second_env, tmp_path / "second.log").start()
    try:
        second.wait_ready()
        late = payment("kilo", 1, "400.00", START + 45 * DAY)
        run(produce(settings, [as_message(settings, late)]))
        alerts = run(collect(settings, settings.topics.alerts, lambda r: len(late_alerts(r)) >= 1))
        assert [a["details"]["days_late"] for a in late_alerts(alerts)] == [15], second.log_tail()
    finally:
        second.stop()


def test_messages_that_break_the_agents_are_dead_letters_and_both_go_on(env, worker, redis_url):
    """A type that is a list, a tick without its time (once a KeyError in the worker),
    foreign messages on an output topic the Redis writer follows, an event id used again for
    other content: each is a dead letter, and the good events after them, on the same
    partitions, still come out (once, though redelivered) and reach Redis."""
    settings = settings_of(env)
    topics = settings.topics
    issued, paid = (
        invoice("nova", 1, "90.00", START, 10),
        payment("nova", 1, "90.00", START + 30 * DAY),
    )
    bad = [
        (topics.payments, b"nova", b'{"type": ["payment.received"], "customer_id": "nova"}'),
        (topics.ticks, b"nova", b'{"customer_id": "nova"}'),
        (topics.alerts, b"nova", b"not json"),
        (topics.alerts, b"nova", b'{"type": "weather", "customer_id": "nova"}'),
        (topics.alerts, b"nova", b'{"type": "alert", "customer_id": "nova"}'),
    ]
    reused = paid.model_copy(update={"amount": Money(amount="9.00", currency="EUR")})
    good = [as_message(settings, paid), as_message(settings, paid), as_message(settings, reused)]
    run(produce(settings, [as_message(settings, issued), *bad, *good]))

    letters = run(collect(settings, topics.deadletter, lambda r: len(r) >= len(bad) + 1))
    sent = run(
        collect(settings, topics.alerts, lambda r: len(late_alerts(r)) >= 1, decode=json_or_empty)
    )
    alerts = [alert for alert in sent if alert.get("type") == "alert"]

    by_topic = {(letter["source_topic"], letter["reason_code"]): letter for letter in letters}
    assert sorted((letter["source_topic"], letter["reason_code"]) for letter in letters) == sorted([
        (topics.payments, "invalid"), (topics.ticks, "invalid"), (topics.alerts, "undecodable"),
        (topics.alerts, "unknown_type"), (topics.alerts, "invalid"),
        (topics.payments, "inconsistent"),
    ]), worker.log_tail()  # fmt: skip
    assert by_topic[topics.payments, "inconsistent"]["reason"] == (
        "event id nova-p1 was seen with different content"
    )
    assert by_topic[topics.payments, "invalid"]["reason"].startswith("type: must be a string")
    assert by_topic[topics.ticks, "invalid"]["reason"] == "now: Field required"
    assert "alert_id: Field required" in by_topic[topics.alerts, "invalid"]["reason"]
    assert by_topic[topics.alerts, "undecodable"]["payload"] == "<redacted> <redacted>"
    assert isinstance(by_topic[topics.alerts, "undecodable"]["source_offset"], int)
    [alert] = [alert for alert in late_alerts(alerts) if alert["customer_id"] == "nova"]
    assert alert["details"]["days_late"] == 20
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    key = f"{settings.redis_prefix}:alerts:nova"
    in_redis = wait_for(lambda: alert["alert_id"] in [e["alert_id"] for _, e in client.xrange(key)])
    assert in_redis, worker.log_tail()
    counted = wait_for(
        lambda: worker.metric("riskstream_dead_letters_total", "reason").get(("invalid",)) == 3.0
    )
    assert counted, worker.metric("riskstream_dead_letters_total", "reason")
    assert worker.metric("riskstream_dead_letters_total", "reason").get(("failed",), 0.0) == 0.0
    assert "Traceback" not in worker.log_path.read_text()
    worker.stop(timeout=60)
    assert worker.process.returncode != -signal.SIGKILL, "the worker did not stop by itself"
