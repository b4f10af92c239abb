"""``riskstream deadletter list`` and ``replay`` in processes of their own, with a real worker
on the real broker: an operator lists the dead letters, fixes them, and sends them back."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis

from schemas import CustomerProfile, InvoiceIssued, Money
from schemas.codec import dumps
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of
from tests.integration.test_cli_topics import riskstream

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
INVOICE = InvoiceIssued(event_id="dl-i1", customer_id="dl-1", invoice_id="dl-i1",
                        event_time=NOW - timedelta(days=1), due_date=NOW.date(),
                        amount=Money(amount="10.00", currency="EUR"))  # fmt: skip
PROFILE = CustomerProfile(event_id="dl-p1", customer_id="dl-1", event_time=NOW - timedelta(days=2),
                          name="Dlq Example Ltd", email="ap@dlq.example", country="GB")  # fmt: skip


def without(event: object, field: str) -> bytes:
    """The event as a producer that left ``field`` out would send it."""
    document = orjson.loads(dumps(event))
    del document[field]
    return orjson.dumps(document)


def fixed(line: str, event: object) -> str:
    """A line of ``list --json`` whose payload the operator has put right."""
    letter = orjson.loads(line)
    return orjson.dumps({**letter, "payload": dumps(event).decode()}).decode()


def test_dead_letters_listed_fixed_and_replayed_reach_the_worker(env, tmp_path, redis_url):
    settings = settings_of(env)
    topics = settings.topics
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        run(harness.produce(settings, [
            (topics.invoices, b"dl-1", without(INVOICE, "due_date")),
            (topics.customers, b"dl-1", dumps(PROFILE).replace(b'"GB"', b'"gb"')),
        ]))  # fmt: skip
        run(harness.collect(settings, topics.deadletter, harness.at_least(2)))

        listed = riskstream(env, "deadletter", "list")
        assert listed.returncode == 0 and listed.stderr == "2 dead letters\n", listed.stderr
        rows = [line.split(maxsplit=4) for line in listed.stdout.splitlines()]
        assert sorted(row[2].split("/")[0] for row in rows) == [topics.customers, topics.invoices]
        assert {row[1] for row in rows} == {"invalid"} and {row[3] for row in rows} == {"dl-1"}
        assert any(row[4] == "due_date: Field required" for row in rows), listed.stdout
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert riskstream(env, "deadletter", "list", "--since", later).stdout == ""
        assert riskstream(env, "deadletter", "list", "--until", "2020-01-01").stdout == ""

        exported = riskstream(env, "deadletter", "list", "--reason", "invalid", "--json").stdout
        by_topic = {orjson.loads(line)["source_topic"]: n
                    for n, line in enumerate(exported.splitlines(), 1)}  # fmt: skip
        as_listed = tmp_path / "as-listed.jsonl"
        as_listed.write_text(exported)
        refused = riskstream(env, "deadletter", "replay", str(as_listed))
        assert refused.returncode == 2
        assert sorted(refused.stderr.splitlines()) == sorted([
            f"{as_listed}:{by_topic[topics.customers]}: refused: personal data was taken out "
            "(email, name): put it back in the payload",
            f"{as_listed}:{by_topic[topics.invoices]}: refused: invalid: due_date: Field required",
            "riskstream: 2 of 2 dead letters refused: none sent",
        ])  # fmt: skip

        repaired = tmp_path / "repaired.jsonl"
        invoice_letter = exported.splitlines()[by_topic[topics.invoices] - 1]
        repaired.write_text(fixed(invoice_letter, INVOICE) + "\n")
        checked = riskstream(env, "deadletter", "replay", "--dry-run", str(repaired))
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout == f"{topics.invoices} dl-1: invoice.issued dl-i1\n"
        assert checked.stderr == "checked 1 inputs\n"
        sent = riskstream(env, "deadletter", "replay", str(repaired))
        assert sent.returncode == 0 and sent.stderr == "sent 1 inputs\n", sent.stderr

        client = redis.Redis.from_url(redis_url)
        key = f"{settings.redis_prefix}:customer:dl-1"
        pictured = harness.wait_for(lambda: client.hget(key, "open_invoices") == b"1", 60)
        assert pictured, worker.log_tail()
    finally:
        worker.stop()


def test_a_line_that_is_no_dead_letter_or_from_no_input_topic_is_refused(env, tmp_path: Path):
    topics = settings_of(env).topics
    letter = {"type": "dead_letter", "dead_letter_id": "x", "reason_code": "invalid",
              "reason": "r", "source_topic": topics.control, "payload": "{}",
              "payload_size": 2, "payload_sha256": "0" * 64}  # fmt: skip
    lines = tmp_path / "letters.jsonl"
    lines.write_text(f'{{"type": "alert"}}\n\n{orjson.dumps(letter).decode()}\n')
    done = riskstream(env, "deadletter", "replay", "--dry-run", str(lines))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[1:] == [
        f"{lines}:3: refused: it came from {topics.control}, not an input topic",
        "riskstream: 2 of 2 dead letters refused: none sent",
    ]
    assert done.stderr.startswith(f"{lines}:1: refused: not a dead letter: ")
