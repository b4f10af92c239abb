"""Where a worker's outputs go: their topics, keyed like the inputs, and Redis, following them."""

import asyncio
from collections.abc import Iterable, Mapping

import faust
from faust.types import Message
from pydantic import BaseModel

from detectors.delayed_labels import LabelledExample
from schemas.codec import dumps
from schemas.outputs import DeadLetter, ModelDrift
from schemas.validation import InvalidEvent, parse_output
from sinks.metrics import Metrics
from sinks.redis import RedisSink
from streams.engine.deadletter import dead_letter
from streams.engine.kinds import REDIS_KINDS
from streams.worker.batches import in_batches

REDIS_BATCH = 500
REDIS_OUTPUTS: dict[str, type[BaseModel]] = {
    name: kind.contract for name, kind in REDIS_KINDS.items()
}


class Emitter:
    """Sends each output to the topic of its type (an output of no type there is not sent).

    Through the app's producer itself, not ``Topic.send``, which yields to the event loop at
    every message, so that the producer sends a request every few messages: 4.4 times the
    CPU time a message (``tests/bench/bench_send.py``). Faust's sensors do not see these
    sends; ``riskstream_messages_sent_total`` counts them by topic.
    """

    def __init__(
        self, app: faust.App, topics: Mapping[type[BaseModel], faust.TopicT], metrics: Metrics
    ) -> None:
        self.app = app
        self.topics = topics
        self.metrics = metrics
        self._names = {contract: topic.get_topic_name() for contract, topic in topics.items()}

    async def emit(self, outputs: Iterable[BaseModel]) -> list[asyncio.Future]:
        """Send the outputs; returns the futures that resolve once the broker has each."""
        producer = await self.app.maybe_start_producer()
        sent = []
        for output in outputs:
            name = self._names.get(type(output))
            if name is not None:
                sent.append(
                    await producer.send(name, output_key(output), dumps(output), None, None, None)
                )
                self.metrics.message_sent(name)
        return sent

    async def send_dead_letter(self, letter: DeadLetter) -> None:
        """Send one dead letter and count it once the broker has it."""
        await asyncio.gather(*await self.emit([letter]))
        self.metrics.outputs_emitted([letter], None)


class RedisWriter:
    """The ``redis`` agent: Redis follows the output topics.

    It catches up after an outage or a crash, since the offsets of this agent advance only
    once Redis has taken the batch. A message there that is no output Redis keeps (foreign,
    malformed) is a dead letter, and Redis goes on.
    """

    def __init__(self, redis: RedisSink, emitter: Emitter) -> None:
        self.redis = redis
        self.emitter = emitter

    async def write(self, stream: faust.StreamT) -> None:
        batch: list[BaseModel] = []
        async for event, last in in_batches(stream, REDIS_BATCH):
            try:
                batch.append(parse_output(event.message.value, REDIS_OUTPUTS))
            except InvalidEvent as error:
                await self.emitter.send_dead_letter(letter_of(event.message, error))
            if last:
                await self._write(batch)
                batch = []

    async def _write(self, batch: list[BaseModel]) -> None:
        """Write the batch, and wait until Redis has taken it."""
        await self.redis.write(batch)
        while self.redis.pending:
            await asyncio.sleep(self.redis.retry_in())
            await self.redis.flush()


def letter_of(message: Message, error: InvalidEvent) -> DeadLetter:
    """The dead letter of a message that cannot be taken, with where it came from."""
    return dead_letter(
        error, message.topic, message.partition, message.offset, message.key, message.value
    )


def output_key(output: BaseModel) -> bytes | None:
    """Outputs are keyed by customer id, like the inputs; a dead letter by its input's key."""
    if isinstance(output, LabelledExample):
        return output.invoice_id.encode()
    if isinstance(output, ModelDrift):
        return output.model.encode()
    key = output.key if isinstance(output, DeadLetter) else output.customer_id  # type: ignore[attr-defined]
    return None if key is None else key.encode()
