"""What ``riskstream deadletter list`` and ``replay`` do.

A dead letter keeps its input without personal data and cut to 16 KiB, so it cannot be sent
back as it is. The flow is: ``list --json`` writes the chosen dead letters, one JSON object a
line; the operator puts each payload right (the personal fields back, the whole event, the
field the contract wants); ``replay FILE`` checks every payload as a worker checks an input
(JSON, event type, the topic's family, the schema, the key is the customer id) and sends them
all, each to the input topic it came from with its original key, or none if one is refused.
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from schemas.outputs import DeadLetter
from schemas.validation import InvalidEvent, describe, parse_event
from streams.engine.deadletter import REDACTED
from streams.settings import Settings


@dataclass(frozen=True)
class Letter:
    """A dead letter as read from the topic: when it was written, and the record's value."""

    at: datetime
    letter: DeadLetter
    value: bytes


@dataclass(frozen=True)
class Choice:
    """Which dead letters to list: of ``reason`` (any if None), written from ``since`` up to
    ``until``."""

    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def admits(self, letter: Letter) -> bool:
        return (
            self.reason in (None, letter.letter.reason_code)
            and (self.since is None or letter.at >= self.since)
            and (self.until is None or letter.at < self.until)
        )


async def read_letters(settings: Settings, choice: Choice) -> list[Letter]:
    """The dead letters on the topic now that ``choice`` admits, oldest first; `LookupError` if
    there is no such topic."""
    partitions = await _partitions(settings, settings.topics.deadletter)
    consumer = AIOKafkaConsumer(**settings.kafka_client,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await _seek(consumer, ends, choice.since)
        read = await _read_to(consumer, starts, ends)
        letters = [letter for letter in read if choice.admits(letter)]
    finally:
        await consumer.stop()
    return sorted(letters, key=lambda letter: letter.at)


async def _partitions(settings: Settings, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**settings.kafka_client)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if not described["partitions"]:
        raise LookupError(f"no topic {topic} on the broker: check RISKSTREAM_TOPIC_DEADLETTER")
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def _seek(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int], since: datetime | None
) -> dict[TopicPartition, int]:
    """Seek each partition to its first record written from ``since`` (or its first); those
    offsets, its end if it has none."""
    starts = await consumer.beginning_offsets(list(ends))
    if since is not None:
        found = await consumer.offsets_for_times(
            {partition: int(since.timestamp() * 1000) for partition in ends}
        )
        starts = {p: end if found[p] is None else found[p].offset for p, end in ends.items()}
    for partition, offset in starts.items():
        consumer.seek(partition, offset)
    return starts


async def _read_to(
    consumer: AIOKafkaConsumer, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> list[Letter]:
    """The records from ``starts`` to ``ends``, those not dead letters left out."""
    letters: list[Letter | None] = []
    remaining = {p: end for p, end in ends.items() if starts[p] < end}
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500)
        for partition, records in batches.items():
            letters += [_letter(r) for r in records if r.offset < remaining[partition]]
            if records and records[-1].offset + 1 >= remaining[partition]:
                del remaining[partition]
        if not batches:  # nothing buffered: the positions are where reading got to
            remaining = {p: end for p, end in remaining.items() if await consumer.position(p) < end}
    return [letter for letter in letters if letter is not None]


def _letter(record: ConsumerRecord) -> Letter | None:
    """The dead letter of a record, None if it is not one."""
    try:
        letter = DeadLetter.model_validate_json(record.value)
    except ValidationError:
        return None
    return Letter(datetime.fromtimestamp(record.timestamp / 1000, UTC), letter, record.value)


def table(letters: list[Letter]) -> str:
    """One line a dead letter: when, why, where from, the key and the reason."""
    return "\n".join(
        f"{letter.at:%Y-%m-%dT%H:%M:%SZ}  {letter.letter.reason_code:<12}  "
        f"{letter.letter.source_topic}/{letter.letter.source_partition}@"
        f"{letter.letter.source_offset}  {letter.letter.key or '-'}  {letter.letter.reason}"
        for letter in letters
    )


class Refused(ValueError):
    """A dead letter that is not sent back; the message says why, in one line."""


@dataclass(frozen=True)
class Replay:
    """A fixed input, to send to the topic it came from with its original key."""

    topic: str
    key: bytes | None
    value: bytes
    event: str
    """Its event type and id, to say what was sent."""


def check(settings: Settings, line: str) -> Replay:
    """The input a dead letter (a line of ``list --json``, its payload fixed) sends back, or
    `Refused` saying what is wrong with it."""
    try:
        letter = DeadLetter.model_validate_json(line)
    except ValidationError as error:
        raise Refused(f"not a dead letter: {describe(error, tagged=False)}") from None
    family = settings.topics.inputs().get(letter.source_topic)
    if family is None:
        raise Refused(f"it came from {letter.source_topic}, not an input topic")
    value = _payload(letter)
    still_out = [name for name in letter.redacted if f'"{name}"'.encode() not in value]
    if REDACTED in value or still_out:
        taken = ", ".join(still_out) or "<redacted>"
        raise Refused(f"personal data was taken out ({taken}): put it back in the payload")
    key = None if letter.key is None else letter.key.encode()
    try:
        event = parse_event(value, family=family, key=key)
    except InvalidEvent as error:
        raise Refused(f"{error.code}: {error.reason}") from None
    return Replay(letter.source_topic, key, value, f"{event.type} {event.event_id}")


def _payload(letter: DeadLetter) -> bytes:
    if letter.payload_encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode()


async def send(settings: Settings, replays: list[Replay]) -> None:
    """Send every replay to its topic, and wait until the broker has them all."""
    producer = AIOKafkaProducer(**settings.kafka_client, acks="all")
    await producer.start()
    try:
        for replay in replays:
            await producer.send(replay.topic, replay.value, key=replay.key)
        await producer.flush()
    finally:
        await producer.stop()
