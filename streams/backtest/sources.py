"""Where a backtest reads history from: JSON Lines files, the CSV importer, or the input topics.

Every source is a `Source`: its events merged in event-time order (ties by event id, then by
the order of the inputs), each with its `Origin` (where it was read, for a dead letter should
the engine refuse it), and how many items it holds when that is known (for progress, counted
only when asked: for files that is one more reading).
Each input is expected in about event-time order, as files written by ``riskstream generate``
and topics are; the merge keeps memory to one pending event per input. An input line or message
that is not a valid event is handed to ``reject`` as a dead letter and the reading goes on.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.jsonl").write_bytes(
...     b'{"type":"payment.reversed","event_id":"e2","customer_id":"c1",'
...     b'"event_time":"2026-01-06T10:00:00Z","payment_id":"p1"}\\n'
...     b'{"type":"order.teleported"}\\n')
>>> _ = (folder / "b.jsonl").write_bytes(
...     b'{"type":"payment.reversed","event_id":"e1","customer_id":"c2",'
...     b'"event_time":"2026-01-05T10:00:00Z","payment_id":"p2"}\\n')
>>> letters = []
>>> source = jsonl_source([folder / "a.jsonl", folder / "b.jsonl"], letters.append)
>>> [(event.event_id, origin.topic, origin.offset) for event, origin in source.events]
[('e1', 'b.jsonl', 1), ('e2', 'a.jsonl', 1)]
>>> source.count()
3
>>> [(letter.source_topic, letter.source_offset, letter.reason_code) for letter in letters]
[('a.jsonl', 2, 'unknown_type')]
"""

import asyncio
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from schemas.codec import dumps
from schemas.events import InputEvent
from schemas.outputs import DeadLetter
from schemas.validation import InvalidEvent, parse_event
from streams.backtest.importers import (
    DEFAULT_ACCOUNTS_RECEIVABLE,
    Imported,
    load_accounts_receivable,
)
from streams.engine.deadletter import dead_letter
from streams.kafka.security import KafkaClient

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, TopicPartition

Reject = Callable[[DeadLetter], None]
FETCH = 2_000
"""Messages fetched from a partition at once."""


class Origin(NamedTuple):
    """Where an event was read: a file's name and line number, or a topic, partition, offset
    and key; and the raw line or message. `streams.engine.deadletter.dead_letter` takes these."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes

    def reject(self, error: InvalidEvent) -> DeadLetter:
        """The dead letter of what was read here, for ``error``."""
        return dead_letter(error, *self)


Located = tuple[InputEvent, Origin]


def _unknown() -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class Source:
    """Events in event-time order with their origins and, when known, how many raw items they
    come from (``count``, which may read the input once more: call it only when needed)."""

    events: Iterator[Located]
    count: Callable[[], int | None] = _unknown


def event_order(event: InputEvent) -> tuple[datetime, str]:
    """The replay order: event time, then event id."""
    return event.event_time, event.event_id


def _located_order(located: Located) -> tuple[datetime, str]:
    return event_order(located[0])


def merged(streams: Iterable[Iterable[InputEvent]]) -> Iterator[InputEvent]:
    """Merge streams, each in event-time order, into one; equal keys keep the streams' order."""
    return heapq.merge(*streams, key=event_order)


def _merged_located(streams: Iterable[Iterable[Located]]) -> Iterator[Located]:
    return heapq.merge(*streams, key=_located_order)


def jsonl_source(paths: Sequence[Path], reject: Reject) -> Source:
    """The events of JSON Lines files of input events, one event per line (blank lines skipped)."""
    return Source(
        _merged_located(_jsonl_events(path, reject) for path in paths), lambda: _count_lines(paths)
    )


def _jsonl_events(path: Path, reject: Reject) -> Iterator[Located]:
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            origin = Origin(path.name, None, number, None, line.rstrip(b"\r\n"))
            try:
                event = parse_event(line)
            except InvalidEvent as error:
                reject(origin.reject(error))
                continue
            yield event, origin


def _count_lines(paths: Sequence[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                total += chunk.count(b"\n")
    return total


def in_memory(events: Iterable[InputEvent], name: str) -> Iterator[Located]:
    """Events made in memory, each with the origin ``name`` and itself as the raw value."""
    for event in events:
        yield event, Origin(name, None, None, None, dumps(event))


def csv_source(path: Path | None, reject: Reject) -> Source:
    """The events of the accounts-receivable CSV (`streams.backtest.importers`); a row it cannot
    read is a dead letter with its line number, handed to ``reject`` as the reading starts."""
    imported = load_accounts_receivable(path)
    events = _csv_events(imported, (path or DEFAULT_ACCOUNTS_RECEIVABLE).name, reject)
    return Source(events, lambda: len(imported.events) + len(imported.rejected))


def _csv_events(imported: Imported, name: str, reject: Reject) -> Iterator[Located]:
    for row in imported.rejected:
        origin = Origin(name, None, row.line, None, row.text.encode())
        reject(origin.reject(InvalidEvent("invalid", f"line {row.line}: {row.reason}")))
    yield from in_memory(imported.events, name)


def kafka_source(
    client: KafkaClient,
    families: dict[str, str],
    partitions: int,
    start: datetime,
    end: datetime,
    reject: Reject,
) -> Source:
    """The events of the input topics (name -> event family, each with ``partitions``) written
    from ``start`` until ``end`` (message timestamps, end excluded), sought by timestamp."""
    reader = _TopicReader(client, families)
    try:
        ranges = reader.open(start, end, partitions)
    except BaseException:
        reader.close()
        raise
    streams = [reader.events(partition, first, last, reject) for partition, (first, last)
               in sorted(ranges.items())]  # fmt: skip
    total = sum(last - first for first, last in ranges.values())
    return Source(_closing(_merged_located(streams), reader), lambda: total)


def _closing(events: Iterator[Located], reader: "_TopicReader") -> Iterator[Located]:
    try:
        yield from events
    finally:
        reader.close()


class _TopicReader:
    """A consumer outside any group, driven from synchronous code on a loop of its own."""

    def __init__(self, client: KafkaClient, families: dict[str, str]) -> None:
        self.client = client
        self.families = families
        self.loop = asyncio.new_event_loop()
        self.consumer: AIOKafkaConsumer

    def open(
        self, start: datetime, end: datetime, count: int
    ) -> "dict[TopicPartition, tuple[int, int]]":
        """The [first, last) offsets of every partition between the two moments."""
        return self.loop.run_until_complete(self._open(start, end, count))

    async def _open(
        self, start: datetime, end: datetime, count: int
    ) -> "dict[TopicPartition, tuple[int, int]]":
        # imported here: a backtest from files loads no Kafka client
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = self.consumer = AIOKafkaConsumer(
            **self.client, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await consumer.start()
        missing = sorted(set(self.families) - await consumer.topics())
        if missing:
            raise ValueError(f"no topic {', '.join(missing)} on the broker: check the "
                             "RISKSTREAM_BROKER and RISKSTREAM_TOPIC_* settings")  # fmt: skip
        partitions = [TopicPartition(topic, n) for topic in self.families for n in range(count)]
        ends = await consumer.end_offsets(partitions)
        firsts = await consumer.offsets_for_times(dict.fromkeys(partitions, _millis(start)))
        lasts = await consumer.offsets_for_times(dict.fromkeys(partitions, _millis(end)))
        ranges = {}
        for partition in partitions:
            first, last = firsts[partition], lasts[partition]
            low = ends[partition] if first is None else first.offset
            high = ends[partition] if last is None else last.offset
            if low < high:
                ranges[partition] = (low, high)
        consumer.assign(list(ranges))
        for partition, (low, _) in ranges.items():
            consumer.seek(partition, low)
        return ranges

    def events(
        self, partition: "TopicPartition", first: int, last: int, reject: Reject
    ) -> Iterator[Located]:
        family = self.families[partition.topic]
        offset = first
        while offset < last:
            batches = self.loop.run_until_complete(
                self.consumer.getmany(partition, timeout_ms=1000, max_records=FETCH)
            )
            messages = batches.get(partition, [])
            if not messages:  # past offsets that hold no message (transaction markers)?
                offset = self.loop.run_until_complete(self.consumer.position(partition))
            for message in messages:
                if message.offset >= last:
                    return
                offset = message.offset + 1
                origin = Origin(partition.topic, partition.partition, message.offset,
                                message.key, message.value)  # fmt: skip
                try:
                    event = parse_event(message.value, family=family, key=message.key)
                except InvalidEvent as error:
                    reject(origin.reject(error))
                    continue
                yield event, origin

    def close(self) -> None:
        if hasattr(self, "consumer"):
            self.loop.run_until_complete(self.consumer.stop())
        self.loop.close()


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
