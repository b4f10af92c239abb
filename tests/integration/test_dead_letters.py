"""Dead letters of a real worker: no personal data in them nor anywhere else, and small."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import CustomerProfile, InvoiceIssued, Money
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of

pytestmark = pytest.mark.integration

NAME, EMAIL = "Zyxwvut Qponmlk GmbH", "zyxwvut.qponmlk@example.org"
PIECES = (NAME, NAME[:6], NAME[-6:], EMAIL, EMAIL[:6], EMAIL.split("@")[0][-6:])
NOW = datetime.now(UTC).replace(microsecond=0)


def profile(**fields: object) -> dict:
    return {"type": "customer.profile", "event_id": "pd-profile", "customer_id": "pd-1",
            "event_time": (NOW - timedelta(days=2)).isoformat(), "name": NAME, "email": EMAIL,
            "country": "GB", **fields}  # fmt: skip


def test_personal_data_reaches_no_topic_no_redis_key_and_no_log(env, tmp_path, redis_url):
    """Issue 16: a profile that failed validation was dead-lettered with its name and e-mail;
    200 kB of control characters made a dead letter over the producer's limit of 1 MB."""
    settings = settings_of(env)
    topics = settings.topics
    valid = orjson.dumps(profile())
    control_characters = bytes(range(32)) * 6250
    old = profile(event_id="pd-old", event_time=(NOW - timedelta(days=800)).isoformat())
    bad = {
        "invalid": [(topics.customers, b"pd-1", orjson.dumps(profile(country="gb")))],
        "undecodable": [
            (topics.customers, b"pd-1", valid[: valid.index(b"example")]),
            (topics.customers, b"pd-1", valid[:-1] + b",}"),
            (topics.customers, b"pd-1", valid.replace(b'"GB"', b'"\xff\xfe"')),
            (topics.payments, b"pd-1", control_characters),
        ],
        "unknown_type": [(topics.customers, b"pd-1", orjson.dumps(profile(type="customer.x")))],
        "wrong_topic": [(topics.orders, b"pd-1", valid)],
        "key_mismatch": [(topics.customers, b"pd-2", valid)],
        "inconsistent": [(topics.customers, b"pd-1", orjson.dumps(profile(country="FR")))],
        "too_late": [(topics.customers, b"pd-1", orjson.dumps(old))],
    }
    also_valid = CustomerProfile.model_validate(profile(event_id="pd-again", currency="EUR"))
    invoice = InvoiceIssued(event_id="pd-i1", customer_id="pd-1", invoice_id="pd-i1",
                            event_time=NOW - timedelta(days=1), due_date=NOW.date(),
                            amount=Money(amount="10.00", currency="EUR"))  # fmt: skip
    messages = [(topics.customers, b"pd-1", valid), *(m for ms in bad.values() for m in ms)]
    messages += [harness.as_message(settings, event) for event in (also_valid, invoice)]
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        run(harness.produce(settings, messages))
        expected = sum(len(letters) for letters in bad.values())
        raw_letters = run(harness.collect(settings, topics.deadletter, harness.at_least(expected),
                                          decode=bytes))  # fmt: skip
        client = redis.Redis.from_url(redis_url)
        key = f"{settings.redis_prefix}:customer:pd-1"
        pictured = harness.wait_for(lambda: client.hget(key, "open_invoices") == b"1", 60)
        assert pictured, worker.log_tail()
    finally:
        worker.stop()

    letters = [orjson.loads(raw) for raw in raw_letters]
    codes = sorted(letter["reason_code"] for letter in letters)
    assert codes == sorted(code for code, ms in bad.items() for _ in ms), worker.log_tail()
    assert max(len(raw) for raw in raw_letters) <= 128 * 1024
    (large,) = [letter for letter in letters if letter["source_topic"] == topics.payments]
    assert large["payload_size"] == len(control_characters) and large["payload_truncated"]
    assert large["payload_sha256"] == hashlib.sha256(control_characters).hexdigest()
    assert all("pd-1" in letter["payload"] for letter in letters if letter is not large
               and letter["payload_encoding"] == "utf-8")  # fmt: skip

    own = (env["RISKSTREAM_APP_ID"], topics.orders.split(".")[0] + ".")  # Faust's, ours
    seen = everything_on_the_topics(settings, own, but=set(topics.inputs()))
    seen += everything_in_redis(client, settings.redis_prefix)
    seen.append(worker.log_path.read_bytes())
    found = {piece for piece in PIECES for blob in seen if piece.encode() in blob}
    assert found == set(), found
    assert len(seen) > 50


def everything_on_the_topics(settings, prefixes: tuple[str, ...], but: set[str]) -> list[bytes]:
    """Keys and values of every message of the topics named with ``prefixes`` (``but`` those),
    the payloads of dead letters decoded."""

    async def read() -> list[bytes]:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        await admin.start()
        try:
            names = [name for name in await admin.list_topics()
                     if name.startswith(prefixes) and name not in but]  # fmt: skip
            described = await admin.describe_topics(names)
        finally:
            await admin.close()
        assert len(names) >= 10 and any("changelog" in name for name in names), names
        parts = [TopicPartition(topic["topic"], partition["partition"])
                 for topic in described for partition in topic["partitions"]]  # fmt: skip
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        blobs: list[bytes] = []
        try:
            consumer.assign(parts)
            ends = await consumer.end_offsets(parts)
            while [part for part in parts if await consumer.position(part) < ends[part]]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for record in batch:
                        blobs += [record.key or b"", record.value or b""]
                        blobs += decoded_payload(record.value)
        finally:
            await consumer.stop()
        return blobs

    return run(read())


def decoded_payload(value: bytes | None) -> list[bytes]:
    try:
        letter = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return []
    if isinstance(letter, dict) and letter.get("payload_encoding") == "base64":
        return [base64.b64decode(letter["payload"])]
    return []


def everything_in_redis(client: redis.Redis, prefix: str) -> list[bytes]:
    """Every key under ``prefix`` and every value in it, whatever its type."""
    blobs = []
    for key in client.scan_iter(f"{prefix}*"):
        kind = client.type(key).decode()
        values = {
            "string": lambda k: [client.get(k)],
            "hash": lambda k: [b for pair in client.hgetall(k).items() for b in pair],
            "list": lambda k: client.lrange(k, 0, -1),
            "set": lambda k: list(client.smembers(k)),
            "zset": lambda k: client.zrange(k, 0, -1),
            "stream": lambda k: [
                value for _, entry in client.xrange(k) for pair in entry.items() for value in pair
            ],
        }[kind](key)
        blobs += [key, *values]
    return blobs
