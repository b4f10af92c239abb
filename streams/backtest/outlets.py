"""Where a backtest's outputs go: JSON Lines files in a folder, prefixed topics, or both.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with FileSink(folder) as sink:
...     sink.write("alerts", b"c1", b'{"type":"alert"}')
>>> (folder / "alerts.jsonl").read_bytes(), sorted(path.name for path in folder.iterdir())[:2]
(b'{"type":"alert"}\\n', ['actions.jsonl', 'alerts.jsonl'])
"""

import asyncio
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from pydantic import BaseModel

from streams.engine.kinds import OUTPUT_KINDS
from streams.kafka.security import KafkaClient
from streams.settings import Settings

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

OUTPUTS: dict[type[BaseModel], str] = {
    kind.contract: kind.topic
    for name, kind in OUTPUT_KINDS.items()
    if name not in ("customer_risk", "labelled_example")  # pictures and examples: not as such
}
"""Output type -> the name of its file (``alerts.jsonl``...) and, with hyphens for
underscores, of its topic (``<prefix>alerts``, ``<prefix>model-health``)."""
KINDS = (*OUTPUTS.values(), "invoices", "ledger")


def topic_suffix(kind: str) -> str:
    """The end of a kind's topic name, hyphenated as the live topics are.

    >>> topic_suffix("model_health"), topic_suffix("alerts")
    ('model-health', 'alerts')
    """
    return kind.replace("_", "-")


class ConfigError(ValueError):
    """A backtest configuration that cannot be used; the message says why and how to fix it."""


class Sink(Protocol):
    """Where the outputs go: ``kind`` is one of `KINDS`."""

    def write(self, kind: str, key: bytes | None, line: bytes) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """One JSON Lines file per kind of output in ``folder``, created if missing."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IO[bytes]] = {
            kind: (folder / f"{kind}.jsonl").open("wb", buffering=1 << 20) for kind in KINDS
        }

    def write(self, kind: str, key: bytes | None, line: bytes) -> None:
        file = self.files[kind]
        file.write(line)
        file.write(b"\n")

    def close(self) -> None:
        for file in self.files.values():
            file.close()

    def __enter__(self) -> "FileSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TopicSink:
    """Outputs to the topics ``<prefix><kind>`` (``backtest.alerts``...), keyed by customer.

    Refuses a prefix whose topics would be live topics: a backtest never writes to the live
    outputs (nor to Redis, which only the workers write).
    """

    BATCH = 1_000

    def __init__(self, settings: Settings, prefix: str) -> None:
        # imported here: a backtest from files loads no Kafka client
        from aiokafka.errors import KafkaError

        from streams.kafka.topics import create_topics

        self.names = {kind: f"{prefix}{topic_suffix(kind)}" for kind in KINDS}
        live = set(settings.topics.model_dump().values())
        clash = sorted(live & set(self.names.values()))
        if not prefix or clash:
            raise ConfigError(
                f"topic prefix {prefix!r} would write to the live topics {', '.join(clash)}: "
                "choose another, e.g. backtest."
            )
        self.loop = asyncio.new_event_loop()
        self.batch: list[tuple[str, bytes | None, bytes]] = []
        specs = [(name, settings.partitions, {}) for name in self.names.values()]
        try:
            self.loop.run_until_complete(
                create_topics(settings.kafka_client, specs, settings.replication)
            )
            self.producer = self.loop.run_until_complete(self._start(settings.kafka_client))
        except KafkaError as error:
            self.loop.close()
            raise ConfigError(f"cannot write the output topics: {error}") from None

    @staticmethod
    async def _start(client: KafkaClient) -> "AIOKafkaProducer":
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**client, acks="all", linger_ms=20)
        await producer.start()
        return producer

    def write(self, kind: str, key: bytes | None, line: bytes) -> None:
        self.batch.append((self.names[kind], key, line))
        if len(self.batch) >= self.BATCH:
            self.loop.run_until_complete(self._send())

    async def _send(self) -> None:
        batch, self.batch = self.batch, []
        sent = [await self.producer.send(topic, value, key=key) for topic, key, value in batch]
        await asyncio.gather(*sent)

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self._send())
        finally:
            self.loop.run_until_complete(self.producer.stop())
            self.loop.close()


class Tee:
    """Every output to several sinks."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def write(self, kind: str, key: bytes | None, line: bytes) -> None:
        for sink in self.sinks:
            sink.write(kind, key, line)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
